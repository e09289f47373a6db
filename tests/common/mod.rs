//! What the integration tests share: where the specs are, checking one, running a backend,
//! running an external checker, and comparing an output folder before and after.
//!
//! Each test crate includes this module with `mod common;` and uses part of it.
#![allow(dead_code)]

pub mod db;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use v5c::source::SourceFile;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.yaml` specs directly in these folders of the repository, sorted.
pub fn specs_in(dirs: &[&str]) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|dir| std::fs::read_dir(root().join(dir)).expect("directory"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
}

/// A spec's file name without `.yaml`: the name its snapshots and folders take.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

/// Checks a spec that must check, panicking with its rendered diagnostics otherwise.
pub fn analyse(path: &Path) -> v5c::Analysed {
    let text = std::fs::read_to_string(path).expect("spec is readable");
    let file = SourceFile::new(path.display().to_string(), text);
    v5c::check(&file).unwrap_or_else(|d| {
        panic!(
            "{} does not check:\n{}",
            path.display(),
            v5c::diag::render_graphical(&d, 100, false)
        )
    })
}

/// What `v5c build --backend NAME` writes: that backend and those it needs.
pub fn build(analysed: &v5c::Analysed, backend: &str) -> v5c::backends::Output {
    let backends = v5c::backends::select(&[backend.to_owned()]).expect("a built-in backend");
    v5c::emit(analysed, &backends).unwrap_or_else(|d| {
        panic!(
            "the build fails:\n{}",
            v5c::diag::render_graphical(&d, 100, false)
        )
    })
}

/// A file of a file set, as text.
pub fn text(files: &v5c::backends::FileSet, path: &str) -> String {
    String::from_utf8(
        files
            .get(path)
            .unwrap_or_else(|| panic!("no {path}"))
            .to_vec(),
    )
    .expect("UTF-8")
}

/// Writes a file set below `dir`.
pub fn write_files(files: &v5c::backends::FileSet, dir: &Path) {
    for (path, contents) in files.iter() {
        let full = dir.join(path.as_str());
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, contents).expect("write");
    }
}

/// An external checker, which must be installed: `tools/test-all` installs every one.
pub fn tool(name: &str, hint: &str) -> Command {
    let probe = Command::new(name).arg("--version").output();
    assert!(
        probe.is_ok(),
        "`{name}` is not installed; {hint} (`tools/test-all` installs it)"
    );
    Command::new(name)
}

/// Runs a checker that must succeed, showing what it said when it does not.
pub fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file below `dir` with its contents, to show that a failed build changed nothing.
pub fn snapshot_dir(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).expect("inside").to_path_buf(),
                    std::fs::read(&path).expect("readable"),
                );
            }
        }
    }
    files
}

/// Whether rendered diagnostics contain `needle`, however the renderer wrapped the lines.
pub fn contains_flat(text: &str, needle: &str) -> bool {
    let flat = |t: &str| -> String {
        t.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    flat(text).contains(&flat(needle))
}
