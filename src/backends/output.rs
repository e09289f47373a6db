//! Writing a build's files into the output directory without losing anything a person wrote.
//!
//! A manifest (`.v5c-manifest.json`) records every file the last build wrote and its hash.
//! Before anything changes, the writer checks that no generated file was edited by hand and
//! that no file of someone else's is in the way; then it stages every file in a temporary
//! directory beside the output and moves them in. A new output directory appears in one
//! rename; an existing one gets each changed file by rename, files that did not change are
//! left alone, and files the previous build wrote but this one does not are removed. Files the
//! manifest does not list are never touched.

use super::FileSet;
use crate::diag::{Code, Diagnostic, Diagnostics};
use camino::{Utf8Path, Utf8PathBuf};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub const MANIFEST: &str = ".v5c-manifest.json";

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// What wrote the files.
    generator: String,
    /// Relative path → SHA-256 of the contents, in hex.
    files: BTreeMap<Utf8PathBuf, String>,
}

/// What a write changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub written: Vec<Utf8PathBuf>,
    pub unchanged: Vec<Utf8PathBuf>,
    pub removed: Vec<Utf8PathBuf>,
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

fn io_error(what: &str, path: &Utf8Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(Code::OutputIo, format!("cannot {what} `{path}`: {e}"))
}

fn read_manifest(dir: &Utf8Path) -> Result<Option<Manifest>, Diagnostic> {
    let path = dir.join(MANIFEST);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            Diagnostic::error(Code::OutputIo, format!("the build manifest `{path}` is unreadable: {e}"))
                .help("it records which files v5c wrote; restore it from version control, or delete it and pass `--force`")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", &path, &e)),
    }
}

/// Checks that writing `files` into `dir` destroys nothing a person wrote. With `force`,
/// hand edits and files in the way are overwritten.
fn check(dir: &Utf8Path, files: &FileSet, old: Option<&Manifest>, force: bool) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if force {
        return diags;
    }
    if let Some(old) = old {
        for (path, hash) in &old.files {
            let full = dir.join(path);
            match std::fs::read(&full) {
                Ok(bytes) if &sha256(&bytes) != hash => diags.push(
                    Diagnostic::error(Code::HandEdited, format!("`{full}` was edited since v5c wrote it"))
                        .help("move the change into the spec or into a file meant for people, then delete this file; or pass `--force` to overwrite it"),
                ),
                _ => {}
            }
        }
    }
    for (path, _) in files.iter() {
        let listed = old.is_some_and(|m| m.files.contains_key(path));
        let full = dir.join(path);
        if !listed && full.symlink_metadata().is_ok() {
            diags.push(
                Diagnostic::error(
                    Code::OutputBlocked,
                    format!("`{full}` exists and v5c did not write it"),
                )
                .help("move it out of the way, or pass `--force` to overwrite it"),
            );
        }
    }
    diags
}

