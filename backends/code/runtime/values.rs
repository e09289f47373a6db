//! Values between JSON and the databases: checking a request's fields against the entity's
//! types, writing each as the text its column takes (every value reaches SQL as a bound
//! parameter), and reading columns back as JSON.

use base64::Engine as _;
use chrono::Datelike as _;
use serde_json::{Map, Number, Value};

/// A database engine: what differs in how a value is written and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgresql,
    Mysql,
    Sqlite,
}

/// A field's type, as the spec gives it.
#[derive(Debug)]
pub enum Ty {
    Uuid,
    String { max_length: Option<u32> },
    Int { bits: u8 },
    Decimal { precision: u32, scale: u32 },
    Float { bits: u8 },
    Bool,
    Timestamp,
    Datetime,
    Date,
    Time,
    Json,
    Bytes,
    Enum { values: &'static [&'static str] },
    List { item: &'static Ty },
}

#[derive(Debug, Clone, Copy)]
pub enum Format {
    Email,
    Url,
    Hostname,
    Ipv4,
    Ipv6,
    Slug,
}

/// One field of an entity.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    /// The column, quoted for its engine.
    pub column: &'static str,
    /// For a reference, the type of the key it refers to.
    pub ty: &'static Ty,
    pub nullable: bool,
    /// The database fills it when a request leaves it out.
    pub has_default: bool,
    /// The database numbers it; requests may not set it.
    pub identity: bool,
    /// The service fills it with a random UUID when a request leaves it out.
    pub random_uuid: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub format: Option<Format>,
    /// The SQL that reads it as text, such as `"id"::text`.
    pub read: &'static str,
    /// The SQL a bound parameter is written through; `{}` is the placeholder.
    pub write: &'static str,
    /// The same, for comparing with the column in the order `ORDER BY` sorts it (MySQL sorts
    /// an ENUM by position but compares it with text as text).
    pub compare: &'static str,
    /// For a key with a default, what the service fills in when a request leaves it out, so
    /// that it knows the key of the row it wrote (MySQL cannot say).
    pub fill: Option<Fill>,
}

