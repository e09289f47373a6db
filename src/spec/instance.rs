//! The YAML tree as a JSON instance for the schema validator, read in place: validating a
//! copy made with `Node::to_json` cost as much as the validation (and all its memory) on large
//! specs. Non-finite numbers, which JSON cannot hold, read as text, as in `to_json`.

use super::yaml::{Key, Node, NodeKind};
use jsonschema::json::{Array, Json, JsonNumber, NodeIdentity, Object};
use jsonschema::types::JsonType;
use serde_json::Value;
use std::borrow::Cow;

/// The representation: nodes of the positioned YAML tree.
#[derive(Debug)]
pub struct YamlTree;

impl Json for YamlTree {
    type Node<'a> = &'a Node<'a>;
    type PreparedKey = String;
    type StringBuffer = ();

    // Lookups scan the members (mappings keep no index), so a members pass is never dearer;
    // the validator multiplies this by small numbers, so it must not be near `usize::MAX`.
    const KEYS_PER_LOOKUP: usize = 1 << 16;
    const ACYCLIC: bool = true;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>((): &mut (), string: &str, f: impl FnOnce(Self::Node<'_>) -> T) -> T {
        // Tree nodes borrow their text, so a key node is made without copying it.
        f(&Node {
            span: crate::source::Span::default(),
            kind: NodeKind::Str(string),
        })
    }
}

/// A YAML number that JSON can hold.
#[derive(Debug, Clone, Copy)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl JsonNumber for Number {
    fn as_u64(&self) -> Option<u64> {
        match *self {
            Number::Int(i) => u64::try_from(i).ok(),
            Number::Float(_) => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match *self {
            Number::Int(i) => Some(i),
            Number::Float(_) => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match *self {
            #[allow(clippy::cast_precision_loss)] // as JSON readers do
            Number::Int(i) => Some(i as f64),
            Number::Float(f) => Some(f),
        }
    }

    fn as_str(&self) -> Cow<'_, str> {
        match *self {
            Number::Int(i) => Cow::Owned(i.to_string()),
            Number::Float(f) => Cow::Owned(f.to_string()),
        }
    }

    fn to_number(&self) -> Cow<'_, serde_json::Number> {
        Cow::Owned(match *self {
            Number::Int(i) => serde_json::Number::from(i),
            // Only finite floats become numbers (see `finite`).
            Number::Float(f) => serde_json::Number::from_f64(f).unwrap_or_else(|| 0.into()),
        })
    }

    fn is_integer(&self) -> bool {
        match *self {
            Number::Int(_) => true,
            Number::Float(f) => f.fract() == 0.0,
        }
    }

    fn is_written_as_integer(&self) -> bool {
        matches!(self, Number::Int(_))
    }
}

fn finite(f: f64) -> bool {
    f.is_finite()
}

impl<'a> jsonschema::json::Node<'a, YamlTree> for &'a Node<'a> {
    type Object = &'a [(Key<'a>, Node<'a>)];
    type Array = &'a [Node<'a>];
    type Number = Number;

    fn as_object(&self) -> Option<Self::Object> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<Self::Array> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match &self.kind {
            NodeKind::Str(s) => Some(Cow::Borrowed(s)),
            NodeKind::Float(f) if !finite(*f) => Some(Cow::Owned(f.to_string())),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<Number> {
        match self.kind {
            NodeKind::Int(i) => Some(Number::Int(i)),
            NodeKind::Float(f) if finite(f) => Some(Number::Float(f)),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.kind {
            NodeKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    fn json_type(&self) -> JsonType {
        match &self.kind {
            NodeKind::Null => JsonType::Null,
            NodeKind::Bool(_) => JsonType::Boolean,
            NodeKind::Int(_) => JsonType::Number,
            NodeKind::Float(f) if finite(*f) => JsonType::Number,
            NodeKind::Float(_) | NodeKind::Str(_) => JsonType::String,
            NodeKind::Seq(_) => JsonType::Array,
            NodeKind::Map(_) => JsonType::Object,
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(self.to_json())
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(std::ptr::from_ref::<Node>(self) as usize))
    }
}

impl<'a> Object<'a, YamlTree> for &'a [(Key<'a>, Node<'a>)] {
    type Node = &'a Node<'a>;
    type MemberName = &'a str;
    type MembersIter = std::iter::Map<
        std::slice::Iter<'a, (Key<'a>, Node<'a>)>,
        fn(&'a (Key<'a>, Node<'a>)) -> (&'a str, &'a Node<'a>),
    >;

    fn len(&self) -> usize {
        <[(Key<'a>, Node<'a>)]>::len(self)
    }

    fn get(&self, key: &String) -> Option<&'a Node<'a>> {
        self.iter().find(|(k, _)| k.text == *key).map(|(_, v)| v)
    }

    fn members(&self) -> Self::MembersIter {
        self.iter().map(|(k, v)| (k.text, v))
    }
}

impl<'a> Array<'a, YamlTree> for &'a [Node<'a>] {
    type Node = &'a Node<'a>;
    type ElementsIter = std::slice::Iter<'a, Node<'a>>;

    fn len(&self) -> usize {
        <[Node<'a>]>::len(self)
    }

    fn elements(&self) -> Self::ElementsIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The validator reads the tree as it would read its JSON copy.
    #[test]
    fn validates_like_the_json_copy() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "n": { "type": "integer", "minimum": 1 },
                "s": { "type": "string", "maxLength": 3 },
                "l": { "type": "array", "uniqueItems": true },
                "x": { "const": "yes" }
            },
            "additionalProperties": false,
            "propertyNames": { "pattern": "^[a-z]$" }
        });
        let on_tree = jsonschema::options_for::<YamlTree>()
            .build(&schema)
            .expect("schema");
        let on_json = jsonschema::validator_for(&schema).expect("schema");
        for text in [
            "n: 2\ns: abc\nl: [1, 2]\nx: yes\n",
            "n: 0\ns: abcd\nl: [1, 1]\nx: no\nZZ: 1\n",
            "n: 2.0\n",
            "n: 2.5\ns: .nan\n",
            "n: .inf\n",
        ] {
            let arena = crate::spec::yaml::Arena::new();
            let root = crate::spec::yaml::parse(text, &arena)
                .expect("yaml")
                .expect("a document");
            let json = root.to_json();
            let mut tree: Vec<String> = on_tree
                .iter_errors(&root)
                .map(|e| format!("{} {}", e.instance_path(), e.kind().keyword()))
                .collect();
            let mut copy: Vec<String> = on_json
                .iter_errors(&json)
                .map(|e| format!("{} {}", e.instance_path(), e.kind().keyword()))
                .collect();
            tree.sort();
            copy.sort();
            assert_eq!(tree, copy, "{text}");
        }
    }
}
