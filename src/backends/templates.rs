//! The built-in templates, embedded at build time, rendered by minijinja with strict undefined
//! behaviour: a template that names a value the context does not have is an error, never an
//! empty string in the output.

use crate::diag::{Code, Diagnostic};
use minijinja::{Environment, UndefinedBehavior};
use std::fmt::Write as _;

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The templates of one built-in backend (`backends/NAME/`).
pub struct Templates {
    backend: &'static str,
    env: Environment<'static>,
    /// Templates that failed to compile, with the error, reported when they are rendered.
    broken: Vec<(&'static str, minijinja::Error)>,
}

impl Templates {
    pub fn for_backend(backend: &'static str) -> Templates {
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
        let prefix = format!("{backend}/");
        let mut broken = Vec::new();
        for (path, text) in TEMPLATES {
            if let Some(name) = path.strip_prefix(&prefix) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_template_parses() {
        let mut env = Environment::new();
        for (path, text) in TEMPLATES {
            if let Err(e) = env.add_template(path, text) {
                panic!("backends/{path}: {e}");
            }
        }
        assert!(!TEMPLATES.is_empty());
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
