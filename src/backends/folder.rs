//! Template-folder backends: a folder with a manifest (`backend.yaml`) and minijinja
//! templates, loaded with `v5c build --backend-dir PATH`. See `docs/backends.md`.
//!
//! ```yaml
//! name: openapi                 # lower case letters, digits and `-`
//! version: 1.0.0
//! description: OpenAPI for every api
//! templates:
//!   - template: openapi.yaml.j2             # a file of the folder
//!     output: "openapi/{{ item.name }}.yaml" # a path, itself a template
//!     for_each: components                  # entities, components, databases, services
//! ```
//!
//! Each template sees `ir` (exactly what `v5c ir --format json` prints), `backend` (its
//! name and version) and, with `for_each`, `item`. Undefined values are errors. Every error
//! names the file, line and column.

use super::{Backend, Emitted, Templates};
use crate::Analysed;
use crate::diag::{Code, Diagnostic, Diagnostics};
use camino::{Utf8Path, Utf8PathBuf};
use minijinja::Environment;
use serde::Deserialize;
use std::fmt::Write as _;

pub const MANIFEST: &str = "backend.yaml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    templates: Vec<TemplateEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateEntry {
    template: String,
    output: String,
    #[serde(default)]
    for_each: Option<ForEach>,
    /// With `for_each`, an expression that must hold for an item to be rendered, such as
    /// `item.kind == "api"`.
    #[serde(default)]
    when: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ForEach {
    Entities,
    Components,
    Databases,
    Services,
}

impl ForEach {
    fn key(self) -> &'static str {
        match self {
            ForEach::Entities => "entities",
            ForEach::Components => "components",
            ForEach::Databases => "databases",
            ForEach::Services => "services",
        }
    }
}

pub struct FolderBackend {
    name: String,
    version: String,
    description: String,
    dir: Utf8PathBuf,
    templates: Vec<TemplateEntry>,
    /// Each template's text, for the line and column of a render error.
    sources: Vec<String>,
    env: Environment<'static>,
}

/// The name of the template that makes the output path of the manifest's `i`th entry (one
/// template may be listed twice, with two outputs).
fn output_template(i: usize) -> String {
    format!("output {i}")
}

/// `path:line:column` of a byte offset in a text.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn template_error(
    dir: &Utf8Path,
    name: &str,
    source: Option<&str>,
    e: &minijinja::Error,
) -> Diagnostic {
    let path = dir.join(name);
    let place = match (e.range(), source) {
        (Some(range), Some(text)) => {
            let (line, column) = position(text, range.start);
            format!("{path}:{line}:{column}")
        }
        _ => match e.line() {
            Some(line) => format!("{path}:{line}"),
            None => path.to_string(),
        },
    };
    let mut message = format!(
        "{place}: {}",
        e.detail()
            .map_or_else(|| e.kind().to_string(), str::to_owned)
    );
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let _ = write!(message, ": {c}");
        cause = c.source();
    }
    Diagnostic::error(Code::BackendFailed, message)
}

impl FolderBackend {
    /// Loads the folder's manifest and templates; every problem is reported, with where.
    pub fn load(dir: &Utf8Path) -> Result<FolderBackend, Diagnostics> {
        FolderBackend::load_with(dir, &|name| std::fs::read_to_string(dir.join(name)))
    }

    /// A built-in backend written as a template folder, `backends/NAME/` embedded in the
    /// binary: the same mechanism as a folder on disk.
    pub fn builtin(name: &'static str) -> Result<FolderBackend, Diagnostics> {
        let dir = Utf8PathBuf::from(format!("backends/{name}"));
        FolderBackend::load_with(&dir, &|file| {
            super::templates::embedded(name, file)
                .map(str::to_owned)
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        })
    }

