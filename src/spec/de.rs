//! A serde deserializer over the positioned YAML tree.
//!
//! Every error it returns carries the span of the value at fault, and [`Spanned<T>`] values
//! remember where they were written. Two enum conventions replace serde's internally tagged and
//! untagged enums, which buffer their input and would lose every span inside them:
//!
//! - an enum renamed to [`TAGGED_BY_KIND`] is read from a mapping whose `kind` key names the
//!   variant; the variant (a struct variant) gets the rest of the mapping;
//! - an enum renamed to [`BY_SHAPE`] picks its variant by the shape of the value: `text`,
//!   `integer`, `number`, `boolean`, `list` or `mapping`.
//!
//! The JSON Schema of such enums comes from `#[schemars(tag = "kind")]` and
//! `#[schemars(untagged)]`, so editors see the usual shapes.

use super::yaml::{Key, Node, NodeKind};
use crate::source::Span;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use std::fmt;

pub const TAGGED_BY_KIND: &str = "$v5c:tagged-by-kind";
pub const BY_SHAPE: &str = "$v5c:by-shape";
const SPANNED: &str = "$v5c:spanned";
const SPANNED_FIELDS: &[&str] = &["$v5c:start", "$v5c:end", "$v5c:value"];

/// A value and where it was written.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub value: T,
    /// For text, the span of the text itself when the file holds it verbatim (see
    /// [`Node::span`]); otherwise the whole value.
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl Spanned<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The span of bytes `range` of the text, when the file holds the text verbatim; the
    /// whole value otherwise (escapes or line folding break the correspondence).
    pub fn sub_span(&self, range: std::ops::Range<usize>) -> Span {
        if self.span.len() == self.value.len() {
            self.span.subspan(range)
        } else {
            self.span
        }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Spanned<T> {}
impl<T: std::hash::Hash> std::hash::Hash for Spanned<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

/// Maps keyed by `Spanned<String>` can be looked up by `&str`: both hash the text alone.
impl std::borrow::Borrow<str> for Spanned<String> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Spanned<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpannedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for SpannedVisitor<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value read from a spec")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let start = map.next_entry::<de::IgnoredAny, u32>()?.map(|e| e.1);
                let end = map.next_entry::<de::IgnoredAny, u32>()?.map(|e| e.1);
                let (Some(start), Some(end)) = (start, end) else {
                    return Err(de::Error::custom("spans are only read from a spec"));
                };
                let Some((_, value)) = map.next_entry::<de::IgnoredAny, T>()? else {
                    return Err(de::Error::custom("spans are only read from a spec"));
                };
                Ok(Spanned {
                    value,
                    span: Span { start, end },
                })
            }
        }
        deserializer.deserialize_struct(
            SPANNED,
            SPANNED_FIELDS,
            SpannedVisitor(std::marker::PhantomData),
        )
    }
}

/// A deserialisation error and the span of the value it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub message: String,
    pub span: Option<Span>,
}

impl Error {
    fn at(mut self, span: Span) -> Self {
        if self.span.is_none() {
            self.span = Some(span);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            span: None,
        }
    }
}

/// Deserialises `T` from a node.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node<'de>) -> Result<T, Error> {
    T::deserialize(NodeDeserializer(node))
}

