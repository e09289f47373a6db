//! Type expressions: parameters in range, enums well-formed, defaults that fit their field,
//! options that mean something for the type, and primary keys that can be keys.

use crate::diag::{self, Code, Diagnostic, Diagnostics};
use crate::ir::{Entity, EntitySpans, Field, FieldDefault, FieldSpans, FieldType, Ir, RefAction};
use crate::source::Span;
use rustc_hash::FxHashMap;
use std::fmt::Write as _;

/// PostgreSQL's limit; narrower engines are checked by the database pass.
const MAX_DECIMAL_PRECISION: u32 = 1000;

pub fn run(ir: &Ir, diags: &mut Diagnostics) {
    for (id, entity) in ir.entities.iter() {
        let spans = ir.spans.entity(id);
        for (field, field_spans) in entity.fields.iter().zip(&spans.fields) {
            check_type(&field.ty, field_spans, diags, false);
            check_default(ir, field, field_spans, diags);
            check_options(field, field_spans, diags);
        }
        check_primary_key(entity, spans, diags);
        for (index, index_spans) in entity.indexes.iter().zip(&spans.indexes) {
            for (i, field) in index.fields.iter().enumerate() {
                if let Some(first) = index.fields[..i].iter().position(|f| f == field) {
                    let at = |k: usize| {
                        index_spans
                            .fields
                            .get(k)
                            .copied()
                            .unwrap_or(index_spans.whole)
                    };
                    diags.push(
                        Diagnostic::error(
                            Code::RepeatedIndexField,
                            format!("the index lists `{field}` twice"),
                        )
                        .label(at(i), "again")
                        .label(at(first), "first here"),
                    );
                }
            }
        }
    }
}

fn arg_span(spans: &FieldSpans, i: usize) -> Span {
    spans.ty_args().get(i).copied().unwrap_or(spans.ty)
}

fn check_type(ty: &FieldType, spans: &FieldSpans, diags: &mut Diagnostics, in_list: bool) {
    match ty {
        FieldType::String {
            max_length: Some(0),
        } => diags.push(
            Diagnostic::error(Code::BadTypeParameter, "a string cannot have a length of 0")
                .label(arg_span(spans, 0), "zero")
                .help("give a positive length, or write `string` for text of any length"),
        ),
        FieldType::Decimal { precision, scale } => {
            if *precision == 0 {
                diags.push(
                    Diagnostic::error(Code::BadTypeParameter, "a decimal needs at least one digit")
                        .label(arg_span(spans, 0), "precision 0"),
                );
            } else if *precision > MAX_DECIMAL_PRECISION {
                diags.push(
                    Diagnostic::error(
                        Code::BadTypeParameter,
                        format!("a decimal may have at most {MAX_DECIMAL_PRECISION} digits"),
                    )
                    .label(arg_span(spans, 0), "too many digits"),
                );
            }
            if scale > precision && *precision > 0 {
                diags.push(
                    Diagnostic::error(
                        Code::BadTypeParameter,
                        format!("the scale ({scale}) is larger than the precision ({precision})"),
                    )
                    .label(arg_span(spans, 1), "scale")
                    .label(arg_span(spans, 0), "precision")
                    .help("the precision counts all digits, the scale those after the point: decimal(12,2) holds 9999999999.99"),
                );
            }
        }
        FieldType::Enum { values } => check_enum(values, spans, diags),
        FieldType::List { item } => {
            let problem = match item.as_ref() {
                _ if in_list => Some("lists of lists are not supported"),
                FieldType::Ref { .. } => Some("a list of references is a many-to-many relation"),
                FieldType::Json => Some("a list of json is just json"),
                _ => None,
            };
            if let Some(problem) = problem {
                let help = match item.as_ref() {
                    FieldType::Ref { entity } => format!(
                        "model it with a link entity that has a `ref({})` field and a reference back",
                        entity.name
                    ),
                    FieldType::Json => "write `json`".into(),
                    _ => "use `json`, or a separate entity".into(),
                };
                diags.push(
                    Diagnostic::error(Code::UnsupportedType, problem)
                        .label(spans.ty, "unsupported")
                        .help(help),
                );
            } else {
                check_type(item, spans, diags, true);
            }
        }
        _ => {}
    }
}

