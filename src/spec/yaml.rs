//! YAML parsed into a tree that keeps the span of every key and value.
//!
//! Plain scalars are resolved by the YAML 1.2 core schema (so `no` and `on` are text, never
//! booleans); duplicate keys, complex keys, custom tags, several documents and runaway alias
//! expansion are errors. Nesting is limited so that everything that walks the tree recursively
//! is safe on any input.

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use rustc_hash::FxHashMap;
use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

/// Deeper nesting than this is refused; no spec needs a tenth of it.
const MAX_DEPTH: usize = 64;
/// Alias expansion may not make the document larger than this many nodes.
const MAX_NODES: usize = 2_000_000;

/// The arena a tree lives in; [`parse`] fills it.
pub type Arena = bumpalo::Bump;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Node<'a> {
    /// For text scalars: the span of the text itself (inside the quotes) when the source
    /// holds the value character for character, so that a position inside the value maps to
    /// a position in the file; otherwise the whole scalar. See [`Node::value_offset_span`].
    pub span: Span,
    pub kind: NodeKind<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NodeKind<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text, with the text as the parser read it (so `1e3` stays `1e3` when quoted).
    Str(&'a str),
    Seq(&'a [Node<'a>]),
    Map(&'a [(Key<'a>, Node<'a>)]),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Key<'a> {
    pub text: &'a str,
    pub span: Span,
}

impl<'a> Node<'a> {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "text",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn key(&self, key: &str) -> Option<&Key<'a>> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(k, _)| k),
            _ => None,
        }
    }

    /// The node a JSON pointer (`/entities/Order/fields/0`) names, and the key that leads to
    /// it when its parent is a mapping.
    pub fn pointer(&self, pointer: &str) -> Option<(&Node<'a>, Option<&Key<'a>>)> {
        let mut node = self;
        let mut key = None;
        for raw in pointer.split('/').skip(1) {
            let segment = raw.replace("~1", "/").replace("~0", "~");
            match &node.kind {
                NodeKind::Map(entries) => {
                    let (k, v) = entries.iter().find(|(k, _)| k.text == segment)?;
                    node = v;
                    key = Some(k);
                }
                NodeKind::Seq(items) => {
                    node = items.get(segment.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((node, key))
    }

    /// The value as JSON, for schema validation. Non-finite numbers, which JSON cannot hold,
    /// become text so that the schema reports them as the wrong type.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Value::String(f.to_string()), Value::Number),
            NodeKind::Str(s) => Value::String((*s).to_owned()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.text.to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses one YAML document. `Ok(None)` for a file with no document at all.
pub fn parse<'a>(text: &str, arena: &'a Arena) -> Result<Option<Node<'a>>, Diagnostic> {
    let offsets = CharOffsets::new(text);
    let mut builder = Builder {
        text,
        arena,
        stack: Vec::new(),
        anchors: FxHashMap::default(),
        nodes: 0,
        root: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(event) = parser.next_event() {
        match event {
            Ok((event, span)) => {
                let span = offsets.span(span);
                if builder.event(event, span)? {
                    break;
                }
            }
            Err(e) => {
                let at = offsets.byte(e.marker().index());
                if e.info().contains("recursion limit") {
                    return Err(Diagnostic::error(
                        Code::UnsupportedYaml,
                        format!("the document nests deeper than {MAX_DEPTH} levels"),
                    )
                    .label(Span::point(at), "too deep"));
                }
                return Err(Diagnostic::error(Code::YamlSyntax, yaml_message(e.info()))
                    .label(Span::point(at), "here"));
            }
        }
    }
    Ok(builder.root)
}

fn yaml_message(info: &str) -> String {
    // The scanner's messages are terse but accurate ("mapping values are not allowed in this
    // context"); keep them, and say what kind of error it is.
    let info = info.trim();
    let mut message = format!("invalid YAML: {info}");
    if info.contains("mapping values are not allowed") {
        message.push_str(" (a `:` inside an unquoted value: quote the value)");
    } else if info.contains("tab") {
        message.push_str(" (YAML indents with spaces, never tabs)");
    }
    message
}

/// Saphyr counts positions in characters; diagnostics need byte offsets.
struct CharOffsets {
    /// Byte offset of each character, or empty when the text is ASCII (offsets are equal).
    bytes: Vec<usize>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let bytes = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        CharOffsets {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.bytes.is_empty() {
            char_index.min(self.len)
        } else {
            self.bytes.get(char_index).copied().unwrap_or(self.len)
        }
    }

    fn span(&self, span: saphyr_parser::Span) -> Span {
        let start = self.byte(span.start.index());
        let end = self.byte(span.end.index()).max(start);
        Span::new(start, end)
    }
}

enum Frame<'a> {
    Seq {
        start: Span,
        anchor: usize,
        items: Vec<Node<'a>>,
    },
    Map {
        start: Span,
        anchor: usize,
        entries: Vec<(Key<'a>, Node<'a>)>,
        pending_key: Option<Key<'a>>,
        /// Key → entry, once the mapping is large enough for scanning to cost more.
        index: Option<FxHashMap<&'a str, usize>>,
    },
}

/// Mappings with more keys than this look up duplicates in a hash map, not by scanning.
const INDEXED_MAP: usize = 16;

struct Builder<'t, 'a> {
    text: &'t str,
    arena: &'a Arena,
    stack: Vec<Frame<'a>>,
    anchors: FxHashMap<usize, Node<'a>>,
    nodes: usize,
    root: Option<Node<'a>>,
    documents: usize,
}

impl<'a> Builder<'_, 'a> {
    /// Handles one event; `Ok(true)` when the document is complete.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<bool, Diagnostic> {
        match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::StreamEnd => return Ok(true),
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Diagnostic::error(
                        Code::UnsupportedYaml,
                        "a spec file holds one YAML document, but a second one starts here",
                    )
                    .label(span, "second document")
                    .help("remove the `---` line, or split the file"));
                }
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id).copied() else {
                    return Err(Diagnostic::error(Code::UnsupportedYaml, "unknown alias")
                        .label(span, "this alias has no anchor"));
                };
                self.count(count_nodes(&node), span)?;
                self.push_node(node)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                self.count(1, span)?;
                let node = self.scalar(&value, style, tag.as_deref(), span)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, node);
                }
                self.push_node(node)?;
            }
            Event::SequenceStart(anchor, tag) => {
                Self::collection_tag(tag.as_deref(), "seq", span)?;
                self.open(span)?;
                self.stack.push(Frame::Seq {
                    start: span,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, tag) => {
                Self::collection_tag(tag.as_deref(), "map", span)?;
                self.open(span)?;
                self.stack.push(Frame::Map {
                    start: span,
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                    index: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq {
                        start,
                        anchor,
                        items,
                    }) => {
                        let end = items.last().map_or(start, |n| n.span);
                        (
                            anchor,
                            Node {
                                span: start.join(end).join(span),
                                kind: NodeKind::Seq(self.arena.alloc_slice_copy(&items)),
                            },
                        )
                    }
                    Some(Frame::Map {
                        start,
                        anchor,
                        entries,
                        ..
                    }) => {
                        let end = entries.last().map_or(start, |(_, n)| n.span);
                        (
                            anchor,
                            Node {
                                span: start.join(end).join(span),
                                kind: NodeKind::Map(self.arena.alloc_slice_copy(&entries)),
                            },
                        )
                    }
                    None => return Ok(false),
                };
                self.count(1, span)?;
                if node.0 != 0 {
                    self.anchors.insert(node.0, node.1);
                }
                self.push_node(node.1)?;
            }
        }
        Ok(false)
    }

    fn open(&self, span: Span) -> Result<(), Diagnostic> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Diagnostic::error(
                Code::UnsupportedYaml,
                format!("the document nests deeper than {MAX_DEPTH} levels"),
            )
            .label(span, "too deep"));
        }
        if let Some(Frame::Map {
            pending_key: None, ..
        }) = self.stack.last()
        {
            return Err(Diagnostic::error(
                Code::UnsupportedYaml,
                "a mapping key must be a plain word, not a list or a mapping",
            )
            .label(span, "complex key"));
        }
        Ok(())
    }

    fn count(&mut self, nodes: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::error(
                Code::UnsupportedYaml,
                "aliases expand the document to more than two million values",
            )
            .label(span, "expansion stops here"));
        }
        Ok(())
    }

    fn push_node(&mut self, node: Node<'a>) -> Result<(), Diagnostic> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                index,
                ..
            }) => match pending_key.take() {
                Some(key) => {
                    if let Some(index) = index {
                        index.insert(key.text, entries.len());
                    } else if entries.len() == INDEXED_MAP {
                        let mut map: FxHashMap<&'a str, usize> = entries
                            .iter()
                            .enumerate()
                            .map(|(i, (k, _))| (k.text, i))
                            .collect();
                        map.insert(key.text, entries.len());
                        *index = Some(map);
                    }
                    entries.push((key, node));
                }
                None => {
                    let key_span = node.span;
                    let text: &'a str = match node.kind {
                        NodeKind::Str(s) => s,
                        NodeKind::Int(i) => self.arena.alloc_str(&i.to_string()),
                        NodeKind::Bool(b) => {
                            if b {
                                "true"
                            } else {
                                "false"
                            }
                        }
                        NodeKind::Float(_) | NodeKind::Null => {
                            return Err(Diagnostic::error(
                                Code::UnsupportedYaml,
                                "a mapping key must be a word or a whole number",
                            )
                            .label(key_span, "this key"));
                        }
                        NodeKind::Seq(_) | NodeKind::Map(_) => {
                            return Err(Diagnostic::error(
                                Code::UnsupportedYaml,
                                "a mapping key must be a plain word, not a list or a mapping",
                            )
                            .label(key_span, "complex key"));
                        }
                    };
                    let earlier = match index {
                        Some(index) => index.get(text).map(|&i| &entries[i]),
                        None => entries.iter().find(|(k, _)| k.text == text),
                    };
                    if text == "<<" {
                        return Err(Diagnostic::error(
                            Code::UnsupportedYaml,
                            "YAML merge keys (`<<`) are not supported in a spec",
                        )
                        .label(key_span, "merge key")
                        .help("write the keys out; an alias (`*name`) may still stand for a whole value"));
                    }
                    if let Some((first, _)) = earlier {
                        return Err(Diagnostic::error(
                            Code::DuplicateKey,
                            format!("duplicate key `{text}`"),
                        )
                        .label(key_span, "second definition")
                        .label(first.span, "first defined here")
                        .help("remove one of them; YAML readers disagree on which one wins"));
                    }
                    *pending_key = Some(Key {
                        text,
                        span: key_span,
                    });
                }
            },
        }
        Ok(())
    }

    fn collection_tag(tag: Option<&Tag>, expected: &str, span: Span) -> Result<(), Diagnostic> {
        match tag {
            None => Ok(()),
            Some(t) if t.is_yaml_core_schema() && t.suffix == expected => Ok(()),
            Some(t) => Err(unsupported_tag(t, span)),
        }
    }

    fn scalar(
        &self,
        value: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<Node<'a>, Diagnostic> {
        let text = |value: &str| NodeKind::Str(self.arena.alloc_str(value));
        let text_span = self.text_span(value, style, span);
        let kind = match tag {
            None if style == ScalarStyle::Plain => {
                resolve_plain(value).unwrap_or_else(|| text(value))
            }
            None => text(value),
            Some(t) if t.is_yaml_core_schema() => {
                let resolved = resolve_plain(value).unwrap_or(NodeKind::Str(""));
                match (t.suffix.as_str(), resolved) {
                    ("str", _) => text(value),
                    ("null", k @ NodeKind::Null)
                    | ("bool", k @ NodeKind::Bool(_))
                    | ("int", k @ NodeKind::Int(_))
                    | ("float", k @ NodeKind::Float(_)) => k,
                    ("float", NodeKind::Int(i)) => {
                        #[allow(clippy::cast_precision_loss)] // as YAML itself would read it
                        NodeKind::Float(i as f64)
                    }
                    _ => {
                        return Err(Diagnostic::error(
                            Code::UnsupportedYaml,
                            format!("`{value}` is not a valid `!!{}`", t.suffix),
                        )
                        .label(span, "tagged value"));
                    }
                }
            }
            Some(t) => return Err(unsupported_tag(t, span)),
        };
        let span = if matches!(kind, NodeKind::Str(_)) {
            text_span
        } else {
            span
        };
        Ok(Node { span, kind })
    }

    /// The span of the scalar's text in the source when the source holds it verbatim.
    fn text_span(&self, value: &str, style: ScalarStyle, span: Span) -> Span {
        // In flow collections the parser's span of a quoted scalar runs on over the blanks
        // after the closing quote.
        let mut span = span;
        if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) {
            let bytes = self.text.as_bytes();
            while span.end() > span.start()
                && bytes
                    .get(span.end() - 1)
                    .is_some_and(u8::is_ascii_whitespace)
            {
                span = Span::new(span.start(), span.end() - 1);
            }
        }
        let inner = match style {
            ScalarStyle::Plain => span,
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if span.len() >= 2 => {
                span.subspan(1..span.len() - 1)
            }
            _ => return span,
        };
        if inner.len() == value.len() {
            inner
        } else {
            span
        }
    }
}