/// A key's default, as the service applies it.
#[derive(Debug)]
pub enum Fill {
    /// A value, as JSON text.
    Value(&'static str),
    /// The current date, time or instant, by the field's type.
    Now,
}

impl Fill {
    /// The value to fill in now.
    pub fn value(&self, ty: &Ty) -> Value {
        match self {
            Fill::Value(json) => serde_json::from_str(json).unwrap_or(Value::Null),
            Fill::Now => {
                let now = chrono::Utc::now();
                Value::String(match ty {
                    Ty::Date => now.format("%Y-%m-%d").to_string(),
                    Ty::Time => now.format("%H:%M:%S%.6f").to_string(),
                    Ty::Datetime => now.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                    _ => now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                })
            }
        }
    }
}

/// One field's problem with a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks `value` against `field` and writes it as the text its column takes, or `None` for
/// SQL NULL.
pub fn encode(engine: Engine, field: &Field, value: &Value) -> Result<Option<String>, Invalid> {
    if value.is_null() {
        return if field.nullable {
            Ok(None)
        } else {
            Err(Invalid::new(field.name, "may not be null"))
        };
    }
    let text = encode_value(engine, field.ty, value).map_err(|m| Invalid::new(field.name, m))?;
    check_range(field, value).map_err(|m| Invalid::new(field.name, m))?;
    if let (Some(format), Value::String(s)) = (field.format, value) {
        check_format(format, s).map_err(|m| Invalid::new(field.name, m))?;
    }
    Ok(Some(text))
}

fn check_range(field: &Field, value: &Value) -> Result<(), String> {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if matches!(field.ty, Ty::Decimal { .. }) => s.parse::<f64>().ok(),
        _ => None,
    };
    let Some(n) = number else { return Ok(()) };
    if let Some(min) = field.min {
        if n < min {
            return Err(format!("must be at least {min}"));
        }
    }
    if let Some(max) = field.max {
        if n > max {
            return Err(format!("must be at most {max}"));
        }
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(what: &str, value: &Value) -> String {
    format!("must be {what}, not {}", kind(value))
}

fn encode_value(engine: Engine, ty: &Ty, value: &Value) -> Result<String, String> {
    match ty {
        Ty::Uuid => match value {
            Value::String(s) => uuid::Uuid::try_parse(s)
                .map(|u| u.hyphenated().to_string())
                .map_err(|_| "must be a UUID such as 0b9e7d3c-58b1-4b7e-9c3a-5f0c2d1e4a6b".into()),
            _ => Err(expected("a UUID string", value)),
        },
        Ty::String { max_length } => match value {
            Value::String(s) => {
                if s.contains('\0') {
                    return Err("may not contain the NUL character".into());
                }
                match max_length {
                    Some(max) if s.chars().count() > *max as usize => {
                        Err(format!("must be at most {max} characters long"))
                    }
                    _ => Ok(s.clone()),
                }
            }
            _ => Err(expected("a string", value)),
        },
        Ty::Enum { values } => match value {
            Value::String(s) if values.contains(&s.as_str()) => Ok(s.clone()),
            Value::String(_) => Err(format!("must be one of: {}", values.join(", "))),
            _ => Err(expected("a string", value)),
        },
        Ty::Int { bits } => {
            let n = match value {
                Value::Number(n) => n.as_i64().ok_or_else(|| {
                    if n.is_u64() {
                        "is too large".to_string()
                    } else {
                        "must be a whole number".to_string()
                    }
                })?,
                _ => return Err(expected("a whole number", value)),
            };
            let (low, high) = match bits {
                16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            if n < low || n > high {
                return Err(format!("must be between {low} and {high}"));
            }
            Ok(n.to_string())
        }
        Ty::Float { bits } => match value {
            Value::Number(n) => {
                let f = n.as_f64().ok_or("must be a number")?;
                if *bits == 32 && f.abs() > f64::from(f32::MAX) {
                    return Err("is too large for a 32-bit float".into());
                }
                // Values that would underflow are refused by PostgreSQL.
                let smallest = if *bits == 32 {
                    f64::from(f32::MIN_POSITIVE)
                } else {
                    f64::MIN_POSITIVE
                };
                if f != 0.0 && f.abs() < smallest {
                    return Err(format!("is too close to zero for a {bits}-bit float"));
                }
                Ok(n.to_string())
            }
            _ => Err(expected("a number", value)),
        },
        Ty::Decimal { precision, scale } => {
            let text = match value {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => {
                    return Err(expected(
                        "a decimal number (or a string holding one)",
                        value,
                    ))
                }
            };
            decimal(&text, *precision, *scale)
        }
        Ty::Bool => match (value, engine) {
            (Value::Bool(b), Engine::Postgresql) => Ok(b.to_string()),
            (Value::Bool(b), _) => Ok(if *b { "1" } else { "0" }.into()),
            _ => Err(expected("true or false", value)),
        },
        Ty::Timestamp => {
            let s = value.as_str().ok_or_else(|| expected("a string", value))?;
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    "must be an RFC 3339 instant such as 2026-01-31T12:00:00Z".to_string()
                })?
                .with_timezone(&chrono::Utc);
            in_years(engine, t.year())?;
            Ok(match engine {
                Engine::Postgresql => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                Engine::Mysql => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
                Engine::Sqlite => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            })
        }
        Ty::Datetime => {
            let s = value.as_str().ok_or_else(|| expected("a string", value))?;
            let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|_| "must be a date and time such as 2026-01-31T12:00:00".to_string())?;
            in_years(engine, t.year())?;
            Ok(match engine {
                Engine::Postgresql => t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                Engine::Mysql => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
                Engine::Sqlite => t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
            })
        }
        Ty::Date => {
            let s = value.as_str().ok_or_else(|| expected("a string", value))?;
            let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| "must be a date such as 2026-01-31".to_string())?;
            in_years(engine, d.year())?;
            Ok(d.format("%Y-%m-%d").to_string())
        }
        Ty::Time => {
            let s = value.as_str().ok_or_else(|| expected("a string", value))?;
            let t = chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
                .map_err(|_| "must be a time such as 12:00:00".to_string())?;
            Ok(match engine {
                Engine::Sqlite => t.format("%H:%M:%S%.3f").to_string(),
                _ => t.format("%H:%M:%S%.6f").to_string(),
            })
        }
        Ty::Json => Ok(value.to_string()),
        Ty::Bytes => match value {
            Value::String(s) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(|bytes| bytes.iter().map(|b| format!("{b:02x}")).collect())
                .map_err(|_| "must be base64".into()),
            _ => Err(expected("a base64 string", value)),
        },
        Ty::List { item } => match value {
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    if v.is_null() {
                        return Err(format!("item {i} may not be null"));
                    }
                    encode_value(engine, item, v).map_err(|m| format!("item {i} {m}"))?;
                }
                let canonical: Vec<Value> = items.iter().map(|v| canonical_item(item, v)).collect();
                Ok(Value::Array(canonical).to_string())
            }
            _ => Err(expected("an array", value)),
        },
    }
}

/// The years an engine keeps: MySQL's DATETIME and DATE start at 1000.
fn in_years(engine: Engine, year: i32) -> Result<(), String> {
    let first = if engine == Engine::Mysql { 1000 } else { 1 };
    if (first..=9999).contains(&year) {
        Ok(())
    } else {
        Err(format!("is out of range: years {first} to 9999"))
    }
}