fn check_enum(values: &[String], spans: &FieldSpans, diags: &mut Diagnostics) {
    // Values that differ only in case or punctuation become the same name in generated code.
    let mut first_with_key: FxHashMap<String, usize> = FxHashMap::default();
    for (i, value) in values.iter().enumerate() {
        let at = spans.enum_values().get(i).copied().unwrap_or(spans.ty);
        let key = crate::names::words(value).join("_");
        if let Some(&j) = first_with_key.get(&key) {
            let first = spans.enum_values().get(j).copied().unwrap_or(spans.ty);
            let message = if values[j] == *value {
                format!("the enum lists `{value}` twice")
            } else {
                format!(
                    "enum values `{}` and `{value}` differ only in case or punctuation",
                    values[j]
                )
            };
            diags.push(
                Diagnostic::error(Code::BadEnum, message)
                    .label(at, "repeated")
                    .label(first, "first here")
                    .help("each value becomes a name in generated code, so they must differ by more than case"),
            );
        } else {
            first_with_key.insert(key, i);
        }
        if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) || value.len() > 63 {
            diags.push(
                Diagnostic::error(
                    Code::BadEnum,
                    format!("enum value `{value}` must start with a letter or digit and have at most 63 characters"),
                )
                .label(at, "bad value"),
            );
        }
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn digits(text: &str, n: usize) -> bool {
    text.len() == n && text.bytes().all(|b| b.is_ascii_digit())
}

/// `YYYY-MM-DD`, a day that exists (databases refuse `2026-02-30`).
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return false;
    }
    let (y, m, d) = (
        y.parse::<u32>().unwrap_or(0),
        m.parse::<u32>().unwrap_or(0),
        d.parse::<u32>().unwrap_or(0),
    );
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}

