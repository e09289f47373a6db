//! The spec's JSON Schema: generated from the types, and used to check a spec with every error
//! mapped from its JSON pointer back to a span in the YAML.

use super::instance::YamlTree;
use super::yaml::{Node, NodeKind};
use super::{DNS_NAME, ENTITY_NAME, SNAKE_NAME, Spec, URL_PATH};
use crate::diag::{self, Code, Diagnostic, Diagnostics};
use crate::source::Span;
use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;
use std::sync::OnceLock;

/// The JSON Schema of what users write, as checked in at `ir-schema/spec.schema.json`.
pub fn spec_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let schema = schemars::generate::SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<Spec>();
        let mut value = serde_json::to_value(schema).expect("a schema is plain JSON");
        if let Value::Object(map) = &mut value {
            map.insert(
                "$id".into(),
                Value::String("https://v5c.dev/schema/spec.schema.json".into()),
            );
        }
        value
    })
}

/// Pretty JSON with a final newline: the form checked in under `ir-schema/`.
pub fn to_pretty_json(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values always serialise");
    text.push('\n');
    text
}

fn validator() -> &'static jsonschema::Validator<YamlTree> {
    static VALIDATOR: OnceLock<jsonschema::Validator<YamlTree>> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::options_for::<YamlTree>()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(spec_schema())
            .expect("the generated spec schema is a valid JSON Schema")
    })
}

/// Checks a spec against the schema; every problem becomes a diagnostic with a span.
pub fn validate(root: &Node) -> Diagnostics {
    // Most specs are valid, and asking only that builds none of the errors that every
    // `oneOf` branch not taken would otherwise produce.
    if validator().is_valid(root) {
        return Diagnostics::new();
    }
    let mut found = Vec::new();
    for error in validator().iter_errors(root) {
        map_error(&error, root, &mut found);
    }
    // One mistake can break several keywords at one place; say it once.
    let mut seen = std::collections::HashSet::new();
    found.retain(|d: &Diagnostic| seen.insert((d.code, d.primary_span(), d.message.clone())));
    let mut diagnostics = Diagnostics::new();
    for d in found {
        diagnostics.push(d);
    }
    diagnostics
}

/// The last named step of a JSON pointer: the key a value sits under (a list item takes the
/// key of its list).
fn owner_key(pointer: &str) -> Option<String> {
    pointer
        .rsplit('/')
        .find(|s| !s.is_empty() && s.parse::<usize>().is_err())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
}

fn json_type_words(name: &str) -> &'static str {
    match name {
        "string" => "text",
        "object" => "a mapping",
        "array" => "a list",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "`true` or `false`",
        "null" => "nothing",
        _ => "a value",
    }
}

fn describe_types(kind: &TypeKind) -> Vec<&'static str> {
    let names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
    };
    let mut words: Vec<&'static str> = names.iter().map(|n| json_type_words(n)).collect();
    // "a whole number or a number" says nothing more than "a number".
    if words.contains(&"a number") {
        words.retain(|w| *w != "a whole number");
    }
    words.dedup();
    words
}

