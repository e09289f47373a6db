//! The typed side of the dataflow: `messages.rs` (a struct per entity that flows, an enum per
//! enum field, an enum per component with several ports on one side), the logic traits of
//! sources, transformers and sinks in `hooks.rs`, and the seeds of their logic files.
//!
//! Everything here is written as rustfmt writes it: `cargo fmt` in the service must not look
//! like a hand edit.

use super::{camel, header, lit};
use crate::ir::{Component, ComponentKind, DEAD_LETTER_PORT, Field, FieldType, Ingest, Ir, Port};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Rust's keywords: a field of that name is written as a raw identifier.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Names the generated code uses next to the message types: an entity or enum may not take
/// one.
const RESERVED: &[&str] = crate::names::RUST_RESERVED_TYPES;

/// A Rust type or variant name for `text` (a field, port or component name, an enum value):
/// its words in PascalCase, ASCII only, never starting with a digit, never `Self`.
fn ident(text: &str) -> String {
    let words: Vec<String> = crate::names::words(text)
        .into_iter()
        .map(|w| {
            w.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let mut name = crate::names::pascal(&words);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'V');
    }
    if name == "Self" {
        name.push('_');
    }
    name
}

/// Keywords that cannot be raw identifiers.
const PATH_KEYWORDS: &[&str] = &["crate", "self", "super"];

/// What a component with logic looks like to its logic: the type it takes and the type it
/// hands on, as named in `messages.rs`.
pub struct Shapes {
    /// By component name: the input type (transformers, sinks).
    pub input: BTreeMap<String, String>,
    /// By component name: the output type (sources, transformers).
    pub output: BTreeMap<String, String>,
}

/// The ports a component's logic sees: all but the dead-letter port, which is the runtime's.
fn logic_outputs(c: &Component) -> Vec<&Port> {
    c.outputs
        .iter()
        .filter(|p| p.name != DEAD_LETTER_PORT)
        .collect()
}

/// Whether a component has a logic file: apis, transformers, sinks, and sources that run
/// their own loop.
pub fn has_logic(kind: &ComponentKind) -> bool {
    matches!(
        kind,
        ComponentKind::Api { .. }
            | ComponentKind::Transformer
            | ComponentKind::Sink { .. }
            | ComponentKind::Source {
                ingest: Ingest::Logic,
                ..
            }
    )
}

fn in_dataflow(c: &Component) -> bool {
    !matches!(c.kind, ComponentKind::Api { .. })
}

/// A field's name in Rust, and the `rename` it needs if that differs.
fn field_ident(name: &str) -> (String, Option<&str>) {
    if PATH_KEYWORDS.contains(&name) {
        (format!("{name}_"), Some(name))
    } else if KEYWORDS.contains(&name) {
        (format!("r#{name}"), None)
    } else {
        (name.to_owned(), None)
    }
}

/// The Rust type of a field's values (without `Option`).
fn rust_type(ir: &Ir, ty: &FieldType, enum_name: &str) -> String {
    match ty {
        FieldType::Uuid => "uuid::Uuid".into(),
        FieldType::String { .. } => "String".into(),
        FieldType::Int { bits } => format!("i{bits}"),
        FieldType::Decimal { .. } => "Decimal".into(),
        FieldType::Float { bits } => format!("f{bits}"),
        FieldType::Bool => "bool".into(),
        FieldType::Timestamp => "chrono::DateTime<chrono::Utc>".into(),
        FieldType::Datetime => "chrono::NaiveDateTime".into(),
        FieldType::Date => "chrono::NaiveDate".into(),
        FieldType::Time => "chrono::NaiveTime".into(),
        FieldType::Json => "serde_json::Value".into(),
        FieldType::Bytes => "Bytes".into(),
        FieldType::Enum { .. } => enum_name.to_owned(),
        FieldType::List { item } => format!("Vec<{}>", rust_type(ir, item, enum_name)),
        FieldType::Ref { entity } => rust_type(
            ir,
            super::key_type(ir, &ir.entities[entity.id()]),
            enum_name,
        ),
    }
}