fn shape(node: &Node<'_>) -> &'static str {
    match node.kind {
        NodeKind::Null => "null",
        NodeKind::Bool(_) => "boolean",
        NodeKind::Int(_) => "integer",
        NodeKind::Float(_) => "number",
        NodeKind::Str(_) => "text",
        NodeKind::Seq(_) => "list",
        NodeKind::Map(_) => "mapping",
    }
}

#[derive(Clone, Copy)]
struct NodeDeserializer<'de>(&'de Node<'de>);

impl NodeDeserializer<'_> {
    fn wrap<T>(self, result: Result<T, Error>) -> Result<T, Error> {
        result.map_err(|e| e.at(self.0.span))
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.0;
        let result = match &node.kind {
            NodeKind::Null => visitor.visit_unit(),
            NodeKind::Bool(b) => visitor.visit_bool(*b),
            NodeKind::Int(i) => visitor.visit_i64(*i),
            NodeKind::Float(f) => visitor.visit_f64(*f),
            NodeKind::Str(s) => visitor.visit_borrowed_str(s),
            NodeKind::Seq(items) => visitor.visit_seq(SeqAccess {
                items: items.iter(),
            }),
            NodeKind::Map(entries) => visitor.visit_map(MapAccess {
                entries: entries.iter(),
                skip: None,
                value: None,
            }),
        };
        self.wrap(result)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.kind {
            NodeKind::Null => self.wrap(visitor.visit_none()),
            _ => self.wrap(visitor.visit_some(self)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.wrap(visitor.visit_newtype_struct(self))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED {
            return visitor.visit_map(SpannedAccess {
                span: self.0.span,
                state: 0,
                value: Some(self),
            });
        }
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.0;
        let result = match (name, &node.kind) {
            (TAGGED_BY_KIND, NodeKind::Map(_)) => match node.get("kind") {
                Some(kind) => visitor.visit_enum(EnumAccess {
                    variant: VariantName::Node(kind),
                    content: node,
                    skip_kind: true,
                }),
                None => Err(de::Error::missing_field("kind")),
            },
            (TAGGED_BY_KIND, _) => Err(de::Error::invalid_type(unexpected(node), &"a mapping")),
            (BY_SHAPE, _) => visitor.visit_enum(EnumAccess {
                variant: VariantName::Shape(shape(node)),
                content: node,
                skip_kind: false,
            }),
            (_, NodeKind::Str(s)) => visitor.visit_enum((*s).into_deserializer()),
            (_, NodeKind::Map(entries)) if entries.len() == 1 => visitor.visit_enum(EnumAccess {
                variant: VariantName::Key(&entries[0].0),
                content: &entries[0].1,
                skip_kind: false,
            }),
            _ => Err(de::Error::invalid_type(unexpected(node), &"a name")),
        };
        self.wrap(result)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

fn unexpected<'n>(node: &'n Node<'_>) -> de::Unexpected<'n> {
    match &node.kind {
        NodeKind::Null => de::Unexpected::Unit,
        NodeKind::Bool(b) => de::Unexpected::Bool(*b),
        NodeKind::Int(i) => de::Unexpected::Signed(*i),
        NodeKind::Float(f) => de::Unexpected::Float(*f),
        NodeKind::Str(s) => de::Unexpected::Str(s),
        NodeKind::Seq(_) => de::Unexpected::Seq,
        NodeKind::Map(_) => de::Unexpected::Map,
    }
}

struct SeqAccess<'de> {
    items: std::slice::Iter<'de, Node<'de>>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            Some(node) => seed.deserialize(NodeDeserializer(node)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'de> {
    entries: std::slice::Iter<'de, (Key<'de>, Node<'de>)>,
    /// A key to pass over: the `kind` of a tagged enum, already used to pick the variant.
    skip: Option<&'static str>,
    value: Option<&'de Node<'de>>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for (key, value) in self.entries.by_ref() {
            if Some(key.text) == self.skip {
                continue;
            }
            self.value = Some(value);
            return seed.deserialize(KeyDeserializer(key)).map(Some);
        }
        Ok(None)
    }

    fn size_hint(&self) -> Option<usize> {
        // Maps reserve room for every entry at once, rather than growing and moving them.
        Some(self.entries.len())
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let node = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("value asked before key"))?;
        seed.deserialize(NodeDeserializer(node))
    }
}

/// Reads the synthetic mapping `{start, end, value}` that [`Spanned`] asks for; the value
/// comes from `value`, a node's or a key's deserializer.
struct SpannedAccess<D> {
    span: Span,
    state: u8,
    value: Option<D>,
}

impl<'de, D: de::Deserializer<'de, Error = Error>> de::MapAccess<'de> for SpannedAccess<D> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(&name) = SPANNED_FIELDS.get(usize::from(self.state)) else {
            return Ok(None);
        };
        seed.deserialize(name.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        self.state += 1;
        match self.state {
            1 => seed.deserialize(self.span.start.into_deserializer()),
            2 => seed.deserialize(self.span.end.into_deserializer()),
            _ => match self.value.take() {
                Some(value) => seed.deserialize(value),
                None => Err(de::Error::custom("spanned value read twice")),
            },
        }
    }
}

/// A mapping key: text with a span, which may itself be read as [`Spanned`].
struct KeyDeserializer<'de>(&'de Key<'de>);

impl<'de> de::Deserializer<'de> for KeyDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor
            .visit_borrowed_str(self.0.text)
            .map_err(|e: Error| e.at(self.0.span))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED {
            return visitor.visit_map(SpannedAccess {
                span: self.0.span,
                state: 0,
                value: Some(KeyDeserializer(self.0)),
            });
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor
            .visit_enum(self.0.text.into_deserializer())
            .map_err(|e: Error| e.at(self.0.span))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

enum VariantName<'de> {
    /// The value of a `kind` key.
    Node(&'de Node<'de>),
    /// The single key of an externally tagged mapping.
    Key(&'de Key<'de>),
    /// The shape of the value, for [`BY_SHAPE`] enums.
    Shape(&'static str),
}

struct EnumAccess<'de> {
    variant: VariantName<'de>,
    content: &'de Node<'de>,
    skip_kind: bool,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'de> {
    type Error = Error;
    type Variant = VariantAccess<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Error> {
        let value = match self.variant {
            VariantName::Node(node) => seed.deserialize(NodeDeserializer(node))?,
            VariantName::Key(key) => seed.deserialize(KeyDeserializer(key))?,
            VariantName::Shape(shape) => {
                seed.deserialize(shape.into_deserializer())
                    .map_err(|_: Error| Error {
                        message: format!("unexpected {shape}"),
                        span: Some(self.content.span),
                    })?
            }
        };
        Ok((
            value,
            VariantAccess {
                content: self.content,
                skip_kind: self.skip_kind,
            },
        ))
    }
}