/// Writes `files` into `dir` as described in the module documentation.
pub fn write(dir: &Utf8Path, files: &FileSet, force: bool) -> Result<WriteSummary, Diagnostics> {
    if dir.exists() && !dir.is_dir() {
        return Err(Diagnostic::error(
            Code::OutputBlocked,
            format!("`{dir}` exists and is not a directory"),
        )
        .into());
    }
    let old = if dir.is_dir() {
        read_manifest(dir)?
    } else {
        None
    };
    let problems = check(dir, files, old.as_ref(), force);
    if problems.has_errors() {
        return Err(problems);
    }

    let manifest = Manifest {
        generator: format!("v5c {}", env!("CARGO_PKG_VERSION")),
        files: files
            .iter()
            .map(|(p, c)| (p.to_owned(), sha256(c)))
            .collect(),
    };
    let mut manifest_text = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
    manifest_text.push('\n');

    let parent = match dir.parent() {
        Some(p) if !p.as_str().is_empty() => p.to_owned(),
        _ => Utf8PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| io_error("create", &parent, &e))?;
    let staging = tempfile::Builder::new()
        .prefix(".v5c-build-")
        .tempdir_in(&parent)
        .map_err(|e| io_error("create a staging directory in", &parent, &e))?;
    let staged = Utf8Path::from_path(staging.path())
        .ok_or_else(|| {
            Diagnostic::error(Code::OutputIo, "the staging directory's path is not UTF-8")
        })?
        .to_owned();
    for (path, contents) in files.iter() {
        let target = staged.join(path);
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p).map_err(|e| io_error("create", p, &e))?;
        }
        std::fs::write(&target, contents).map_err(|e| io_error("write", &target, &e))?;
    }
    std::fs::write(staged.join(MANIFEST), &manifest_text)
        .map_err(|e| io_error("write", &staged.join(MANIFEST), &e))?;

    let mut summary = WriteSummary::default();
    if !dir.exists() {
        let staged_path = staging.keep();
        std::fs::rename(&staged_path, dir).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staged_path);
            io_error("move the build into", dir, &e)
        })?;
        summary.written = files.iter().map(|(p, _)| p.to_owned()).collect();
        return Ok(summary);
    }

    for (path, contents) in files.iter() {
        let target = dir.join(path);
        if std::fs::read(&target).is_ok_and(|existing| existing == contents) {
            summary.unchanged.push(path.to_owned());
            continue;
        }
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p).map_err(|e| io_error("create", p, &e))?;
        }
        if target.is_dir() {
            return Err(Diagnostic::error(
                Code::OutputBlocked,
                format!("`{target}` is a directory, where v5c must write a file"),
            )
            .into());
        }
        std::fs::rename(staged.join(path), &target).map_err(|e| io_error("write", &target, &e))?;
        summary.written.push(path.to_owned());
    }
    if let Some(old) = &old {
        for path in old.files.keys() {
            if files.get(path.as_str()).is_none() {
                let target = dir.join(path);
                match std::fs::remove_file(&target) {
                    Ok(()) => summary.removed.push(path.clone()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error("remove", &target, &e).into()),
                }
                remove_empty_parents(dir, &target);
            }
        }
    }
    let manifest_path = dir.join(MANIFEST);
    if std::fs::read_to_string(&manifest_path).ok().as_deref() != Some(manifest_text.as_str()) {
        std::fs::rename(staged.join(MANIFEST), &manifest_path)
            .map_err(|e| io_error("write", &manifest_path, &e))?;
    }
    Ok(summary)
}

/// Removes directories left empty by a removed file, up to (not including) `dir`.
fn remove_empty_parents(dir: &Utf8Path, file: &Utf8Path) {
    let mut at = file.parent();
    while let Some(p) = at {
        if p == dir || !p.starts_with(dir) || std::fs::remove_dir(p).is_err() {
            break;
        }
        at = p.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> FileSet {
        let mut set = FileSet::new();
        for (p, c) in pairs {
            set.add(*p, *c).unwrap();
        }
        set
    }

    fn tmp() -> (tempfile::TempDir, Utf8PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(t.path()).unwrap().join("out");
        (t, out)
    }

    #[test]
    fn writes_rewrites_and_removes_only_its_own_files() {
        let (_t, out) = tmp();
        write(&out, &files(&[("a/x.txt", "1"), ("b.txt", "2")]), false).unwrap();
        std::fs::write(out.join("mine.txt"), "a person's file").unwrap();
        let summary = write(&out, &files(&[("a/x.txt", "1"), ("c.txt", "3")]), false).unwrap();
        assert_eq!(summary.unchanged, vec![Utf8PathBuf::from("a/x.txt")]);
        assert_eq!(summary.written, vec![Utf8PathBuf::from("c.txt")]);
        assert_eq!(summary.removed, vec![Utf8PathBuf::from("b.txt")]);
        assert_eq!(
            std::fs::read_to_string(out.join("mine.txt")).unwrap(),
            "a person's file"
        );
        assert!(!out.join("b.txt").exists());
    }

    #[test]
    fn hand_edits_stop_the_build_unless_forced() {
        let (_t, out) = tmp();
        write(&out, &files(&[("x.txt", "1")]), false).unwrap();
        std::fs::write(out.join("x.txt"), "edited").unwrap();
        let err = write(&out, &files(&[("x.txt", "2")]), false).unwrap_err();
        assert_eq!(err.iter().next().unwrap().code, Code::HandEdited);
        assert_eq!(
            std::fs::read_to_string(out.join("x.txt")).unwrap(),
            "edited"
        );
        write(&out, &files(&[("x.txt", "2")]), true).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("x.txt")).unwrap(), "2");
    }

    #[test]
    fn foreign_files_in_the_way_are_not_overwritten() {
        let (_t, out) = tmp();
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("x.txt"), "not v5c's").unwrap();
        let err = write(&out, &files(&[("x.txt", "1")]), false).unwrap_err();
        assert_eq!(err.iter().next().unwrap().code, Code::OutputBlocked);
        assert_eq!(
            std::fs::read_to_string(out.join("x.txt")).unwrap(),
            "not v5c's"
        );
    }
}