/// The values of an enum field, if it is one (or a list of one).
fn enum_values(ty: &FieldType) -> Option<&[String]> {
    match ty {
        FieldType::Enum { values } => Some(values),
        FieldType::List { item } => enum_values(item),
        _ => None,
    }
}

/// Whether a message may leave the field out: the database or the service fills it.
fn optional(field: &Field) -> bool {
    field.nullable || field.default.is_some() || field.identity
}

/// The entities that flow (on a port of a component with logic, or at an end of a flow), in
/// the order the components name them.
fn flowing(ir: &Ir) -> Vec<&crate::ir::Entity> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let in_flow = |c: &Component| {
        has_logic(&c.kind)
            || ir
                .flows
                .values()
                .any(|f| f.from.component.name == c.name || f.to.component.name == c.name)
    };
    for c in ir
        .components
        .values()
        .filter(|c| in_dataflow(c) && in_flow(c))
    {
        for port in c.inputs.iter().chain(&c.outputs) {
            if seen.insert(port.entity.name.as_str()) {
                out.push(&ir.entities[port.entity.id()]);
            }
        }
    }
    out
}

/// `messages.rs`, and the types each component's logic takes and hands on. Errs when two of
/// the types would have one name.
pub fn messages(ir: &Ir) -> Result<(String, Shapes), String> {
    let entities = flowing(ir);
    // Every type name, and what it is for, to refuse a clash.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let claim = |names: &mut BTreeMap<String, String>,
                 name: String,
                 what: String|
     -> Result<String, String> {
        if let Some(other) = names.get(&name) {
            return Err(format!(
                "the service would have two types named `{name}`: {other} and {what}; rename one of them"
            ));
        }
        names.insert(name.clone(), what);
        Ok(name)
    };
    for name in RESERVED {
        names.insert(
            (*name).to_owned(),
            format!("the Rust type `{name}` the generated code uses"),
        );
    }
    for entity in &entities {
        claim(
            &mut names,
            entity.name.clone(),
            format!("entity `{}`", entity.name),
        )?;
    }
    // An enum field's type: named after the field when every enum field of that name has
    // the same values (so that `Event.kind` and `RawEvent.kind` are one type and a
    // transformer copies it as it is), after the entity and the field otherwise.
    let mut by_field: BTreeMap<String, BTreeSet<&[String]>> = BTreeMap::new();
    for entity in &entities {
        for field in &entity.fields {
            if let Some(values) = enum_values(super::stored(ir, &field.ty)) {
                by_field
                    .entry(ident(&field.name))
                    .or_default()
                    .insert(values);
            }
        }
    }
    let enum_name_of = |entity: &str, field: &str| {
        let short = ident(field);
        let shared = by_field.get(&short).is_some_and(|v| v.len() == 1)
            && !entities.iter().any(|e| e.name == short)
            && !RESERVED.contains(&short.as_str());
        if shared {
            short
        } else {
            format!("{entity}{short}")
        }
    };
    let mut written = BTreeSet::new();
    let mut structs = String::new();
    let mut enums = String::new();
    for entity in &entities {
        let _ = write!(
            structs,
            "\n/// {}\n#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\npub struct {} {{\n",
            entity.description.as_deref().map_or_else(
                || format!("Entity `{}`.", entity.name),
                |d| d.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
            entity.name
        );
        for field in &entity.fields {
            let enum_name = enum_name_of(&entity.name, &field.name);
            // A shared enum is written once, with its first field.
            if let Some(values) = enum_values(super::stored(ir, &field.ty))
                .filter(|_| written.insert(enum_name.clone()))
            {
                let enum_name = claim(
                    &mut names,
                    enum_name.clone(),
                    format!("the values of `{}.{}`", entity.name, field.name),
                )?;
                let variants: Vec<String> = values.iter().map(|v| ident(v)).collect();
                let distinct: BTreeSet<&String> = variants.iter().collect();
                if distinct.len() != variants.len() {
                    return Err(format!(
                        "two values of `{}.{}` would be one Rust variant; rename one",
                        entity.name, field.name
                    ));
                }
                let _ = write!(
                    enums,
                    "\n/// The values of `{}.{}`{}.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]\npub enum {enum_name} {{\n",
                    entity.name,
                    field.name,
                    if enum_name == ident(&field.name) {
                        ", and of every field of that name"
                    } else {
                        ""
                    }
                );
                for (value, variant) in values.iter().zip(&variants) {
                    let _ = write!(
                        enums,
                        "    #[serde(rename = {})]\n    {variant},\n",
                        lit(value)
                    );
                }
                enums.push_str("}\n");
            }
            let ty = rust_type(ir, &field.ty, &enum_name);
            let (ident, rename) = field_ident(&field.name);
            let _ = writeln!(
                structs,
                "    /// `{}`{}",
                field.ty.spec_text(),
                field_note(field)
            );
            if let Some(name) = rename {
                let _ = writeln!(structs, "    #[serde(rename = {})]", lit(name));
            }
            if field.nullable && field.default.is_some() {
                // Left out, null, or a value: three cases, so two `Option`s.
                structs.push_str(
                    "    #[serde(\n        default,\n        skip_serializing_if = \"Option::is_none\",\n        with = \"super::typed::double_option\"\n    )]\n",
                );
                let _ = writeln!(structs, "    pub {ident}: Option<Option<{ty}>>,");
            } else if optional(field) {
                structs
                    .push_str("    #[serde(default, skip_serializing_if = \"Option::is_none\")]\n");
                let _ = writeln!(structs, "    pub {ident}: Option<{ty}>,");
            } else {
                let _ = writeln!(structs, "    pub {ident}: {ty},");
            }
        }
        let _ = write!(structs, "}}\n\nimpl Entity for {} {{}}\n", entity.name);
    }

    // Port enums: a component with several ports on one side.
    let mut ports = String::new();
    let mut shapes = Shapes {
        input: BTreeMap::new(),
        output: BTreeMap::new(),
    };
    for c in ir
        .components
        .values()
        .filter(|c| in_dataflow(c) && has_logic(&c.kind))
    {
        let outputs = logic_outputs(c);
        let sides: [(&str, Vec<&Port>, bool); 2] = [
            ("Input", c.inputs.iter().collect(), true),
            ("Output", outputs, false),
        ];
        for (side, list, input) in sides {
            let ty = match list.as_slice() {
                [] => continue,
                [one] => one.entity.name.clone(),
                several => {
                    let name = claim(
                        &mut names,
                        format!("{}{side}", ident(&c.name)),
                        format!(
                            "the {} ports of {} `{}`",
                            side.to_ascii_lowercase(),
                            c.kind_name(),
                            c.name
                        ),
                    )?;
                    let verb = if input { "takes" } else { "hands on" };
                    let _ = write!(
                        ports,
                        "\n/// What {} `{}` {verb}: a variant per port.\n#[derive(Debug, Clone, PartialEq)]\npub enum {name} {{\n",
                        c.kind_name(),
                        c.name
                    );
                    for p in several {
                        let _ = write!(
                            ports,
                            "    /// Port `{}`.\n    {}({}),\n",
                            p.name,
                            ident(&p.name),
                            p.entity.name
                        );
                    }
                    let arms: Vec<String> = several
                        .iter()
                        .map(|p| format!("{} = {}", ident(&p.name), lit(&p.name)))
                        .collect();
                    let _ = write!(
                        ports,
                        "}}\n\nports! {{ {name} {{ {} }} }}\n",
                        arms.join(", ")
                    );
                    name
                }
            };
            if input {
                shapes.input.insert(c.name.clone(), ty);
            } else {
                shapes.output.insert(c.name.clone(), ty);
            }
        }
    }

    let mut out = header("//");
    out.push_str(
        "//! The messages of the dataflow: a struct per entity that flows, and an enum for each\n\
         //! component with several ports on one side. A field the database or the service fills\n\
         //! (a default, a nullable field, an identity) is an `Option`: `None` leaves it out. Every\n\
         //! message is checked against its entity when handed on.\n\n",
    );
    let mut runtime = vec!["Bytes", "Decimal", "Entity"];
    if !ports.is_empty() {
        runtime.push("ports");
    }
    // As rustfmt sorts a use list: lower case first.
    runtime.sort_unstable_by_key(|n| (n.starts_with(char::is_uppercase), *n));
    let _ = writeln!(out, "use super::typed::{{{}}};", runtime.join(", "));
    out.push_str("use serde::{Deserialize, Serialize};\n");
    out.push_str(&structs);
    out.push_str(&enums);
    out.push_str(&ports);
    Ok((out, shapes))
}

fn field_note(field: &Field) -> &'static str {
    if field.nullable && field.default.is_some() {
        ", nullable with a default: `None` leaves it out, `Some(None)` is null"
    } else if field.identity {
        ", numbered by the database"
    } else if field.default.is_some() {
        ", filled with its default when left out"
    } else if field.nullable {
        ", nullable"
    } else {
        ""
    }
}