/// `HH:MM` or `HH:MM:SS`, with optional fractional seconds.
fn is_time(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    let seconds_ok = |s: &str| {
        let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
        digits(whole, 2)
            && whole < "60"
            && !frac.is_empty()
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    match parts.as_slice() {
        [h, m] => digits(h, 2) && *h < "24" && digits(m, 2) && *m < "60",
        [h, m, s] => digits(h, 2) && *h < "24" && digits(m, 2) && *m < "60" && seconds_ok(s),
        _ => false,
    }
}

/// `YYYY-MM-DDTHH:MM:SS` (or a space for `T`), with a zone (`Z`, `+02:00`) when `zoned`.
fn is_datetime(text: &str, zoned: bool) -> bool {
    let Some((date, rest)) = text.split_once(['T', ' ']) else {
        return false;
    };
    let (time, zone) = if let Some(t) = rest.strip_suffix('Z') {
        (t, Some("Z"))
    } else if let Some(i) = rest.rfind(['+', '-']) {
        (&rest[..i], Some(&rest[i..]))
    } else {
        (rest, None)
    };
    let zone_ok = match zone {
        None => !zoned,
        Some("Z") => zoned,
        Some(z) => zoned && is_time(&z[1..]) && z[1..].len() == 5,
    };
    is_date(date) && is_time(time) && zone_ok
}

fn decimal_fits(text: &str, precision: u32, scale: u32) -> bool {
    let text = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let int = int.trim_start_matches('0');
    !text.is_empty()
        && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        && frac.len() <= scale as usize
        && int.len() <= (precision - scale.min(precision)) as usize
}

fn int_range(bits: u8) -> (i128, i128) {
    let half = 1i128 << (bits - 1);
    (-half, half - 1)
}

fn check_default(ir: &Ir, field: &Field, spans: &FieldSpans, diags: &mut Diagnostics) {
    let Some(default) = &field.default else {
        return;
    };
    let at = spans.default().unwrap_or(spans.name);
    // A reference's default is a value of its target's key (for `on_delete: set_default`).
    let mut ty = &field.ty;
    let mut followed = false;
    for _ in 0..8 {
        let FieldType::Ref { entity } = ty else { break };
        let Some(key) = entity.try_id().and_then(|id| ir.entities[id].single_key()) else {
            break;
        };
        ty = &key.ty;
        followed = true;
    }
    if let Some(problem) = default_problem(ty, default) {
        let mut diagnostic = Diagnostic::error(Code::BadDefault, problem)
            .label(at, "this default")
            .label(spans.ty, "the field's type");
        if followed {
            diagnostic = diagnostic.note(format!(
                "a reference's default is a key of its target, here of type `{}`",
                ty.spec_text()
            ));
        }
        diags.push(diagnostic);
    }
}

/// More significant digits than an f64 keeps exactly: the number the YAML held is not the
/// number written.
fn too_precise(n: f64) -> bool {
    let text = format!("{n:e}");
    let mantissa = text.split('e').next().unwrap_or("");
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    digits > 15
}

/// Why `default` does not fit a column of type `ty`, if it does not.
fn default_problem(ty: &FieldType, default: &FieldDefault) -> Option<String> {
    match (ty, default) {
        (_, FieldDefault::Number(n)) if !n.is_finite() => {
            Some(format!("{n} is not a number a database column can hold"))
        }
        (FieldType::Decimal { .. }, FieldDefault::Number(n)) if too_precise(*n) => Some(
            "this number has more significant digits than a YAML number keeps exactly (15); write the default as text, in quotes, to keep every digit".to_owned(),
        ),
        (FieldType::List { .. } | FieldType::Bytes, _) => Some(format!(
            "a field of type `{}` cannot have a default",
            ty.spec_text()
        )),
        (_, FieldDefault::Now | FieldDefault::RandomUuid)
        | (FieldType::Ref { .. }, FieldDefault::Integer(_) | FieldDefault::Text(_))
        | (FieldType::Float { .. }, FieldDefault::Integer(_) | FieldDefault::Number(_))
        | (FieldType::Bool, FieldDefault::Boolean(_)) => None,
        (FieldType::String { max_length }, FieldDefault::Text(t)) => max_length
            .filter(|n| t.chars().count() > *n as usize)
            .map(|n| format!("the default is longer than the field's {n} characters")),
        (FieldType::Enum { values }, FieldDefault::Text(t)) => (!values.contains(t)).then(|| {
            let mut message = format!(
                "`{t}` is not one of the enum's values ({})",
                diag::one_of(values)
            );
            if let Some(s) = diag::did_you_mean(t, values.iter().map(String::as_str)) {
                let _ = write!(message, "; did you mean `{s}`?");
            }
            message
        }),
        (FieldType::Uuid, FieldDefault::Text(t)) => (!is_uuid(t))
            .then(|| format!("`{t}` is not a UUID; write one, or `random` for a new one per row")),
        (FieldType::Date, FieldDefault::Text(t)) => {
            (!is_date(t)).then(|| format!("`{t}` is not a date (YYYY-MM-DD) or `now`"))
        }
        (FieldType::Time, FieldDefault::Text(t)) => {
            (!is_time(t)).then(|| format!("`{t}` is not a time (HH:MM:SS) or `now`"))
        }
        (FieldType::Timestamp, FieldDefault::Text(t)) => (!is_datetime(t, true)).then(|| {
            format!("`{t}` is not a timestamp with a zone (2026-01-31T12:00:00Z) or `now`")
        }),
        (FieldType::Datetime, FieldDefault::Text(t)) => (!is_datetime(t, false))
            .then(|| format!("`{t}` is not a date and time (2026-01-31T12:00:00) or `now`")),
        (FieldType::Json, FieldDefault::Text(t)) => serde_json::from_str::<serde_json::Value>(t)
            .err()
            .map(|e| format!("the default is not valid JSON: {e}")),
        (FieldType::Decimal { precision, scale }, FieldDefault::Text(t)) => {
            (!decimal_fits(t, *precision, *scale))
                .then(|| format!("`{t}` does not fit decimal({precision},{scale})"))
        }
        (FieldType::Decimal { precision, scale }, FieldDefault::Integer(i)) => {
            (!decimal_fits(&i.to_string(), *precision, *scale))
                .then(|| format!("{i} does not fit decimal({precision},{scale})"))
        }
        (FieldType::Decimal { precision, scale }, FieldDefault::Number(n)) => {
            (!decimal_fits(&n.to_string(), *precision, *scale))
                .then(|| format!("{n} does not fit decimal({precision},{scale})"))
        }
        (FieldType::Int { bits }, FieldDefault::Integer(i)) => {
            let (lo, hi) = int_range(*bits);
            (!(lo..=hi).contains(&i128::from(*i)))
                .then(|| format!("{i} does not fit in an int{bits}"))
        }
        (_, FieldDefault::Text(t)) if t == "now" => Some(format!(
            "`now` is a default for time fields, and this is `{}`",
            ty.spec_text()
        )),
        (_, FieldDefault::Text(t)) if t == "random" => Some(format!(
            "`random` is a default for uuid fields, and this is `{}`",
            ty.spec_text()
        )),
        (_, other) => Some(format!(
            "a default of {} does not fit a field of type `{}`",
            match other {
                FieldDefault::Text(_) => "text",
                FieldDefault::Integer(_) => "an integer",
                FieldDefault::Number(_) => "a number",
                FieldDefault::Boolean(_) => "a boolean",
                _ => "this kind",
            },
            ty.spec_text()
        )),
    }
}

fn not_applicable(
    option: &str,
    span: Option<Span>,
    field: &Field,
    spans: &FieldSpans,
    why: &str,
) -> Diagnostic {
    Diagnostic::error(
        Code::OptionNotApplicable,
        format!(
            "`{option}` does not apply to a field of type `{}`",
            field.ty.spec_text()
        ),
    )
    .label(span.unwrap_or(spans.name), "not applicable")
    .label(spans.ty, "the field's type")
    .help(why.to_owned())
}

fn check_options(field: &Field, spans: &FieldSpans, diags: &mut Diagnostics) {
    let numeric = field.ty.is_numeric();
    if !numeric {
        for (name, value, span) in [
            ("min", field.min, spans.min()),
            ("max", field.max, spans.max()),
        ] {
            if value.is_some() {
                diags.push(not_applicable(name, span, field, spans, "`min` and `max` bound numbers; a string's length is its type's argument: `string(64)`"));
            }
        }
    }
    for (name, value, span) in [
        ("min", field.min, spans.min()),
        ("max", field.max, spans.max()),
    ] {
        if value.is_some_and(|v| !v.is_finite()) {
            diags.push(
                Diagnostic::error(Code::BadBounds, format!("`{name}` must be a finite number"))
                    .label(span.unwrap_or(spans.name), "not finite"),
            );
        }
    }
    if let (Some(min), Some(max)) = (field.min, field.max) {
        if numeric && min > max {
            diags.push(
                Diagnostic::error(
                    Code::BadBounds,
                    format!("`min` ({min}) is greater than `max` ({max})"),
                )
                .label(spans.min().unwrap_or(spans.name), "min")
                .label(spans.max().unwrap_or(spans.name), "max"),
            );
        }
    }
    if let FieldType::Int { bits } = field.ty {
        let (lo, hi) = int_range(bits);
        #[allow(clippy::cast_precision_loss)] // the bounds are compared, not stored
        let (lo, hi) = (lo as f64, hi as f64);
        for (name, value, span) in [
            ("min", field.min, spans.min()),
            ("max", field.max, spans.max()),
        ] {
            if let Some(v) = value {
                if v < lo || v > hi || v.fract() != 0.0 {
                    diags.push(
                        Diagnostic::error(
                            Code::BadBounds,
                            format!("`{name}` ({v}) is not a whole number an int{bits} can hold"),
                        )
                        .label(span.unwrap_or(spans.name), "out of range"),
                    );
                }
            }
        }
    }
    if field.format.is_some() && !matches!(field.ty, FieldType::String { .. }) {
        diags.push(not_applicable(
            "format",
            spans.format(),
            field,
            spans,
            "formats check text; use a `string` field",
        ));
    }
    let is_ref = matches!(field.ty, FieldType::Ref { .. });
    for (name, action, span) in [
        ("on_delete", field.on_delete, spans.on_delete()),
        ("on_update", field.on_update, spans.on_update()),
    ] {
        let Some(action) = action else { continue };
        if !is_ref {
            diags.push(not_applicable(
                name,
                span,
                field,
                spans,
                "only references (`ref(Entity)`) react to changes in the row they point at",
            ));
        } else if action == RefAction::SetNull && !field.nullable {
            diags.push(
                Diagnostic::error(
                    Code::SetNullNotNullable,
                    format!(
                        "`{name}: set_null` needs a nullable field, and `{}` is required",
                        field.name
                    ),
                )
                .label(span.unwrap_or(spans.name), "set_null")
                .help("add `nullable: true`, or choose `cascade` or `restrict`"),
            );
        } else if action == RefAction::SetDefault && field.default.is_none() {
            diags.push(
                Diagnostic::error(
                    Code::BadDefault,
                    format!(
                        "`{name}: set_default` needs a default, and `{}` has none",
                        field.name
                    ),
                )
                .label(span.unwrap_or(spans.name), "set_default")
                .help("add a `default:`, or choose another action"),
            );
        }
    }
}

fn check_primary_key(entity: &Entity, spans: &EntitySpans, diags: &mut Diagnostics) {
    for (i, name) in entity.primary_key.iter().enumerate() {
        let Some(index) = entity.field_index(name) else {
            continue; // reported by resolve
        };
        let field = &entity.fields[index];
        let field_spans = &spans.fields[index];
        let at = spans
            .primary_key
            .get(i)
            .copied()
            .unwrap_or(field_spans.name);
        if entity.primary_key[..i].contains(name) {
            diags.push(
                Diagnostic::error(
                    Code::BadPrimaryKey,
                    format!("`{name}` is in the primary key twice"),
                )
                .label(at, "repeated"),
            );
        }
        if field.nullable {
            diags.push(
                Diagnostic::error(
                    Code::BadPrimaryKey,
                    format!("primary key field `{name}` cannot be nullable"),
                )
                .label(field_spans.name, "nullable key")
                .help("remove `nullable: true`"),
            );
        }
        let unfit = match &field.ty {
            FieldType::Json => Some("json"),
            FieldType::List { .. } => Some("a list"),
            FieldType::Float { .. } => Some("a float (equality of floats is unreliable)"),
            FieldType::Bytes => Some("bytes"),
            FieldType::Bool => Some("a boolean (it has two values)"),
            _ => None,
        };
        if let Some(what) = unfit {
            diags.push(
                Diagnostic::error(
                    Code::BadPrimaryKey,
                    format!("a primary key cannot be {what}"),
                )
                .label(field_spans.ty, "key type")
                .help("use `uuid`, an integer, or a bounded `string(n)`"),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // values compared are exact by construction
mod tests {
    use super::*;

    #[test]
    fn literal_checks() {
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!is_uuid("123e4567"));
        assert!(is_date("2026-11-27"));
        assert!(!is_date("2026-13-01"));
        assert!(!is_date("2026-02-29") && is_date("2028-02-29") && !is_date("2100-02-29"));
        assert!(!is_date("2026-04-31") && is_date("2000-02-29"));
        assert!(is_time("23:59:59.5"));
        assert!(!is_time("24:00"));
        assert!(is_datetime("2026-01-31T12:00:00Z", true));
        assert!(is_datetime("2026-01-31 12:00:00+02:00", true));
        assert!(!is_datetime("2026-01-31T12:00:00", true));
        assert!(is_datetime("2026-01-31T12:00:00", false));
        assert!(decimal_fits("12.50", 4, 2));
        assert!(!decimal_fits("123.5", 4, 2));
        assert!(!decimal_fits("1.234", 6, 2));
        assert!(!decimal_fits("abc", 6, 2));
    }
}