    fn load_with(
        dir: &Utf8Path,
        read: &dyn Fn(&str) -> std::io::Result<String>,
    ) -> Result<FolderBackend, Diagnostics> {
        let manifest_path = dir.join(MANIFEST);
        let text = read(MANIFEST).map_err(|e| {
            Diagnostics::from(
                Diagnostic::error(
                    Code::UnknownBackend,
                    format!("`{manifest_path}` cannot be read: {e}"),
                )
                .help(format!("a template-folder backend is a folder with a `{MANIFEST}` and its templates; see docs/backends.md")),
            )
        })?;
        let manifest: Manifest = serde_yaml::from_str(&text).map_err(|e| {
            let place = e.location().map_or_else(
                || manifest_path.to_string(),
                |l| format!("{manifest_path}:{}:{}", l.line(), l.column()),
            );
            Diagnostics::from(Diagnostic::error(
                Code::UnknownBackend,
                format!("{place}: {e}"),
            ))
        })?;
        let mut diags = Diagnostics::new();
        if !crate::names::is_dns_label(&manifest.name) {
            diags.push(Diagnostic::error(
                Code::UnknownBackend,
                format!(
                    "{manifest_path}: the name `{}` is not lower case letters, digits and `-`",
                    manifest.name
                ),
            ));
        }
        let mut env = Templates::environment();
        let mut sources = Vec::new();
        for (i, entry) in manifest.templates.iter().enumerate() {
            if !super::is_safe_relative(Utf8Path::new(&entry.template)) {
                diags.push(Diagnostic::error(
                    Code::UnknownBackend,
                    format!(
                        "{manifest_path}: template `{}` is not a file inside the folder",
                        entry.template
                    ),
                ));
                continue;
            }
            match read(&entry.template) {
                Ok(source) => {
                    if let Err(e) = env.add_template_owned(entry.template.clone(), source.clone()) {
                        diags.push(template_error(dir, &entry.template, Some(&source), &e));
                    }
                    sources.push(source);
                }
                Err(e) => diags.push(Diagnostic::error(
                    Code::UnknownBackend,
                    format!(
                        "{manifest_path}: template `{}` cannot be read: {e}",
                        entry.template
                    ),
                )),
            }
            if let Some(when) = &entry.when {
                if let Err(e) = env.compile_expression(when) {
                    diags.push(Diagnostic::error(
                        Code::UnknownBackend,
                        format!(
                            "{manifest_path}: `when` of `{}` is not an expression: {e}",
                            entry.template
                        ),
                    ));
                }
            }
            let output_name = output_template(i);
            if let Err(e) = env.add_template_owned(output_name.clone(), entry.output.clone()) {
                diags.push(Diagnostic::error(
                    Code::UnknownBackend,
                    format!(
                        "{manifest_path}: the output path of `{}` is not a valid template: {e}",
                        entry.template
                    ),
                ));
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(FolderBackend {
            name: manifest.name,
            version: manifest.version,
            description: if manifest.description.is_empty() {
                format!("template folder {dir}")
            } else {
                manifest.description
            },
            dir: dir.to_owned(),
            templates: manifest.templates,
            sources,
            env,
        })
    }
}

impl Backend for FolderBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn emit(&self, analysed: &Analysed) -> Result<Emitted, Diagnostics> {
        let ir = serde_json::to_value(analysed).expect("the IR serialises");
        let backend = serde_json::json!({ "name": self.name, "version": self.version });
        let mut emitted = Emitted::default();
        let mut diags = Diagnostics::new();
        for (i, (entry, source)) in self.templates.iter().zip(&self.sources).enumerate() {
            let items: Vec<Option<serde_json::Value>> = match entry.for_each {
                None => vec![None],
                Some(each) => ir[each.key()]
                    .as_array()
                    .map(|a| a.iter().cloned().map(Some).collect())
                    .unwrap_or_default(),
            };
            let template = self.env.get_template(&entry.template).expect("loaded");
            let output = self.env.get_template(&output_template(i)).expect("loaded");
            let when = entry
                .when
                .as_deref()
                .map(|w| self.env.compile_expression(w).expect("checked at load"));
            for item in items {
                let context = serde_json::json!({ "ir": ir, "backend": backend, "item": item });
                if let Some(when) = &when {
                    match when.eval(minijinja::value::Serde(&context)) {
                        Ok(v) if v.is_true() => {}
                        Ok(_) => continue,
                        Err(e) => {
                            diags.push(Diagnostic::error(
                                Code::BackendFailed,
                                format!(
                                    "{}: `when` of `{}`: {e}",
                                    self.dir.join(MANIFEST),
                                    entry.template
                                ),
                            ));
                            continue;
                        }
                    }
                }
                let path = match output.render(minijinja::value::Serde(&context)) {
                    Ok(p) => p,
                    Err(e) => {
                        diags.push(Diagnostic::error(
                            Code::BackendFailed,
                            format!(
                                "{}: the output path of `{}`: {e}",
                                self.dir.join(MANIFEST),
                                entry.template
                            ),
                        ));
                        continue;
                    }
                };
                match template.render(minijinja::value::Serde(&context)) {
                    Ok(text) => {
                        if let Err(e) = emitted.files.add(path, text) {
                            diags.push(Diagnostic::error(
                                Code::BackendFailed,
                                format!(
                                    "{}: `{}` writes {e}",
                                    self.dir.join(MANIFEST),
                                    entry.template
                                ),
                            ));
                        }
                    }
                    Err(e) => {
                        diags.push(template_error(&self.dir, &entry.template, Some(source), &e));
                    }
                }
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(emitted)
    }
}