/// A list item as a list holds it, on every engine: numbers and booleans as JSON, instants in
/// UTC with microseconds, UUIDs in lower case, decimals as canonical text, bytes as base64.
fn canonical_item(ty: &Ty, value: &Value) -> Value {
    let text = value.as_str();
    let canonical = match ty {
        Ty::Uuid => text
            .and_then(|s| uuid::Uuid::try_parse(s).ok())
            .map(|u| u.hyphenated().to_string()),
        Ty::Decimal { scale, .. } => {
            let t = text.map_or_else(|| value.to_string(), str::to_owned);
            decimal(&t, u32::MAX / 2, *scale).ok()
        }
        Ty::Timestamp => text
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| {
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                    .to_string()
            }),
        Ty::Datetime => text
            .and_then(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
        Ty::Time => text
            .and_then(|s| chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f").ok())
            .map(|t| t.format("%H:%M:%S%.6f").to_string()),
        Ty::Bytes => text
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        Ty::Bool => {
            return value
                .as_i64()
                .map_or_else(|| value.clone(), |n| Value::Bool(n == 1))
        }
        _ => None,
    };
    canonical.map_or_else(|| value.clone(), Value::String)
}

/// Canonical decimal text with at most `precision` digits, `scale` of them after the point.
fn decimal(text: &str, precision: u32, scale: u32) -> Result<String, String> {
    let bad = || {
        format!("must be a decimal number with at most {precision} digits, {scale} after the point")
    };
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let fraction = fraction.trim_end_matches('0');
    let whole = whole.trim_start_matches('0');
    if fraction.len() > scale as usize || whole.len() + scale as usize > precision as usize {
        return Err(bad());
    }
    let whole = if whole.is_empty() { "0" } else { whole };
    let mut out = format!("{sign}{whole}");
    if scale > 0 {
        out.push('.');
        out.push_str(fraction);
        out.extend(std::iter::repeat_n('0', scale as usize - fraction.len()));
    }
    if out
        .trim_start_matches('-')
        .trim_matches(['0', '.'])
        .is_empty()
    {
        out = out.trim_start_matches('-').to_string();
    }
    Ok(out)
}

fn check_format(format: Format, s: &str) -> Result<(), String> {
    let ok = match format {
        Format::Email => s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !s.chars().any(char::is_whitespace)
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        }),
        Format::Url => s.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
                && !s.chars().any(char::is_whitespace)
        }),
        Format::Hostname => {
            s.len() <= 253
                && s.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
        }
        Format::Ipv4 => s.parse::<std::net::Ipv4Addr>().is_ok(),
        Format::Ipv6 => s.parse::<std::net::Ipv6Addr>().is_ok(),
        Format::Slug => {
            !s.is_empty()
                && s.split('-').all(|w| {
                    !w.is_empty()
                        && w.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
        }
    };
    if ok {
        Ok(())
    } else {
        let name = match format {
            Format::Email => "an e-mail address",
            Format::Url => "a URL",
            Format::Hostname => "a host name",
            Format::Ipv4 => "an IPv4 address",
            Format::Ipv6 => "an IPv6 address",
            Format::Slug => "a slug: lower-case words and digits joined by dashes",
        };
        Err(format!("must be {name}"))
    }
}

/// Reads a column's text (as `Field::read` selects it) back as JSON.
pub fn decode(field: &Field, text: Option<String>) -> Value {
    let Some(text) = text else { return Value::Null };
    decode_value(field.ty, text)
}

fn decode_value(ty: &Ty, text: String) -> Value {
    match ty {
        Ty::Int { .. } => text
            .parse::<i64>()
            .map_or(Value::String(text), |n| Value::Number(n.into())),
        Ty::Float { .. } => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Ty::Bool => Value::Bool(matches!(text.as_str(), "t" | "true" | "1")),
        Ty::Json => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        Ty::List { item } => match serde_json::from_str(&text) {
            Ok(Value::Array(items)) => {
                Value::Array(items.iter().map(|v| canonical_item(item, v)).collect())
            }
            _ => Value::String(text),
        },
        Ty::Bytes => {
            let bytes: Vec<u8> = (0..text.len() / 2)
                .filter_map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
                .collect();
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        _ => Value::String(text),
    }
}

/// The fields of a request body, or why it is not an object.
pub fn object(body: Value) -> Result<Map<String, Value>, Invalid> {
    match body {
        Value::Object(map) => Ok(map),
        other => Err(Invalid::new(
            "",
            format!("the body must be a JSON object, not {}", kind(&other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_canonical_and_bounded() {
        assert_eq!(decimal("12.5", 12, 2).unwrap(), "12.50");
        assert_eq!(decimal("-0.0", 12, 2).unwrap(), "0.00");
        assert_eq!(decimal("007", 3, 0).unwrap(), "7");
        assert!(decimal("1.234", 12, 2).is_err());
        assert!(decimal("1e3", 12, 2).is_err());
        assert!(decimal("1234567890123", 12, 2).is_err());
        assert!(decimal("", 12, 2).is_err());
    }
}