fn unsupported_tag(tag: &Tag, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::UnsupportedYaml,
        format!("the tag `{tag}` has no meaning in a spec"),
    )
    .label(span, "tagged value")
    .help("remove the tag and write the value plainly")
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.kind {
        NodeKind::Seq(items) => items.iter().map(count_nodes).sum(),
        NodeKind::Map(entries) => entries.iter().map(|(_, v)| 1 + count_nodes(v)).sum(),
        _ => 0,
    }
}

/// Whether unquoted `text` would read as a number or a boolean.
pub fn looks_like_number_or_bool(text: &str) -> bool {
    matches!(
        resolve_plain(text),
        Some(NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_))
    )
}

/// YAML 1.2 core schema resolution of a plain scalar; `None` for text.
fn resolve_plain(value: &str) -> Option<NodeKind<'static>> {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return Some(NodeKind::Null),
        "true" | "True" | "TRUE" => return Some(NodeKind::Bool(true)),
        "false" | "False" | "FALSE" => return Some(NodeKind::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(NodeKind::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(NodeKind::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(NodeKind::Float(f64::NAN)),
        _ => {}
    }
    if let Some(hex) = value.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Some(NodeKind::Int(i));
        }
    }
    if let Some(oct) = value.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Some(NodeKind::Int(i));
        }
    }
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match value.parse::<i64>() {
            Ok(i) => Some(NodeKind::Int(i)),
            Err(_) => value.parse::<f64>().ok().map(NodeKind::Float),
        };
    }
    if is_core_float(digits) {
        return value.parse::<f64>().ok().map(NodeKind::Float);
    }
    None
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            !(int.is_empty() && frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // values compared are exact by construction
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Node<'static> {
        let arena = Box::leak(Box::new(Arena::new()));
        parse(text, arena).expect("valid yaml").expect("a document")
    }

    #[test]
    fn core_schema_scalars() {
        assert_eq!(resolve_plain("no"), None);
        assert_eq!(resolve_plain("on"), None);
        assert_eq!(resolve_plain("0.1.0"), None);
        assert_eq!(resolve_plain("1.0"), Some(NodeKind::Float(1.0)));
        assert_eq!(resolve_plain("-12"), Some(NodeKind::Int(-12)));
        assert_eq!(resolve_plain("1e3"), Some(NodeKind::Float(1000.0)));
        assert_eq!(resolve_plain("200ms"), None);
        assert_eq!(resolve_plain("~"), Some(NodeKind::Null));
        assert_eq!(resolve_plain("."), None);
        assert_eq!(
            resolve_plain("99999999999999999999"),
            Some(NodeKind::Float(1e20))
        );
    }

    #[test]
    fn spans_cover_values_and_keys() {
        let text = "a: hello\nb: 'x y'\nc: [1, 2]\n";
        let root = parse_ok(text);
        let a = root.get("a").unwrap();
        assert_eq!(&text[a.span.start()..a.span.end()], "hello");
        let b = root.get("b").unwrap();
        assert_eq!(&text[b.span.start()..b.span.end()], "x y");
        let key = root.key("c").unwrap();
        assert_eq!(&text[key.span.start()..key.span.end()], "c");
        let c = root.get("c").unwrap();
        assert_eq!(&text[c.span.start()..c.span.end()], "[1, 2]");
    }

    #[test]
    fn escaped_text_spans_the_whole_scalar() {
        let text = "a: \"x\\ty\"\n";
        let root = parse_ok(text);
        let a = root.get("a").unwrap();
        assert_eq!(a.kind, NodeKind::Str("x\ty"));
        assert_eq!(&text[a.span.start()..a.span.end()], "\"x\\ty\"");
    }

    #[test]
    fn spans_are_bytes_after_non_ascii_text() {
        let text = "é: ü\nb: ok\n";
        let root = parse_ok(text);
        let b = root.get("b").unwrap();
        assert_eq!(&text[b.span.start()..b.span.end()], "ok");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse("a: 1\nb: 2\na: 3\n", &Arena::new()).unwrap_err();
        assert_eq!(err.code, Code::DuplicateKey);
        assert_eq!(err.labels[0].span, Span::new(10, 11));
        // Large mappings look keys up in an index; duplicates are found there too.
        let many: Vec<String> = (0..40).map(|i| format!("k{i}: {i}")).collect();
        let mut text = many.join("\n");
        text.push_str("\nk3: again\n");
        let err = parse(&text, &Arena::new()).unwrap_err();
        assert_eq!(err.code, Code::DuplicateKey);
        assert_eq!(err.message, "duplicate key `k3`");
        let mut text = many.join("\n");
        text.push_str("\nk39b: fine\n");
        assert!(parse(&text, &Arena::new()).is_ok());
    }

    #[test]
    fn aliases_expand_with_a_budget() {
        use std::fmt::Write as _;
        let root = parse_ok("a: &x [1, 2]\nb: *x\n");
        assert_eq!(root.get("b").unwrap().to_json(), serde_json::json!([1, 2]));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            let _ = writeln!(bomb, "a{i}: &a{i} [{refs}]");
        }
        assert_eq!(
            parse(&bomb, &Arena::new()).unwrap_err().code,
            Code::UnsupportedYaml
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let err = parse(&text, &Arena::new()).unwrap_err();
        assert_eq!(err.code, Code::UnsupportedYaml, "{}", err.message);
    }

    #[test]
    fn pointers_find_nodes() {
        let root = parse_ok("a:\n  b: [x, {c/d: 1}]\n");
        let (node, key) = root.pointer("/a/b/1/c~1d").unwrap();
        assert_eq!(node.kind, NodeKind::Int(1));
        assert_eq!(key.unwrap().text, "c/d");
    }
}