fn join_or(words: &[&str]) -> String {
    match words {
        [] => "something else".into(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn found_words(node: &Node) -> String {
    match &node.kind {
        NodeKind::Str(s) if s.trim().is_empty() => "blank text".into(),
        NodeKind::Str(s) => format!("the text `{s}`"),
        NodeKind::Int(i) => format!("the number `{i}`"),
        NodeKind::Float(f) => format!("the number `{f}`"),
        NodeKind::Bool(b) => format!("`{b}`"),
        NodeKind::Null => "nothing".into(),
        NodeKind::Seq(_) => "a list".into(),
        NodeKind::Map(_) => "a mapping".into(),
    }
}

/// Words for the name patterns of the spec.
fn pattern_words(pattern: &str) -> Option<&'static str> {
    match pattern {
        p if p == SNAKE_NAME => Some(
            "a lower snake_case name: a-z, 0-9 and `_`, starting with a letter, at most 63 characters",
        ),
        p if p == ENTITY_NAME => Some(
            "a PascalCase name: letters and digits, starting with a capital, at most 63 characters",
        ),
        p if p == DNS_NAME => Some(
            "lower case letters, digits and `-`, starting with a letter, not ending with `-`, at most 63 characters",
        ),
        _ => None,
    }
}

/// A name in another case, when that would fit the pattern: a ready fix for the help line.
fn name_fix(pattern: &str, name: &str) -> Option<String> {
    let words = crate::names::words(name);
    if words.is_empty() {
        return None;
    }
    let fixed = match pattern {
        p if p == SNAKE_NAME => words.join("_"),
        p if p == ENTITY_NAME => crate::names::pascal(&words),
        p if p == DNS_NAME => words.join("-"),
        _ => return None,
    };
    let fits = match pattern {
        p if p == SNAKE_NAME => crate::names::is_snake(&fixed),
        p if p == ENTITY_NAME => crate::names::is_pascal(&fixed),
        _ => crate::names::is_dns_label(&fixed),
    };
    (fits && fixed != name).then(|| format!("try `{fixed}`"))
}

fn map_error(error: &ValidationError<'_>, root: &Node, out: &mut Vec<Diagnostic>) {
    let pointer = error.instance_path().as_str();
    let (node, key) = root.pointer(pointer).unwrap_or((root, None));
    let key_span = key.map(|k| k.span);
    let here = node.span;
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let known = known_properties(error.schema_path().as_str());
            for name in unexpected {
                let span = node.key(name).map_or(here, |k| k.span);
                let mut d = Diagnostic::error(Code::UnknownKey, format!("unknown key `{name}`"))
                    .label(span, "not a key here");
                d = match diag::did_you_mean(name, known.iter().map(String::as_str)) {
                    // `{ type: decimal(12,2) }`: the comma ended the value, and `2)` became a key.
                    _ if name.contains(')') || name.starts_with(|c: char| c.is_ascii_digit()) => d
                        .help("an unquoted `,` inside `{ … }` ends the value before it: quote the value, as in `type: \"decimal(12,2)\"`"),
                    Some(best) => d.help(format!("did you mean `{best}`?")),
                    None if !known.is_empty() => {
                        d.help(format!("the keys here are {}", diag::one_of(&known)))
                    }
                    None => d,
                };
                out.push(d);
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            let (span, label) = match (&key, pointer.is_empty()) {
                (Some(k), _) => (k.span, format!("`{}` needs `{name}`", k.text)),
                (None, true) => (
                    Span::point(here.start()),
                    format!("the spec needs `{name}`"),
                ),
                (None, false) => (here, format!("this needs `{name}`")),
            };
            out.push(
                Diagnostic::error(Code::MissingKey, format!("missing key `{name}`"))
                    .label(span, label),
            );
        }
        ValidationErrorKind::Type { kind } => {
            out.push(wrong_type(node, &describe_types(kind), key_span.is_some()));
        }
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(value_words).collect())
                .unwrap_or_default();
            out.push(not_allowed(node, pointer, &allowed));
        }
        ValidationErrorKind::Constant { expected_value } => {
            out.push(not_allowed(node, pointer, &[value_words(expected_value)]));
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            out.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    format!(
                        "{} is too small: the least allowed is {limit}",
                        found_words(node)
                    ),
                )
                .label(here, "too small"),
            );
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            out.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    format!(
                        "{} is too large: the most allowed is {limit}",
                        found_words(node)
                    ),
                )
                .label(here, "too large"),
            );
        }
        ValidationErrorKind::MinItems { limit } => {
            let what = owner_key(pointer).map_or("this list".into(), |k| format!("`{k}`"));
            out.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    format!("{what} needs at least {limit} item{}", plural(*limit)),
                )
                .label(here, "too few items"),
            );
        }
        ValidationErrorKind::MinProperties { limit } => {
            let what = owner_key(pointer).map_or("this mapping".into(), |k| format!("`{k}`"));
            out.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    format!(
                        "{what} needs at least {limit} entr{}",
                        if *limit == 1 { "y" } else { "ies" }
                    ),
                )
                .label(here, "empty"),
            );
        }
        ValidationErrorKind::MaxItems { limit } => {
            out.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    format!("at most {limit} items are allowed"),
                )
                .label(here, "too many items"),
            );
        }
        ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MaxLength { limit } => {
            out.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    format!("{} has the wrong length (limit {limit})", found_words(node)),
                )
                .label(here, "wrong length"),
            );
        }
        ValidationErrorKind::UniqueItems => {
            let span = first_duplicate(node).unwrap_or(here);
            let what = owner_key(pointer).map_or("this list".into(), |k| format!("`{k}`"));
            out.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    format!("{what} lists the same item twice"),
                )
                .label(span, "repeated"),
            );
        }
        ValidationErrorKind::Pattern { pattern } => {
            let text = match &node.kind {
                NodeKind::Str(s) => s,
                _ => "",
            };
            out.push(bad_name(text, pattern, here));
        }
        ValidationErrorKind::PropertyNames { error: inner } => {
            let name = inner.instance().as_str().unwrap_or_default().to_owned();
            let span = node.key(&name).map_or(here, |k| k.span);
            let pattern = match inner.kind() {
                ValidationErrorKind::Pattern { pattern } => pattern.clone(),
                _ => String::new(),
            };
            out.push(bad_name(&name, &pattern, span));
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            one_of_failed(
                context,
                node,
                pointer,
                error.schema_path().as_str(),
                root,
                out,
            );
        }
        _ => {
            out.push(
                Diagnostic::error(Code::SchemaMismatch, error.to_string()).label(here, "here"),
            );
        }
    }
}

