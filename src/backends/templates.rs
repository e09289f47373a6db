//! The built-in templates, embedded at build time, rendered by minijinja with strict undefined
//! behaviour: a template that names a value the context does not have is an error, never an
//! empty string in the output.

use crate::diag::{Code, Diagnostic};
use minijinja::{Environment, UndefinedBehavior};
use std::fmt::Write as _;

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The text of `backends/BACKEND/FILE` as embedded in the binary.
pub fn embedded(backend: &str, file: &str) -> Option<&'static str> {
    let path = format!("{backend}/{file}");
    TEMPLATES.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// The templates of one built-in backend (`backends/NAME/`).
pub struct Templates {
    backend: &'static str,
    env: Environment<'static>,
    /// Templates that failed to compile, with the error, reported when they are rendered.
    broken: Vec<(&'static str, minijinja::Error)>,
}

impl Templates {
    /// The environment every template renders in, built-in or from a folder: strict
    /// undefined values, blocks that leave no blank lines, and the `yaml` and `json`
    /// filters.
    pub fn environment() -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        env.add_filter(
            "yaml",
            |value: minijinja::Value| -> Result<String, minijinja::Error> {
                yaml_value(&value).map_err(|e| {
                    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
                })
            },
        );
        // `json`: a value as JSON, escaping only what JSON must (unlike minijinja's HTML-safe
        // `tojson`); for Dockerfile exec forms.
        env.add_filter(
            "json",
            |value: minijinja::Value| -> Result<String, minijinja::Error> {
                serde_json::to_string(&value).map_err(|e| {
                    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
                })
            },
        );
        env
    }

    pub fn for_backend(backend: &'static str) -> Templates {
        let mut env = Templates::environment();
        let prefix = format!("{backend}/");
        let mut broken = Vec::new();
        for (path, text) in TEMPLATES {
            // Only `.j2` files are templates; the others (the code backend's runtime) are
            // copied as they are, through `embedded`.
            if let Some(name) = path.strip_prefix(&prefix).filter(|n| {
                std::path::Path::new(n)
                    .extension()
                    .is_some_and(|e| e == "j2")
            }) {
                if let Err(e) = env.add_template(name, text) {
                    broken.push((name, e));
                }
            }
        }
        Templates {
            backend,
            env,
            broken,
        }
    }

    /// Renders `name` with `context`; errors name the template and line.
    pub fn render(&self, name: &str, context: impl serde::Serialize) -> Result<String, Diagnostic> {
        if let Some((_, e)) = self.broken.iter().find(|(n, _)| *n == name) {
            return Err(self.error(name, e));
        }
        let template = self
            .env
            .get_template(name)
            .map_err(|e| self.error(name, &e))?;
        template
            .render(minijinja::value::Serde(context))
            .map_err(|e| self.error(name, &e))
    }

    fn error(&self, name: &str, e: &minijinja::Error) -> Diagnostic {
        let mut message = format!("template `backends/{}/{name}`", self.backend);
        if let Some(line) = e.line() {
            let _ = write!(message, ", line {line}");
        }
        let _ = write!(message, ": {e}");
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            let _ = write!(message, ": {cause}");
            source = cause.source();
        }
        Diagnostic::error(Code::BackendFailed, message)
    }
}

/// The `yaml` filter: a value as a YAML flow scalar or collection that reads back as the same
/// value, in the plainest style that does: plain for simple words and paths, single quotes
/// for other one-line text (so PromQL's `"` needs no escape), JSON for the rest (JSON is a
/// subset of YAML, and serde_json escapes only what it must).
fn yaml_value(value: &minijinja::Value) -> Result<String, serde_json::Error> {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::String => Ok(yaml_text(value.as_str().unwrap_or_default())),
        // Flow collections with a blank after each comma, as YAML linters want.
        ValueKind::Seq => {
            let items: Result<Vec<String>, _> = value
                .try_iter()
                .into_iter()
                .flatten()
                .map(|item| yaml_value(&item))
                .collect();
            Ok(format!("[{}]", items?.join(", ")))
        }
        ValueKind::Map => {
            let mut entries = Vec::new();
            for key in value.try_iter().into_iter().flatten() {
                let item = value.get_item(&key).unwrap_or_default();
                entries.push(format!("{}: {}", yaml_value(&key)?, yaml_value(&item)?));
            }
            Ok(format!("{{{}}}", entries.join(", ")))
        }
        _ => serde_json::to_string(value),
    }
}

pub fn yaml_text(text: &str) -> String {
    // Words a YAML 1.1 or 1.2 reader would take for something other than text.
    const SPECIAL: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ];
    let plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !SPECIAL.contains(&text.to_ascii_lowercase().as_str());
    if plain {
        return text.to_owned();
    }
    let printable = !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() && c != '\u{feff}' && c != '\u{2028}' && c != '\u{2029}')
        && !text.starts_with(' ')
        && !text.ends_with(' ');
    if printable {
        return format!("'{}'", text.replace('\'', "''"));
    }
    // A double-quoted scalar, escaping every character YAML does not allow raw: C0 and C1
    // controls, DEL, and the byte-order mark and line separators.
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_template_parses() {
        let mut env = Environment::new();
        let templates = TEMPLATES.iter().filter(|(p, _)| {
            std::path::Path::new(p)
                .extension()
                .is_some_and(|e| e == "j2")
        });
        for (path, text) in templates {
            if let Err(e) = env.add_template(path, text) {
                panic!("backends/{path}: {e}");
            }
        }
        assert!(!TEMPLATES.is_empty());
    }

    #[test]
    fn yaml_text_reads_back_as_written() {
        let cases = [
            "shop",
            "/metrics",
            "a-b_c.d",
            "yes",
            "No",
            "null",
            "1.0",
            "15s",
            "",
            " lead",
            "it's",
            "sum(rate(x{a=\"b\"}[5m])) > 0.5 # not a comment",
            "key: value",
            "- item",
            "line\nbreak",
            "tab\there",
            "{{ $labels.job }} is down",
            "[1, 2]",
            "*anchor",
            "&ref",
            "!tag",
            "%directive",
            "@at",
            "`tick",
            "café ☕",
            "del\u{7f}",
            "c1\u{85}\u{9f}",
            "bom\u{feff}",
            "sep\u{2028}",
            "nul\u{0}",
        ];
        for text in cases {
            let written = yaml_text(text);
            let read: serde_yaml::Value =
                serde_yaml::from_str(&format!("v: {written}\n")).expect(&written);
            assert_eq!(
                read["v"].as_str(),
                Some(text),
                "{text:?} written as {written}"
            );
        }
        assert_eq!(yaml_text("shop"), "shop");
        assert_eq!(yaml_text("up{a=\"b\"}"), "'up{a=\"b\"}'");
    }

    #[test]
    fn undefined_values_are_errors() {
        let templates = Templates::for_backend("ir");
        let err = templates
            .render("ir.yaml.j2", serde_json::json!({ "system": "x" }))
            .unwrap_err();
        assert_eq!(err.code, Code::BackendFailed);
        assert!(err.message.contains("ir.yaml.j2"), "{}", err.message);
    }
}
