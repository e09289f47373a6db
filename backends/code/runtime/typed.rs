//! Typed messages: the traits the structs and enums of `messages.rs` implement, the value
//! types they use, and the conversions between them and the JSON objects the dataflow
//! carries (which every component checks against its entity).

use super::model::{Node, Record};
use base64::Engine as _;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// The output port that takes what a component failed on, when the spec names a
/// `dead_letter` sink. Logic never emits to it.
pub const DEAD_LETTER: &str = "dead_letter";

/// A decimal number, kept as the text it was written in (`"12.50"`), so that no digit is
/// lost on the way through a float. In JSON it is a string; a number is read too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Decimal(pub String);

impl Decimal {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Decimal {
    fn from(text: &str) -> Decimal {
        Decimal(text.to_owned())
    }
}

impl From<String> for Decimal {
    fn from(text: String) -> Decimal {
        Decimal(text)
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number, or a string holding one")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                Ok(Decimal(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Decimal, E> {
                Ok(Decimal(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                serde_json::Number::from_f64(v)
                    .map(|n| Decimal(n.to_string()))
                    .ok_or_else(|| E::custom("not a finite number"))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

/// Bytes, written as base64 in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Bytes)
            .map_err(|_| de::Error::custom("must be base64"))
    }
}

/// A nullable field with a default, as `Option<Option<T>>`: `None` leaves it out (the default
/// applies), `Some(None)` is null, `Some(Some(value))` a value.
pub mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            // Left out by `skip_serializing_if`; written as null should it ever be asked for.
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// The struct of an entity (generated in `messages.rs`).
pub trait Entity: Serialize + DeserializeOwned {}

/// What a component's logic takes: its input entity's struct, or the enum of its input ports.
pub trait Incoming: Sized {
    fn from_port(port: &str, message: Record) -> Result<Self, String>;
}

/// What a component's logic hands on: its output entity's struct (with one output port), or
/// the enum of its output ports.
pub trait Outgoing {
    fn into_port(self, node: &Node) -> Result<(&'static str, Record), String>;
}

impl<T: Entity> Incoming for T {
    fn from_port(_: &str, message: Record) -> Result<T, String> {
        from_record(message)
    }
}

impl<T: Entity> Outgoing for T {
    fn into_port(self, node: &Node) -> Result<(&'static str, Record), String> {
        let port = node
            .outputs
            .iter()
            .map(|(p, _)| *p)
            .find(|p| *p != DEAD_LETTER)
            .ok_or("the component has no output port")?;
        Ok((port, to_record(&self)?))
    }
}

/// A message as its struct.
pub fn from_record<T: DeserializeOwned>(message: Record) -> Result<T, String> {
    serde_json::from_value(Value::Object(message)).map_err(|e| format!("not a valid message: {e}"))
}

/// A struct as the JSON object the dataflow carries.
pub fn to_record<T: Serialize>(message: &T) -> Result<Record, String> {
    match serde_json::to_value(message) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err("a message must be a JSON object".into()),
        Err(e) => Err(format!("cannot write the message: {e}")),
    }
}

/// The conversions of a port enum: each variant is one port, carrying its entity's struct.
#[allow(unused_macros)]
macro_rules! ports {
    ($name:ident { $($variant:ident = $port:literal),+ $(,)? }) => {
        impl $crate::generated::typed::Incoming for $name {
            fn from_port(
                port: &str,
                message: $crate::generated::model::Record,
            ) -> Result<Self, String> {
                match port {
                    $($port => Ok($name::$variant($crate::generated::typed::from_record(message)?)),)+
                    other => Err(format!("no port `{other}`")),
                }
            }
        }

        impl $crate::generated::typed::Outgoing for $name {
            fn into_port(
                self,
                _: &$crate::generated::model::Node,
            ) -> Result<(&'static str, $crate::generated::model::Record), String> {
                match self {
                    $($name::$variant(m) => Ok(($port, $crate::generated::typed::to_record(&m)?)),)+
                }
            }
        }
    };
}
pub(crate) use ports;

/// Runs a transformer's typed logic on a message of `port`.
pub fn transform_with<I: Incoming, O: Outgoing>(
    node: &Node,
    port: &str,
    input: Record,
    logic: impl FnOnce(I) -> Result<Vec<O>, String>,
) -> Result<Vec<(&'static str, Record)>, String> {
    let input = I::from_port(port, input)?;
    logic(input)?
        .into_iter()
        .map(|o| o.into_port(node))
        .collect()
}

/// Runs a sink's typed logic on a message of `port`.
pub fn deliver_with<I: Incoming>(
    port: &str,
    message: &Record,
    logic: impl FnOnce(&I) -> Result<(), String>,
) -> Result<(), String> {
    let message = I::from_port(port, message.clone())?;
    logic(&message)
}

/// The default of a transformer: each output port gets the input's fields its entity has.
pub fn pass_through<I: Outgoing, O: Incoming>(node: &Node, input: I) -> Result<Vec<O>, String> {
    let (_, record) = input.into_port(node)?;
    super::flow::pass_through(node, record)?
        .into_iter()
        .map(|(port, record)| O::from_port(port, record))
        .collect()
}

/// A message as one line of JSON, for logs.
pub fn json<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).unwrap_or_else(|e| format!("(cannot write the message: {e})"))
}
