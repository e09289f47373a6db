//! Backends: the analysed IR in, a set of files and a lowering report out.
//!
//! A backend never writes to disk itself: [`emit`] collects every backend's files in memory,
//! and `output::write` puts them in place only when all of them succeeded.

pub mod code;
pub mod docker;
pub mod folder;
mod ir;
pub mod k8s;
pub mod monitoring;
pub mod output;
pub mod plugin;
pub mod sql;
mod templates;

pub use templates::Templates;

use crate::Analysed;
use crate::diag::{Code, Diagnostic, Diagnostics};
use camino::{Utf8Path, Utf8PathBuf};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Files by path relative to the output directory. Ordered, so output is deterministic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileSet {
    files: BTreeMap<Utf8PathBuf, Vec<u8>>,
    /// Files meant for people (logic hooks): written when absent, never overwritten, and
    /// not in the manifest, so a person's edits are theirs.
    seeds: std::collections::BTreeSet<Utf8PathBuf>,
}

impl FileSet {
    pub fn new() -> Self {
        FileSet::default()
    }

    /// Adds a file. Paths are relative and may not climb out of the output directory.
    pub fn add(
        &mut self,
        path: impl Into<Utf8PathBuf>,
        contents: impl Into<Vec<u8>>,
    ) -> Result<(), String> {
        let path = path.into();
        if !is_safe_relative(&path) {
            return Err(format!(
                "`{path}` is not a relative path inside the output directory"
            ));
        }
        if self.files.insert(path.clone(), contents.into()).is_some() {
            return Err(format!("`{path}` is written twice"));
        }
        Ok(())
    }

    /// Adds a file meant for people: written only where no file is, and never again.
    pub fn add_seed(
        &mut self,
        path: impl Into<Utf8PathBuf>,
        contents: impl Into<Vec<u8>>,
    ) -> Result<(), String> {
        let path = path.into();
        self.add(path.clone(), contents)?;
        self.seeds.insert(path);
        Ok(())
    }

    /// This set without the files meant for people that already exist in `dir`: those are
    /// theirs. The seed marks stay, so that a writer can tell them from stale files.
    #[must_use]
    pub fn without_existing_seeds(&self, dir: &Utf8Path) -> FileSet {
        let mut kept = self.clone();
        kept.files.retain(|path, _| {
            !self.seeds.contains(path) || dir.join(path).symlink_metadata().is_err()
        });
        kept
    }