/// "expected X, found Y", with help for YAML's usual surprises: quoting, and keys left empty.
fn wrong_type(node: &Node, expected: &[&'static str], under_key: bool) -> Diagnostic {
    // `null` is allowed wherever a key is optional; saying so helps nobody.
    let mut words = expected.to_vec();
    if words.len() > 1 {
        words.retain(|w| *w != "nothing");
    }
    let expected = join_or(&words);
    let d = Diagnostic::error(
        Code::WrongType,
        format!("expected {expected}, found {}", found_words(node)),
    )
    .label(node.span, format!("expected {expected}"));
    let scalar = matches!(
        node.kind,
        NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_)
    );
    match &node.kind {
        _ if expected.contains("text") && scalar => {
            d.help("YAML reads this as a number or boolean; quote it to make it text")
        }
        NodeKind::Str(text)
            if (expected.contains("number") || expected.contains("`true`"))
                && crate::spec::yaml::looks_like_number_or_bool(text) =>
        {
            d.help("this is quoted, so YAML reads it as text; remove the quotes")
        }
        NodeKind::Null if under_key => d.help("the key has no value; write one after the `:`"),
        _ => d,
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn value_words(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn not_allowed(node: &Node, pointer: &str, allowed: &[String]) -> Diagnostic {
    let what = owner_key(pointer).map_or_else(|| "value".to_owned(), |k| format!("`{k}`"));
    let found = match &node.kind {
        NodeKind::Str(s) => format!("`{s}`"),
        _ => found_words(node),
    };
    let mut d = Diagnostic::error(
        Code::NotAllowed,
        format!("{found} is not a valid value for {what}"),
    )
    .label(node.span, format!("expected {}", diag::one_of(allowed)));
    if let NodeKind::Str(s) = &node.kind {
        if let Some(help) = diag::suggest(s, allowed.iter().map(String::as_str)) {
            d = d.help(help);
        }
    }
    d
}

fn bad_name(name: &str, pattern: &str, span: Span) -> Diagnostic {
    if pattern == URL_PATH {
        return Diagnostic::error(Code::SchemaMismatch, format!("`{name}` is not a URL path"))
            .label(span, "not a path")
            .help("a path starts with `/` and has segments of letters, digits, `.`, `_`, `~` and `-`, such as `/api/v1`");
    }
    match pattern_words(pattern) {
        Some(words) => Diagnostic::error(Code::BadName, format!("`{name}` is not {words}"))
            .label(span, "badly formed name")
            .maybe_help(name_fix(pattern, name)),
        None => Diagnostic::error(
            Code::SchemaMismatch,
            format!("`{name}` does not match `{pattern}`"),
        )
        .label(span, "here"),
    }
}

fn first_duplicate(node: &Node) -> Option<Span> {
    let NodeKind::Seq(items) = &node.kind else {
        return None;
    };
    items
        .iter()
        .enumerate()
        .find(|(i, item)| items[..*i].iter().any(|earlier| earlier.kind == item.kind))
        .map(|(_, item)| item.span)
}

/// The property names the object schema at (the parent of) `keyword_location` allows.
fn known_properties(keyword_location: &str) -> Vec<String> {
    let parent = keyword_location
        .rsplit_once('/')
        .map_or("", |(parent, _)| parent);
    super::schema::spec_schema()
        .pointer(parent)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

/// A `oneOf` or `anyOf` failed: find the branch the user meant and report its errors, rather
/// than "not valid under any of the given schemas".
fn one_of_failed(
    branches: &[Vec<ValidationError<'static>>],
    node: &Node,
    pointer: &str,
    schema_path: &str,
    root: &Node,
    out: &mut Vec<Diagnostic>,
) {
    // A mapping that every branch wants a `kind` for, and that has none: say only that.
    let needs_kind = |errors: &Vec<ValidationError<'static>>| {
        errors.iter().any(|e| {
            e.instance_path().as_str() == pointer
                && matches!(e.kind(), ValidationErrorKind::Required { property } if property == "kind")
        })
    };
    if matches!(node.kind, NodeKind::Map(_))
        && node.get("kind").is_none()
        && branches.iter().all(needs_kind)
    {
        let kinds: Vec<String> = super::schema::spec_schema()
            .pointer(schema_path)
            .and_then(Value::as_array)
            .map(|branches| {
                branches
                    .iter()
                    .filter_map(|b| b.pointer("/properties/kind/const").map(value_words))
                    .collect()
            })
            .unwrap_or_default();
        let key = root.pointer(pointer).and_then(|(_, k)| k);
        let span = key.map_or(Span::point(node.span.start()), |k| k.span);
        out.push(
            Diagnostic::error(Code::MissingKey, "missing key `kind`")
                .label(span, "what kind of component is this?")
                .help(format!("add `kind:` with one of {}", diag::one_of(&kinds))),
        );
        return;
    }
    // An enum whose values carry descriptions is a `oneOf` of constants.
    let constants: Option<Vec<String>> = branches
        .iter()
        .map(|errors| match errors.as_slice() {
            [e] if e.instance_path().as_str() == pointer => match e.kind() {
                ValidationErrorKind::Constant { expected_value } => {
                    Some(value_words(expected_value))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    if let Some(allowed) = constants.filter(|c| !c.is_empty()) {
        out.push(not_allowed(node, pointer, &allowed));
        return;
    }
    // Tagged by `kind`: the branch whose `kind` matched is the one meant.
    if let (NodeKind::Map(_), Some(kind)) = (&node.kind, node.get("kind")) {
        let kind_pointer = format!("{pointer}/kind");
        let mismatched = |errors: &Vec<ValidationError<'static>>| {
            errors
                .iter()
                .any(|e| e.instance_path().as_str() == kind_pointer)
        };
        let meant: Vec<_> = branches.iter().filter(|b| !mismatched(b)).collect();
        if let [errors] = meant.as_slice() {
            for e in *errors {
                map_error(e, root, out);
            }
            return;
        }
        let kinds: Vec<String> = branches
            .iter()
            .flatten()
            .filter(|e| e.instance_path().as_str() == kind_pointer)
            .filter_map(|e| match e.kind() {
                ValidationErrorKind::Constant { expected_value } => {
                    Some(value_words(expected_value))
                }
                _ => None,
            })
            .collect();
        if !kinds.is_empty() {
            out.push(not_allowed(kind, &kind_pointer, &kinds));
            return;
        }
    }
    // Chosen by shape: the branch whose type matched is the one meant.
    let wrong_shape = |errors: &Vec<ValidationError<'static>>| {
        errors.iter().any(|e| {
            e.instance_path().as_str() == pointer
                && matches!(e.kind(), ValidationErrorKind::Type { .. })
        })
    };
    let meant: Vec<_> = branches.iter().filter(|b| !wrong_shape(b)).collect();
    if let [errors] = meant.as_slice() {
        for e in *errors {
            map_error(e, root, out);
        }
        return;
    }
    let mut expected: Vec<&'static str> = branches
        .iter()
        .flatten()
        .filter(|e| e.instance_path().as_str() == pointer)
        .filter_map(|e| match e.kind() {
            ValidationErrorKind::Type { kind } => Some(describe_types(kind)),
            _ => None,
        })
        .flatten()
        .collect();
    expected.sort_unstable();
    expected.dedup();
    if meant.is_empty() && !expected.is_empty() {
        let in_a_list = pointer
            .rsplit('/')
            .next()
            .is_some_and(|s| s.parse::<usize>().is_ok());
        out.push(wrong_type(node, &expected, !in_a_list));
        return;
    }
    // Several branches fit the shape: report what the first of them found.
    if let Some(errors) = meant.first() {
        for e in *errors {
            map_error(e, root, out);
        }
    }
}