/// The logic traits of sources, transformers and sinks in `hooks.rs`, and the table the
/// dataflow calls them by in `dispatch.rs`.
pub fn hooks(ir: &Ir, shapes: &Shapes) -> (String, String) {
    let mut out = String::new();
    let mut tables = String::new();
    let mut runs = Vec::new();
    let mut transforms = Vec::new();
    let mut delivers = Vec::new();
    let typed = |map: &BTreeMap<String, String>, name: &str| {
        format!("m::{}", map.get(name).map_or("", String::as_str))
    };
    for c in ir.components.values() {
        let name = &c.name;
        let trait_name = format!("{}Logic", camel(name));
        let module = format!("super::logic_{name}::Logic");
        match &c.kind {
            ComponentKind::Source {
                ingest: Ingest::Logic,
                ..
            } => {
                let output = typed(&shapes.output, name);
                let _ = write!(
                    out,
                    "\n/// The logic of source `{name}`: its loop, on a thread of its own. `out.emit` waits while\n\
                     /// the flow is full, and refuses once the service is stopping, when `run` should return.\n\
                     /// By default it emits nothing.\n\
                     pub trait {trait_name} {{\n{}\n        out.wait_for_stop();\n        Ok(())\n    }}\n}}\n",
                    super::signature(
                        "    ",
                        "run",
                        &["&self", &format!("out: &Emitter<{output}>")],
                        "Result<(), String>"
                    )
                );
                runs.push(super::arm(
                    &lit(name),
                    &format!("{module}.run(&Emitter::new(feed))"),
                ));
            }
            ComponentKind::Transformer => {
                let input = typed(&shapes.input, name);
                let output = typed(&shapes.output, name);
                let _ = write!(
                    out,
                    "\n/// The logic of transformer `{name}`: zero, one or many outputs per input. An `Err`, a\n\
                     /// panic or an invalid output sends the input to the dead-letter sink if the spec names\n\
                     /// one, and drops it otherwise. By default each output gets the input's fields its\n\
                     /// entity has.\n\
                     pub trait {trait_name} {{\n{}\n{}\n    }}\n}}\n",
                    super::signature(
                        "    ",
                        "transform",
                        &["&self", &format!("input: {input}")],
                        &format!("Result<Vec<{output}>, String>")
                    ),
                    super::call(
                        "        ",
                        "pass_through",
                        &[&format!("super::system::node({})", lit(name)), "input"]
                    )
                );
                transforms.push(super::arm(
                    &lit(name),
                    &format!("transform_with(node, port, input, |i| {module}.transform(i))"),
                ));
            }
            ComponentKind::Sink { .. } => {
                let input = typed(&shapes.input, name);
                let _ = write!(
                    out,
                    "\n/// The logic of sink `{name}`: deliver a message (a webhook, an e-mail…). An `Err` or a\n\
                     /// panic counts as a failed delivery, and sends the message to the dead-letter sink if\n\
                     /// the spec names one. By default it writes a structured log line.\n\
                     pub trait {trait_name} {{\n{}\n        tracing::info!(sink = {}, message = %json(message), \"delivered\");\n        Ok(())\n    }}\n}}\n",
                    super::signature(
                        "    ",
                        "deliver",
                        &["&self", &format!("message: &{input}")],
                        "Result<(), String>"
                    ),
                    lit(name)
                );
                delivers.push(super::arm(
                    &lit(name),
                    &format!("deliver_with(port, message, |x| {module}.deliver(x))"),
                ));
            }
            _ => {}
        }
    }
    let dispatch = |out: &mut String, sig: &str, arms: &[String], default: &str, unused: &str| {
        let _ = writeln!(out, "\n{sig}");
        if arms.is_empty() {
            let _ = writeln!(out, "    {unused}\n    {default}\n}}");
        } else {
            out.push_str("    match node.name {\n");
            for a in arms {
                let _ = writeln!(out, "{a}");
            }
            let _ = writeln!(out, "        _ => {default},\n    }}\n}}");
        }
    };
    dispatch(
        &mut tables,
        "fn run(node: &Node, feed: Arc<Feed>) -> Result<(), String> {",
        &runs,
        "Ok(())",
        "let _ = (node, feed);",
    );
    dispatch(
        &mut tables,
        "fn transform(node: &Node, port: &'static str, input: Record) -> Result<Outputs, String> {",
        &transforms,
        "super::flow::pass_through(node, input)",
        "let _ = port;",
    );
    dispatch(
        &mut tables,
        "fn deliver(node: &Node, port: &'static str, message: &Record) -> Result<(), String> {",
        &delivers,
        "Ok(())",
        "let _ = (node, port, message);",
    );
    tables.push_str(
        "\npub static DATAFLOW: Logic = Logic {\n    transform,\n    deliver,\n    run,\n};\n",
    );
    (out, tables)
}