    /// Whether `path` is a file meant for people (see [`FileSet::add_seed`]).
    pub fn is_seed(&self, path: &Utf8Path) -> bool {
        self.seeds.contains(path)
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(Utf8Path::new(path)).map(Vec::as_slice)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Utf8Path, &[u8])> {
        self.files.iter().map(|(p, c)| (p.as_path(), c.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Relative, no `..`, no root or prefix: it stays inside the directory it is joined to. And
/// plainly written, so that what a backend says is what lands on disk: `/` between names,
/// none of them empty, `.`, blank or holding a `\`.
pub fn is_safe_relative(path: &Utf8Path) -> bool {
    use camino::Utf8Component;
    let text = path.as_str();
    !text.is_empty()
        && !text.contains('\\')
        && text
            .split('/')
            .all(|part| !part.trim().is_empty() && part != "." && part != "..")
        && path
            .components()
            .all(|c| matches!(c, Utf8Component::Normal(_)))
}

/// What a backend could not say exactly in its target: the honest list a reviewer needs.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LoweringReport {
    pub entries: Vec<ReportEntry>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReportEntry {
    pub kind: ReportKind,
    /// What in the spec it is about, such as `Order.total` or `database primary`.
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Written in the target, but not with exactly the spec's meaning.
    Approximated,
    /// Left out of the target.
    Dropped,
}

impl LoweringReport {
    pub fn approximated(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.entries.push(ReportEntry {
            kind: ReportKind::Approximated,
            subject: subject.into(),
            detail: detail.into(),
        });
    }

    pub fn dropped(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.entries.push(ReportEntry {
            kind: ReportKind::Dropped,
            subject: subject.into(),
            detail: detail.into(),
        });
    }
}

/// One backend's output.
#[derive(Debug, Clone, Default)]
pub struct Emitted {
    pub files: FileSet,
    pub report: LoweringReport,
}

impl Emitted {
    /// Adds `files` and hands the output back, or every path that is not allowed or written
    /// twice: a bug in the backend that wrote it.
    pub fn with_files(
        mut self,
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Emitted, Diagnostics> {
        let mut diags = Diagnostics::new();
        for (path, text) in files {
            if let Err(e) = self.files.add(path, text) {
                diags.push(Diagnostic::error(Code::BackendFailed, e));
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(self)
    }
}

/// A backend. It takes [`Analysed`], so only IR that passed every pass can reach it.
pub trait Backend {
    fn name(&self) -> &str;
    /// One line for `v5c backends`.
    fn description(&self) -> &str;
    /// Other backends whose files this one refers to; `v5c build` runs them too.
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }
    fn emit(&self, analysed: &Analysed) -> Result<Emitted, Diagnostics>;
}

/// Every built-in backend, in the order they run.
pub fn builtin() -> Vec<Box<dyn Backend>> {
    vec![
        Box::new(ir::IrBackend),
        Box::new(sql::SqlBackend),
        Box::new(code::CodeBackend),
        Box::new(monitoring::MonitoringBackend),
        Box::new(docker::DockerBackend),
        Box::new(k8s::K8sBackend),
        Box::new(folder::FolderBackend::builtin("docs").expect("the built-in docs backend loads")),
    ]
}

/// Looks up backends by name, adding those they need; unknown names are errors.
pub fn select(names: &[String]) -> Result<Vec<Box<dyn Backend>>, Diagnostic> {
    let all = builtin();
    let known: Vec<String> = all.iter().map(|b| b.name().to_owned()).collect();
    let mut wanted: Vec<String> = Vec::new();
    let mut plugins: Vec<plugin::PluginBackend> = Vec::new();
    let mut queue: Vec<String> = names.to_vec();
    while let Some(name) = queue.pop() {
        if let Some(backend) = all.iter().find(|b| b.name() == name) {
            if !wanted.iter().any(|w| w == backend.name()) {
                wanted.push(backend.name().to_owned());
                queue.extend(backend.needs().iter().map(|n| (*n).to_owned()));
            }
            continue;
        }
        // Not built in: a plugin, by path or as `v5c-backend-NAME` on PATH.
        match plugin::PluginBackend::find(&name) {
            // The same program named twice runs once; two programs of one name are
            // refused by `emit`.
            Some(p) => {
                if !plugins.iter().any(|q| q.program() == p.program()) {
                    plugins.push(p);
                }
            }
            None => {
                let known: Vec<&str> = known.iter().map(String::as_str).collect();
                return Err(Diagnostic::error(
                    Code::UnknownBackend,
                    format!("unknown backend `{name}`"),
                )
                .maybe_help(crate::diag::suggest(&name, known.iter().copied()))
                .note(format!(
                    "the backends are {}, and plugins: `v5c-backend-NAME` on PATH, or a path to a program",
                    crate::diag::one_of(&known)
                )));
            }
        }
    }
    let mut selected: Vec<Box<dyn Backend>> = all
        .into_iter()
        .filter(|b| names.is_empty() || wanted.iter().any(|w| w == b.name()))
        .collect();
    // Plugins run after the built-ins, in the order named.
    plugins.reverse();
    selected.extend(plugins.into_iter().map(|p| Box::new(p) as Box<dyn Backend>));
    Ok(selected)
}

/// Every backend's files, merged, and each backend's report.
#[derive(Debug, Default)]
pub struct Output {
    pub files: FileSet,
    pub reports: Vec<(String, LoweringReport)>,
}

/// Runs backends in order. Any failure fails the whole; nothing is written here.
pub fn emit(analysed: &Analysed, backends: &[Box<dyn Backend>]) -> Result<Output, Diagnostics> {
    let mut output = Output::default();
    let mut owner: BTreeMap<Utf8PathBuf, String> = BTreeMap::new();
    let mut diags = Diagnostics::new();
    let mut names: Vec<&str> = Vec::new();
    for backend in backends {
        if names.contains(&backend.name()) {
            diags.push(
                Diagnostic::error(
                    Code::OutputConflict,
                    format!("two backends are named `{}`", backend.name()),
                )
                .help("a backend runs once: give a folder or plugin a name no other backend has"),
            );
        }
        names.push(backend.name());
    }
    if diags.has_errors() {
        return Err(diags);
    }
    for backend in backends {
        match backend.emit(analysed) {
            Ok(emitted) => {
                for (path, contents) in emitted.files.iter() {
                    if path == REPORT_FILE || path == output::MANIFEST {
                        diags.push(Diagnostic::error(
                            Code::OutputConflict,
                            format!(
                                "backend `{}` writes `{path}`, which v5c itself writes",
                                backend.name()
                            ),
                        ));
                        continue;
                    }
                    if let Some(first) = owner.get(path) {
                        diags.push(Diagnostic::error(
                            Code::OutputConflict,
                            format!(
                                "backends `{first}` and `{}` both write `{path}`",
                                backend.name()
                            ),
                        ));
                        continue;
                    }
                    owner.insert(path.to_owned(), backend.name().to_owned());
                    // Paths were checked when the backend added them.
                    let _ = if emitted.files.is_seed(path) {
                        output.files.add_seed(path.to_owned(), contents.to_vec())
                    } else {
                        output.files.add(path.to_owned(), contents.to_vec())
                    };
                }
                output
                    .reports
                    .push((backend.name().to_owned(), emitted.report));
            }
            Err(e) => diags.extend(e),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let report = render_report(&output.reports);
    if let Err(e) = output.files.add(REPORT_FILE, report) {
        diags.push(Diagnostic::error(Code::OutputConflict, e));
        return Err(diags);
    }
    Ok(output)
}

/// The lowering reports of a build, in the output directory for reviewers.
pub const REPORT_FILE: &str = "v5c-report.md";

fn render_report(reports: &[(String, LoweringReport)]) -> String {
    let mut text = String::from(
        "<!-- Generated by v5c. Do not edit: `v5c build` rewrites it. -->\n# Lowering report\n\nWhat each backend approximated or dropped from the spec.\n",
    );
    for (backend, report) in reports {
        let _ = write!(text, "\n## {backend}\n\n");
        if report.entries.is_empty() {
            text.push_str("Nothing approximated or dropped.\n");
            continue;
        }
        for entry in &report.entries {
            let kind = match entry.kind {
                ReportKind::Approximated => "approximated",
                ReportKind::Dropped => "dropped",
            };
            let _ = writeln!(text, "- **{kind}** `{}`: {}", entry.subject, entry.detail);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sets_refuse_escaping_paths() {
        let mut files = FileSet::new();
        assert!(files.add("a/b.txt", "x").is_ok());
        assert!(files.add("a/b.txt", "y").is_err());
        assert!(files.add("../etc/passwd", "x").is_err());
        assert!(files.add("/etc/passwd", "x").is_err());
        assert!(files.add("", "x").is_err());
        for bad in [
            "dir/", "a\\..\\b", "C:\\x.md", " ", "a//b", "a/./b", "./a", "a/ /b",
        ] {
            assert!(files.add(bad, "x").is_err(), "{bad:?} was accepted");
        }
        assert!(files.add(".dockerignore", "x").is_ok());
    }

    #[test]
    fn unknown_backends_are_named() {
        let err = select(&["i".to_owned()]).err().expect("no such backend");
        assert_eq!(err.code, Code::UnknownBackend);
        assert!(select(&["ir".to_owned()]).is_ok());
    }
}