struct VariantAccess<'de> {
    content: &'de Node<'de>,
    skip_kind: bool,
}

impl<'de> de::VariantAccess<'de> for VariantAccess<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        if self.skip_kind {
            // A tagged variant without fields: nothing but `kind` may be there.
            if let NodeKind::Map(entries) = &self.content.kind {
                if let Some((key, _)) = entries.iter().find(|(k, _)| k.text != "kind") {
                    return Err(Error {
                        message: format!("unknown field `{}`", key.text),
                        span: Some(key.span),
                    });
                }
            }
        }
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(NodeDeserializer(self.content))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(NodeDeserializer(self.content), visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.content;
        match &node.kind {
            NodeKind::Map(entries) => visitor
                .visit_map(MapAccess {
                    entries: entries.iter(),
                    skip: self.skip_kind.then_some("kind"),
                    value: None,
                })
                .map_err(|e| e.at(node.span)),
            _ => Err(Error {
                message: format!("expected a mapping, found {}", node.type_name()),
                span: Some(node.span),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::yaml;
    use serde::Deserialize;

    fn node(text: &str) -> Node<'static> {
        let arena = Box::leak(Box::new(yaml::Arena::new()));
        yaml::parse(text, arena).unwrap().unwrap()
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: Spanned<String>,
        #[serde(default)]
        items: Vec<Spanned<u32>>,
        things: Option<indexmap::IndexMap<Spanned<String>, Thing>>,
        shape: Option<Shape>,
    }

    #[derive(Deserialize, Debug)]
    #[serde(rename = "$v5c:tagged-by-kind", deny_unknown_fields)]
    enum Thing {
        #[serde(rename = "box")]
        Box { size: Spanned<u32> },
        #[serde(rename = "ball")]
        Ball,
    }

    #[derive(Deserialize, Debug)]
    #[serde(rename = "$v5c:by-shape")]
    enum Shape {
        #[serde(rename = "text")]
        One(Spanned<String>),
        #[serde(rename = "list")]
        Many(Vec<Spanned<String>>),
    }

    #[test]
    fn spans_survive_every_container() {
        let text = "name: x\nitems: [1, 22]\nthings:\n  a: {kind: box, size: 3}\n  b: {kind: ball}\nshape: [p, q]\n";
        let root = node(text);
        let doc: Doc = from_node(&root).unwrap();
        let at = |s: Span| &text[s.start()..s.end()];
        assert_eq!(at(doc.name.span), "x");
        assert_eq!(at(doc.items[1].span), "22");
        let things = doc.things.unwrap();
        let (key, thing) = things.get_index(0).unwrap();
        assert_eq!(at(key.span), "a");
        let Thing::Box { size } = thing else {
            panic!("a box")
        };
        assert_eq!(at(size.span), "3");
        assert!(matches!(things[1], Thing::Ball));
        let Some(Shape::Many(items)) = doc.shape else {
            panic!("a list")
        };
        assert_eq!(at(items[1].span), "q");

        let text = "name: x\nshape: single\n";
        let root = node(text);
        let doc: Doc = from_node(&root).unwrap();
        let Some(Shape::One(one)) = doc.shape else {
            panic!("a text")
        };
        assert_eq!(&text[one.span.start()..one.span.end()], "single");
    }

    #[test]
    fn errors_point_at_the_value() {
        let text = "name: x\nitems: [1, -2]\n";
        let root = node(text);
        let err = from_node::<Doc>(&root).unwrap_err();
        assert_eq!(
            &text[err.span.unwrap().start()..err.span.unwrap().end()],
            "-2"
        );

        let text = "name: x\nthings: {a: {kind: box, size: 1, colour: red}}\n";
        let root = node(text);
        let err = from_node::<Doc>(&root).unwrap_err();
        assert!(
            err.message.contains("unknown field `colour`"),
            "{}",
            err.message
        );
        assert_eq!(
            &text[err.span.unwrap().start()..err.span.unwrap().end()],
            "colour"
        );

        let text = "name: x\nthings: {a: {kind: cube}}\n";
        let root = node(text);
        let err = from_node::<Doc>(&root).unwrap_err();
        assert_eq!(
            &text[err.span.unwrap().start()..err.span.unwrap().end()],
            "cube"
        );

        let text = "name: x\nshape: 3\n";
        let root = node(text);
        let err = from_node::<Doc>(&root).unwrap_err();
        assert_eq!(err.message, "unexpected integer");
    }
}