/// The logic file of a source, transformer or sink: written once, never overwritten.
pub fn seed(c: &Component, shapes: &Shapes) -> Option<String> {
    let name = &c.name;
    let trait_name = format!("{}Logic", camel(name));
    let input = shapes.input.get(name).map(String::as_str);
    let output = shapes.output.get(name).map(String::as_str);
    let (what, example, mut types) = match &c.kind {
        ComponentKind::Source {
            ingest: Ingest::Logic,
            ..
        } => (
            "source",
            format!(
                "fn run(&self, out: &Emitter<{0}>) -> Result<(), String> {{\n\
                 //!     while out.sleep(std::time::Duration::from_secs(1)) {{\n\
                 //!         let message: {0} = todo!(\"poll, read or make one\");\n\
                 //!         out.emit(message).map_err(|e| e.to_string())?;\n\
                 //!     }}\n\
                 //!     Ok(())\n\
                 //! }}",
                output?
            ),
            vec![trait_name.as_str(), "Emitter", output?],
        ),
        ComponentKind::Transformer => (
            "transformer",
            format!(
                "fn transform(&self, input: {}) -> Result<Vec<{}>, String> {{ … }}",
                input?, output?
            ),
            vec![trait_name.as_str(), input?, output?],
        ),
        ComponentKind::Sink { .. } => (
            "sink",
            format!(
                "fn deliver(&self, message: &{}) -> Result<(), String> {{ … }}",
                input?
            ),
            vec![trait_name.as_str(), input?],
        ),
        _ => return None,
    };
    types.sort_unstable();
    types.dedup();
    // The trait and the runtime's names from hooks, the messages from messages; `hooks`
    // sorts before `messages`, as rustfmt orders the two lines.
    let (hooks, messages): (Vec<&str>, Vec<&str>) = types
        .iter()
        .partition(|t| **t == trait_name || **t == "Emitter");
    let uses = [
        super::use_list("crate::generated::hooks", &hooks),
        super::use_list("crate::generated::messages", &messages),
    ];
    Some(format!(
        "//! The logic of {what} `{name}`. v5c wrote this file once and never touches it again: it is yours.\n\
         //! Override the method of `{trait_name}` (see src/generated/hooks.rs; the message types are\n\
         //! in src/generated/messages.rs):\n\
         //!\n\
         //! ```ignore\n\
         //! {example}\n\
         //! ```\n\n\
         #[allow(unused_imports)]\n\
         {}\n\n\
         pub struct Logic;\n\n\
         impl {trait_name} for Logic {{}}\n",
        uses.join("\n#[allow(unused_imports)]\n")
    ))
}
