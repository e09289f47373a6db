//! Loading a spec file: YAML with spans, the spec version, the JSON Schema, the typed spec.

use super::yaml::{self, Node, NodeKind};
use super::{Spec, de, schema};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{SourceFile, Span};
use std::sync::Arc;

/// The one spec version this v5c reads.
pub const SPEC_VERSION: &str = "v5c/1";

/// Loads and checks a spec. Every diagnostic returned is attached to `file`.
pub fn load_spec(file: &Arc<SourceFile>) -> Result<Spec, Diagnostics> {
    let mut result = load(file.text());
    if let Err(diagnostics) = &mut result {
        diagnostics.attach_file(file);
        diagnostics.sort();
    }
    result
}

fn load(text: &str) -> Result<Spec, Diagnostics> {
    let arena = yaml::Arena::new();
    let root = match yaml::parse(text, &arena) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(Diagnostic::error(Code::NotAMapping, "the spec is empty")
                .label(Span::point(0), "no YAML document here")
                .help(format!("a spec starts with `spec: {SPEC_VERSION}`"))
                .into());
        }
        Err(d) => return Err(d.into()),
    };
    if !matches!(root.kind, NodeKind::Map(_)) {
        return Err(Diagnostic::error(
            Code::NotAMapping,
            format!(
                "the spec must be a mapping, but this is {}",
                root.type_name()
            ),
        )
        .label(root.span, "expected keys such as `spec:` and `system:`")
        .help(format!("a spec starts with `spec: {SPEC_VERSION}`"))
        .into());
    }
    check_version(&root)?;
    let problems = schema::validate(&root);
    if !problems.is_empty() {
        return Err(problems);
    }
    de::from_node::<Spec>(&root).map_err(|e| deserialisation_error(&e, &root).into())
}

fn check_version(root: &Node) -> Result<(), Diagnostic> {
    match root.get("spec") {
        None => Err(Diagnostic::error(Code::MissingKey, "missing key `spec`")
            .label(
                Span::point(root.span.start()),
                "the spec version belongs here",
            )
            .help(format!("start the file with `spec: {SPEC_VERSION}`"))),
        Some(Node {
            kind: NodeKind::Str(v),
            ..
        }) if *v == SPEC_VERSION => Ok(()),
        Some(node) => {
            let found = match &node.kind {
                NodeKind::Str(s) => format!("`{s}`"),
                _ => node.type_name().to_owned(),
            };
            Err(Diagnostic::error(
                Code::UnsupportedVersion,
                format!("this v5c reads spec version `{SPEC_VERSION}`, not {found}"),
            )
            .label(node.span, "unsupported version")
            .help(format!("write `spec: {SPEC_VERSION}`")))
        }
    }
}

/// The schema accepted the spec but the types did not: the two disagree, which is a bug in
/// v5c, but the user still deserves to see where.
fn deserialisation_error(e: &de::Error, root: &Node) -> Diagnostic {
    let code = if e.message.starts_with("unknown field") {
        Code::UnknownKey
    } else if e.message.starts_with("missing field") {
        Code::MissingKey
    } else if e.message.starts_with("invalid type") || e.message.starts_with("unexpected") {
        Code::WrongType
    } else if e.message.starts_with("unknown variant") || e.message.starts_with("invalid value") {
        Code::NotAllowed
    } else {
        Code::SchemaMismatch
    };
    let span = e.span.unwrap_or(root.span);
    Diagnostic::error(code, e.message.replace("field", "key")).label(span, "here")
}
