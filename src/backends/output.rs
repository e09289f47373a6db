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
        Ok(text) => serde_json::from_str::<Manifest>(&text)
            .map_err(|e| e.to_string())
            .and_then(|m| match m.files.keys().find(|p| !super::is_safe_relative(p)) {
                // A path outside the directory would make a rebuild remove a file elsewhere.
                Some(p) => Err(format!("it lists `{p}`, which is not inside the output directory")),
                None => Ok(Some(m)),
            })
            .map_err(|e| {
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

/// The first existing path among `path` and its ancestors that is not a directory.
fn blocking_ancestor(path: &Utf8Path) -> Option<Utf8PathBuf> {
    path.ancestors()
        .filter(|a| !a.as_str().is_empty())
        .find(|a| a.symlink_metadata().is_ok_and(|m| !m.is_dir()))
        .map(Utf8Path::to_owned)
}

/// Writes `files` into `dir` as described in the module documentation.
pub fn write(dir: &Utf8Path, files: &FileSet, force: bool) -> Result<WriteSummary, Diagnostics> {
    let files = &files.without_existing_seeds(dir);
    if let Some(file) = blocking_ancestor(dir) {
        return Err(Diagnostic::error(
            Code::OutputBlocked,
            format!("the output directory `{dir}` cannot be made: `{file}` is a file"),
        )
        .into());
    }
    let old = if dir.is_dir() {
        read_manifest(dir)?
    } else {
        None
    };
    let mut problems = check(dir, files, old.as_ref(), force);
    // Everything that would stop the move-in part way is found now, before any change.
    for (path, _) in files.iter() {
        let target = dir.join(path);
        if target.is_dir() {
            problems.push(Diagnostic::error(
                Code::OutputBlocked,
                format!("`{target}` is a directory, where v5c must write a file"),
            ));
        } else if let Some(file) = target.parent().and_then(blocking_ancestor) {
            problems.push(Diagnostic::error(
                Code::OutputBlocked,
                format!("`{file}` is a file, where v5c must make a directory for `{target}`"),
            ));
        }
    }
    if problems.has_errors() {
        return Err(problems);
    }

    let manifest = Manifest {
        generator: format!("v5c {}", env!("CARGO_PKG_VERSION")),
        files: files
            .iter()
            .filter(|(p, _)| !files.is_seed(p))
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
    let new_files = staged.join("new");
    for (path, contents) in files
        .iter()
        .chain([(Utf8Path::new(MANIFEST), manifest_text.as_bytes())])
    {
        let target = new_files.join(path);
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p).map_err(|e| io_error("create", p, &e))?;
        }
        std::fs::write(&target, contents).map_err(|e| io_error("write", &target, &e))?;
    }

    if !dir.exists() {
        std::fs::rename(&new_files, dir).map_err(|e| io_error("move the build into", dir, &e))?;
        return Ok(WriteSummary {
            written: files.iter().map(|(p, _)| p.to_owned()).collect(),
            ..WriteSummary::default()
        });
    }

    let mut journal = Journal {
        backups: staged.join("old"),
        steps: Vec::new(),
    };
    let mut rename = |from: &Utf8Path, to: &Utf8Path| std::fs::rename(from, to);
    match move_in(
        dir,
        &new_files,
        files,
        old.as_ref(),
        &manifest_text,
        &mut journal,
        &mut rename,
    ) {
        Ok(summary) => Ok(summary),
        Err(e) => {
            // Put back what was there: the failed build leaves the directory as it was.
            journal.undo();
            Err(e.into())
        }
    }
}

/// One change made to the output directory, and how to take it back.
enum Step {
    Created(Utf8PathBuf),
    MadeDir(Utf8PathBuf),
    /// The file at `target` was moved to `backup` (and perhaps replaced).
    MovedAside {
        target: Utf8PathBuf,
        backup: Utf8PathBuf,
    },
}

struct Journal {
    backups: Utf8PathBuf,
    steps: Vec<Step>,
}

impl Journal {
    /// Creates the missing directories from `dir` down to `path`, recording each.
    fn make_dirs(&mut self, dir: &Utf8Path, path: &Utf8Path) -> Result<(), Diagnostic> {
        let mut at = dir.to_owned();
        for component in path.components() {
            at.push(component);
            if !at.exists() {
                std::fs::create_dir(&at).map_err(|e| io_error("create", &at, &e))?;
                self.steps.push(Step::MadeDir(at.clone()));
            }
        }
        Ok(())
    }

    /// Moves the file at `target` aside into the backups, recording it.
    fn move_aside(&mut self, target: &Utf8Path, relative: &Utf8Path) -> Result<(), Diagnostic> {
        let backup = self.backups.join(relative);
        if let Some(p) = backup.parent() {
            std::fs::create_dir_all(p).map_err(|e| io_error("create", p, &e))?;
        }
        std::fs::rename(target, &backup).map_err(|e| io_error("move aside", target, &e))?;
        self.steps.push(Step::MovedAside {
            target: target.to_owned(),
            backup,
        });
        Ok(())
    }

    fn undo(self) {
        for step in self.steps.into_iter().rev() {
            // Best effort: each undo is a rename or removal of what this build made.
            let _ = match step {
                Step::Created(path) => std::fs::remove_file(path),
                Step::MadeDir(path) => std::fs::remove_dir(path),
                Step::MovedAside { target, backup } => {
                    let _ = std::fs::remove_file(&target);
                    std::fs::rename(backup, target)
                }
            };
        }
    }
}

/// Moves the staged files into `dir`, recording every change in `journal`. `rename` is
/// `std::fs::rename` except in tests, which make it fail part way.
fn move_in(
    dir: &Utf8Path,
    new_files: &Utf8Path,
    files: &FileSet,
    old: Option<&Manifest>,
    manifest_text: &str,
    journal: &mut Journal,
    rename: &mut dyn FnMut(&Utf8Path, &Utf8Path) -> std::io::Result<()>,
) -> Result<WriteSummary, Diagnostic> {
    let mut summary = WriteSummary::default();
    let manifest = Utf8Path::new(MANIFEST);
    let unchanged_manifest =
        std::fs::read_to_string(dir.join(MANIFEST)).ok().as_deref() == Some(manifest_text);
    let entries = files
        .iter()
        .map(|(p, c)| (p, Some(c)))
        .chain((!unchanged_manifest).then_some((manifest, None)));
    for (path, contents) in entries {
        let target = dir.join(path);
        if contents.is_some_and(|c| std::fs::read(&target).is_ok_and(|existing| existing == c)) {
            summary.unchanged.push(path.to_owned());
            continue;
        }
        if let Some(parent) = path.parent() {
            journal.make_dirs(dir, parent)?;
        }
        if target.symlink_metadata().is_ok() {
            journal.move_aside(&target, path)?;
        } else {
            journal.steps.push(Step::Created(target.clone()));
        }
        rename(&new_files.join(path), &target).map_err(|e| io_error("write", &target, &e))?;
        if path != manifest {
            summary.written.push(path.to_owned());
        }
    }
    if let Some(old) = old {
        for path in old.files.keys() {
            if files.get(path.as_str()).is_none() && !files.is_seed(path) {
                let target = dir.join(path);
                if target.symlink_metadata().is_ok() {
                    journal.move_aside(&target, path)?;
                    summary.removed.push(path.clone());
                }
            }
        }
    }
    // Only now, with nothing left to fail, are emptied directories tidied away.
    for path in &summary.removed {
        remove_empty_parents(dir, &dir.join(path));
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
    fn files_meant_for_people_are_written_once_and_never_listed() {
        let (_t, out) = tmp();
        let mut set = files(&[("gen.rs", "1")]);
        set.add_seed("logic.rs", "hook").unwrap();
        let first = write(&out, &set, false).unwrap();
        assert_eq!(first.written.len(), 2);
        let manifest = std::fs::read_to_string(out.join(MANIFEST)).unwrap();
        assert!(!manifest.contains("logic.rs"), "{manifest}");
        std::fs::write(out.join("logic.rs"), "mine").unwrap();
        // Neither a rebuild nor a forced one touches it; the rebuild changes nothing.
        for force in [false, true] {
            let again = write(&out, &set, force).unwrap();
            assert!(again.written.is_empty(), "{again:?}");
            assert_eq!(
                std::fs::read_to_string(out.join("logic.rs")).unwrap(),
                "mine"
            );
        }
        // A build that no longer seeds it leaves it too: it is the person's file.
        write(&out, &files(&[("gen.rs", "1")]), false).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("logic.rs")).unwrap(),
            "mine"
        );
        // Deleted, it comes back as generated.
        std::fs::remove_file(out.join("logic.rs")).unwrap();
        write(&out, &set, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("logic.rs")).unwrap(),
            "hook"
        );
    }

    #[test]
    fn a_failure_part_way_through_is_undone() {
        let (_t, out) = tmp();
        write(
            &out,
            &files(&[("a/x.txt", "1"), ("b.txt", "2"), ("c.txt", "3")]),
            false,
        )
        .unwrap();
        let before: Vec<(String, String)> = ["a/x.txt", "b.txt", "c.txt", MANIFEST]
            .iter()
            .map(|p| {
                (
                    (*p).to_owned(),
                    std::fs::read_to_string(out.join(p)).unwrap(),
                )
            })
            .collect();
        // A new build that changes every file, adds one in a new directory, drops c.txt, and
        // fails on its third rename.
        let next = files(&[("a/x.txt", "10"), ("b.txt", "20"), ("d/new.txt", "4")]);
        let staging = tempfile::tempdir().unwrap();
        let staged = Utf8Path::from_path(staging.path()).unwrap().to_owned();
        let new_files = staged.join("new");
        for (path, contents) in next.iter() {
            std::fs::create_dir_all(new_files.join(path).parent().unwrap()).unwrap();
            std::fs::write(new_files.join(path), contents).unwrap();
        }
        std::fs::write(new_files.join(MANIFEST), "{}").unwrap();
        let old = read_manifest(&out).unwrap();
        let mut journal = Journal {
            backups: staged.join("old"),
            steps: Vec::new(),
        };
        let mut calls = 0;
        let mut rename = |from: &Utf8Path, to: &Utf8Path| {
            calls += 1;
            if calls == 3 {
                Err(std::io::Error::other("disk full"))
            } else {
                std::fs::rename(from, to)
            }
        };
        let result = move_in(
            &out,
            &new_files,
            &next,
            old.as_ref(),
            "{}",
            &mut journal,
            &mut rename,
        );
        assert!(result.is_err());
        assert!(out.join("a/x.txt").exists(), "the first renames happened");
        journal.undo();
        for (path, contents) in before {
            assert_eq!(
                std::fs::read_to_string(out.join(&path)).unwrap(),
                contents,
                "{path}"
            );
        }
        assert!(
            !out.join("d").exists(),
            "a directory the build made is gone"
        );
    }

    #[test]
    fn manifests_naming_paths_outside_are_refused() {
        let (t, out) = tmp();
        write(&out, &files(&[("x.txt", "1")]), false).unwrap();
        let victim = Utf8Path::from_path(t.path()).unwrap().join("victim.txt");
        std::fs::write(&victim, "keep me").unwrap();
        let manifest = format!(
            "{{\"generator\": \"v5c\", \"files\": {{\"../victim.txt\": \"{}\"}}}}",
            sha256(b"keep me")
        );
        std::fs::write(out.join(MANIFEST), manifest).unwrap();
        for force in [false, true] {
            let err = write(&out, &files(&[("x.txt", "2")]), force).unwrap_err();
            assert_eq!(err.iter().next().unwrap().code, Code::OutputIo);
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    }

    #[test]
    fn a_directory_in_the_way_stops_the_build_before_any_change() {
        let (_t, out) = tmp();
        write(&out, &files(&[("a.txt", "1"), ("b.txt", "2")]), false).unwrap();
        std::fs::remove_file(out.join("b.txt")).unwrap();
        std::fs::create_dir(out.join("b.txt")).unwrap();
        let err = write(&out, &files(&[("a.txt", "10"), ("b.txt", "20")]), false).unwrap_err();
        assert_eq!(err.iter().next().unwrap().code, Code::OutputBlocked);
        assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "1");
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
