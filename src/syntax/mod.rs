//! Parsers for the small languages inside spec values (`grammar/spec.pest`).
//!
//! Each parser takes the text of one YAML scalar and returns a value whose parts carry byte
//! ranges into that text, or a [`SyntaxError`] whose range points at the exact character at
//! fault. Callers map the ranges into the file with `Spanned::sub_span`.

use pest::Parser;
use pest::error::InputLocation;
use pest::iterators::Pair;
use std::ops::Range;
use std::sync::Mutex;

pub use crate::ir::{Comparison, Indicator};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/spec.pest"]
struct Grammar;

/// A problem in a value's text, with the byte range inside the text.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub range: Range<usize>,
}

/// Text and where it sits in the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<T> {
    pub value: T,
    pub range: Range<usize>,
}

impl<T> Part<T> {
    fn new(value: T, range: Range<usize>) -> Self {
        Part { value, range }
    }
}

fn part_str(pair: &Pair<'_, Rule>) -> Part<String> {
    Part::new(pair.as_str().to_owned(), range(pair))
}

fn range(pair: &Pair<'_, Rule>) -> Range<usize> {
    let span = pair.as_span();
    span.start()..span.end()
}

/// A field type as written, before names are checked.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeExpr {
    /// `uuid`, `string(64)`, `decimal(12,2)`: a name and its numeric arguments.
    Named {
        name: Part<String>,
        args: Vec<Part<u64>>,
    },
    Ref(Part<String>),
    Enum(Vec<Part<String>>),
    List(Box<TypeExpr>, Range<usize>),
}

/// One end of a flow hop: a component and, optionally, its port.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub component: Part<String>,
    pub port: Option<Part<String>>,
    pub range: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SloValue {
    Percent(f64),
    Milliseconds(f64),
    PerSecond(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloExpr {
    pub target: Part<String>,
    pub indicator: Part<Indicator>,
    pub comparison: Part<Comparison>,
    pub value: Part<SloValue>,
    /// The window in milliseconds, if written.
    pub window: Option<Part<f64>>,
}

fn parse(rule: Rule, text: &str) -> Result<Pair<'_, Rule>, SyntaxError> {
    match Grammar::parse(rule, text) {
        // The entry rule matched the whole text (it ends in EOI), so there is exactly one pair.
        Ok(mut pairs) => Ok(pairs.next().expect("an entry rule yields one pair")),
        Err(_) => Err(detailed_error(rule, text)),
    }
}

/// Parses `text` again, this time recording the literal tokens the parser expected (`)`,
/// `->`), which make the message precise. Recording them costs a fifth of the parse, so it is
/// done only for text that failed. pest keeps the switch in a global, so detailed parses take
/// turns; a fast parse on another thread meanwhile merely records more than it needs.
fn detailed_error(rule: Rule, text: &str) -> SyntaxError {
    static DETAIL: Mutex<()> = Mutex::new(());
    let _turn = DETAIL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pest::set_error_detail(true);
    let result = Grammar::parse(rule, text);
    pest::set_error_detail(false);
    match result {
        Ok(_) => SyntaxError {
            message: "the text parses only sometimes (a bug in v5c)".into(),
            range: 0..text.len(),
        },
        Err(e) => syntax_error(&e, text),
    }
}

fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::ident | Rule::slo_target => "a name",
        Rule::uint => "a whole number",
        Rule::decimal | Rule::count_number | Rule::count => "a number",
        Rule::type_expr | Rule::named_type => "a type",
        Rule::list_type => "`list<…>`",
        Rule::ref_type => "`ref(…)`",
        Rule::enum_type => "`enum(…)`",
        Rule::enum_value => "an enum value",
        Rule::endpoint => "a component",
        Rule::duration_unit => "a unit (`ms`, `s`, `m`, `h`, `d`)",
        Rule::size_unit => "a unit (`Ki`, `Mi`, `Gi`, `KB`, `MB`, `GB`)",
        Rule::millis => "`m`",
        Rule::magnitude => "`k`",
        Rule::rate_unit | Rule::per_second => "a unit (`/s`, `/min`, `rps`)",
        Rule::noun => "a word",
        Rule::time_unit => "a time unit (`s`, `min`, `h`)",
        Rule::indicator | Rule::latency | Rule::percentile => {
            "a quantity (`p99 latency`, `availability`, `throughput`, `error rate`)"
        }
        Rule::latency_kw => "`latency`",
        Rule::comparison => "a comparison (`<`, `<=`, `>`, `>=`)",
        Rule::slo_value | Rule::slo_duration | Rule::percent | Rule::rate_body => {
            "a value (`20ms`, `99.9%`, `1000rps`)"
        }
        Rule::window => "`over` and a duration",
        Rule::duration_body => "a duration",
        Rule::size_body => "a size",
        Rule::cpu_body => "a CPU quantity",
        Rule::EOI => "the end",
        _ => return None,
    })
}

fn syntax_error(error: &pest::error::Error<Rule>, text: &str) -> SyntaxError {
    let mut pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<String> = Vec::new();
    let attempts = error.parse_attempts();
    // The detailed attempts reach further when the parser last expected a literal (a `)`
    // after `ref(User`): that is where the text went wrong.
    let further = attempts.as_ref().filter(|a| a.max_position > pos);
    if let Some(a) = further {
        pos = a.max_position;
    } else if let pest::error::ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            if let Some(words) = rule_words(*rule) {
                expected.push(words.to_owned());
            }
        }
    }
    // Literal tokens add nothing when a rule already names what belongs here ("a unit (`ms`,
    // `s`, …)" says more than "`m`, `ms`, `s`, …").
    let named = !expected.is_empty();
    if let Some(attempts) = attempts.filter(|a| a.max_position == pos && !named) {
        for token in attempts.expected_tokens() {
            // Literal tokens print as themselves; ranges ("0..9") and built-in rules are
            // already named by the rules that hold them.
            let token = token.to_string();
            if token.trim().is_empty() || token == "BUILTIN_RULE" || token.contains("..") {
                continue;
            }
            expected.push(format!("`{token}`"));
        }
    }
    expected.sort();
    expected.dedup();
    // "the end" is rarely what the writer was reaching for; mention it last.
    if let Some(i) = expected.iter().position(|e| e == "the end") {
        let end = expected.remove(i);
        expected.push(end);
    }
    let found = text[pos..].chars().next();
    let expected_words = join_phrases(&expected);
    let only_end = expected.iter().all(|e| e == "the end");
    let message = match found {
        Some(c) if only_end => format!("unexpected {}", char_words(c)),
        Some(c) => format!("expected {expected_words}, found {}", char_words(c)),
        None if text.trim().is_empty() => format!("expected {expected_words}, found nothing"),
        None => format!("expected {expected_words} after `{}`", text.trim_end()),
    };
    let end = found.map_or(pos, |c| pos + c.len_utf8());
    SyntaxError {
        message,
        range: pos..end,
    }
}

fn char_words(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        c => format!("`{c}`"),
    }
}

/// "a, b or c" of phrases that carry their own quoting.
fn join_phrases(items: &[String]) -> String {
    match items {
        [] => "something else".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// How deeply brackets may nest in a type: `list<list<…>>` goes two deep and is already
/// refused by the types pass; the limit keeps every recursive walk of a type shallow.
const MAX_TYPE_DEPTH: usize = 8;

/// Parses a field type expression.
pub fn field_type(text: &str) -> Result<TypeExpr, SyntaxError> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_TYPE_DEPTH {
            return Err(SyntaxError {
                message: format!("types nest at most {MAX_TYPE_DEPTH} deep"),
                range: i..i + 1,
            });
        }
    }
    let pair = parse(Rule::field_type, text)?;
    let expr = pair
        .into_inner()
        .next()
        .expect("field_type holds a type_expr");
    Ok(type_expr(expr))
}

fn type_expr(pair: Pair<'_, Rule>) -> TypeExpr {
    let whole = range(&pair);
    let inner = pair
        .into_inner()
        .next()
        .expect("type_expr has one alternative");
    match inner.as_rule() {
        Rule::list_type => {
            let item = inner.into_inner().next().expect("list_type holds its item");
            TypeExpr::List(Box::new(type_expr(item)), whole)
        }
        Rule::ref_type => {
            let name = inner.into_inner().next().expect("ref_type holds a name");
            TypeExpr::Ref(part_str(&name))
        }
        Rule::enum_type => TypeExpr::Enum(inner.into_inner().map(|p| part_str(&p)).collect()),
        _ => {
            let mut parts = inner.into_inner();
            let name = part_str(&parts.next().expect("named_type starts with a name"));
            let args = parts
                .next()
                .map(|args| {
                    args.into_inner()
                        .map(|n| Part::new(n.as_str().parse().unwrap_or(u64::MAX), range(&n)))
                        .collect()
                })
                .unwrap_or_default();
            TypeExpr::Named { name, args }
        }
    }
}

/// Parses a flow into its endpoints (at least two).
pub fn flow(text: &str) -> Result<Vec<Endpoint>, SyntaxError> {
    let pair = parse(Rule::flow, text)?;
    Ok(pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::endpoint)
        .map(|p| {
            let whole = range(&p);
            let mut names = p.into_inner();
            let component = part_str(&names.next().expect("an endpoint names a component"));
            let port = names.next().map(|n| part_str(&n));
            Endpoint {
                component,
                port,
                range: whole,
            }
        })
        .collect())
}

fn duration_ms(pair: Pair<'_, Rule>) -> f64 {
    let mut total = 0.0;
    let mut inner = pair.into_inner();
    while let (Some(number), Some(unit)) = (inner.next(), inner.next()) {
        let n: f64 = number.as_str().parse().unwrap_or(f64::INFINITY);
        let factor = match unit.as_str() {
            "us" => 0.001,
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => 604_800_000.0,
        };
        total += n * factor;
    }
    total
}

/// Parses a duration into milliseconds.
pub fn duration(text: &str) -> Result<f64, SyntaxError> {
    let pair = parse(Rule::duration, text)?;
    Ok(duration_ms(
        pair.into_inner().next().expect("duration holds its body"),
    ))
}

/// Parses a size into bytes.
pub fn size(text: &str) -> Result<f64, SyntaxError> {
    let pair = parse(Rule::size, text)?;
    let mut inner = pair
        .into_inner()
        .next()
        .expect("size holds its body")
        .into_inner();
    let n: f64 = inner
        .next()
        .map_or(0.0, |p| p.as_str().parse().unwrap_or(f64::INFINITY));
    let factor: f64 = match inner.next().map(|u| u.as_str()) {
        None | Some("B") => 1.0,
        Some("k" | "K" | "KB") => 1e3,
        Some("M" | "MB") => 1e6,
        Some("G" | "GB") => 1e9,
        Some("T" | "TB") => 1e12,
        Some("Ki" | "KiB") => 1024.0,
        Some("Mi" | "MiB") => 1024.0 * 1024.0,
        Some("Gi" | "GiB") => 1024.0 * 1024.0 * 1024.0,
        Some(_) => 1024.0 * 1024.0 * 1024.0 * 1024.0,
    };
    Ok(n * factor)
}

/// Parses a CPU quantity into millicores.
pub fn cpu(text: &str) -> Result<f64, SyntaxError> {
    let pair = parse(Rule::cpu, text)?;
    let mut inner = pair
        .into_inner()
        .next()
        .expect("cpu holds its body")
        .into_inner();
    let n: f64 = inner
        .next()
        .map_or(0.0, |p| p.as_str().parse().unwrap_or(f64::INFINITY));
    Ok(if inner.next().is_some() {
        n
    } else {
        n * 1000.0
    })
}

fn rate_per_second(pair: Pair<'_, Rule>) -> f64 {
    let mut inner = pair.into_inner();
    let count = inner.next().expect("a rate starts with a count");
    let unit = inner.next().expect("a rate ends with a unit");
    let mut count_parts = count.into_inner();
    let number: f64 = count_parts.next().map_or(0.0, |p| {
        p.as_str().replace(',', "").parse().unwrap_or(f64::INFINITY)
    });
    let magnitude = match count_parts.next().map(|m| m.as_str()) {
        Some("k" | "K") => 1e3,
        Some("M") => 1e6,
        _ => 1.0,
    };
    let per = unit
        .into_inner()
        .find(|p| p.as_rule() == Rule::time_unit)
        .map_or(1.0, |t| match t.as_str() {
            "minute" | "min" | "m" => 60.0,
            "hour" | "h" => 3600.0,
            _ => 1.0,
        });
    number * magnitude / per
}

/// Parses a rate into events per second.
pub fn rate(text: &str) -> Result<f64, SyntaxError> {
    let pair = parse(Rule::rate, text)?;
    Ok(rate_per_second(
        pair.into_inner().next().expect("rate holds its body"),
    ))
}

/// Parses an SLO expression.
pub fn slo(text: &str) -> Result<SloExpr, SyntaxError> {
    let pair = parse(Rule::slo, text)?;
    let mut inner = pair.into_inner();
    let target = part_str(&inner.next().expect("an SLO names its target"));

    let indicator_pair = inner.next().expect("an SLO names a quantity");
    let indicator_range = range(&indicator_pair);
    let which = indicator_pair
        .into_inner()
        .next()
        .expect("indicator has one alternative");
    let indicator = match which.as_rule() {
        Rule::latency => {
            let p = which.into_inner().next().expect("latency has a percentile");
            Indicator::Latency {
                percentile: p.as_str()[1..].parse().unwrap_or(f64::INFINITY),
            }
        }
        Rule::availability => Indicator::Availability,
        Rule::throughput => Indicator::Throughput,
        _ => Indicator::ErrorRate,
    };

    let cmp = inner.next().expect("an SLO compares");
    let comparison = match cmp.as_str() {
        "<" => Comparison::Lt,
        "<=" => Comparison::Le,
        ">" => Comparison::Gt,
        _ => Comparison::Ge,
    };

    let value_pair = inner.next().expect("an SLO has a value");
    let value_range = range(&value_pair);
    let v = value_pair
        .into_inner()
        .next()
        .expect("slo_value has one alternative");
    let value = match v.as_rule() {
        Rule::percent => SloValue::Percent(
            v.into_inner()
                .next()
                .map_or(0.0, |n| n.as_str().parse().unwrap_or(f64::INFINITY)),
        ),
        Rule::slo_duration => SloValue::Milliseconds(duration_ms(
            v.into_inner()
                .next()
                .expect("slo_duration holds a duration"),
        )),
        _ => SloValue::PerSecond(rate_per_second(v)),
    };

    let window = inner
        .next()
        .filter(|p| p.as_rule() == Rule::window)
        .map(|w| {
            let r = range(&w);
            let body = w.into_inner().next().expect("window holds a duration");
            Part::new(duration_ms(body), r)
        });

    Ok(SloExpr {
        target,
        indicator: Part::new(indicator, indicator_range),
        comparison: Part::new(comparison, range(&cmp)),
        value: Part::new(value, value_range),
        window,
    })
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // values compared are exact by construction
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert!(matches!(
            field_type("decimal(12, 2)").unwrap(),
            TypeExpr::Named { ref name, ref args } if name.value == "decimal" && args.len() == 2
        ));
        let TypeExpr::List(item, _) = field_type("list<ref(User)>").unwrap() else {
            panic!("a list")
        };
        assert!(matches!(*item, TypeExpr::Ref(ref n) if n.value == "User" && n.range == (9..13)));
        let TypeExpr::Enum(values) = field_type("enum(a, b-c, d,)").unwrap() else {
            panic!("an enum")
        };
        assert_eq!(values.len(), 3);
        assert_eq!(values[1].range, 8..11);
    }

    #[test]
    fn type_errors_point_inside() {
        let e = field_type("ref(User").unwrap_err();
        assert_eq!(e.range, 8..8);
        assert!(e.message.contains("`)`"), "{}", e.message);
        let e = field_type("string(x)").unwrap_err();
        assert_eq!(e.range, 7..8);
        assert!(e.message.contains("a whole number"), "{}", e.message);
    }

    #[test]
    fn deep_types_are_refused_before_parsing() {
        let deep = format!("{}int32{}", "list<".repeat(3000), ">".repeat(3000));
        let e = field_type(&deep).unwrap_err();
        // The ninth `<`: each `list<` is five characters.
        assert_eq!(e.range, 44..45);
        assert!(field_type("list<list<int32>>").is_ok());
    }

    #[test]
    fn flows() {
        let hops = flow("ingest -> enrich.out -> events").unwrap();
        assert_eq!(hops.len(), 3);
        assert_eq!(hops[1].port.as_ref().unwrap().value, "out");
        assert_eq!(hops[2].component.range, 24..30);
        let e = flow("a -> ").unwrap_err();
        assert_eq!(e.message, "expected a name after `a ->`");
        assert!(flow("a").is_err());
        assert!(flow("a => b").is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(duration("200ms").unwrap(), 200.0);
        assert_eq!(duration("1m30s").unwrap(), 90_000.0);
        assert_eq!(duration("30d").unwrap(), 2_592_000_000.0);
        assert!(duration("5 parsecs").is_err());
        assert_eq!(size("512Mi").unwrap(), 536_870_912.0);
        assert_eq!(size("1GB").unwrap(), 1e9);
        assert_eq!(cpu("250m").unwrap(), 250.0);
        assert_eq!(cpu("1.5").unwrap(), 1500.0);
        assert_eq!(rate("5000/s").unwrap(), 5000.0);
        assert_eq!(rate("5k/s").unwrap(), 5000.0);
        assert_eq!(rate("20,000/s").unwrap(), 20_000.0);
        assert_eq!(rate("1000rps").unwrap(), 1000.0);
        assert_eq!(rate("600/min").unwrap(), 10.0);
        assert_eq!(rate("2000 events/s").unwrap(), 2000.0);
        assert!(rate("fast").is_err());
    }

    #[test]
    fn slos() {
        let s = slo("api p99 latency < 20ms").unwrap();
        assert_eq!(s.target.value, "api");
        assert_eq!(s.indicator.value, Indicator::Latency { percentile: 99.0 });
        assert_eq!(s.comparison.value, Comparison::Lt);
        assert_eq!(s.value.value, SloValue::Milliseconds(20.0));
        let s = slo("api availability >= 99.9% over 30d").unwrap();
        assert_eq!(s.value.value, SloValue::Percent(99.9));
        assert_eq!(s.window.unwrap().value, 2_592_000_000.0);
        let s = slo("ingest throughput >= 5k/s").unwrap();
        assert_eq!(s.value.value, SloValue::PerSecond(5000.0));
        let s = slo("api error rate < 1%").unwrap();
        assert_eq!(s.indicator.value, Indicator::ErrorRate);
        let s = slo("api p99.9 latency <= 1s").unwrap();
        assert_eq!(s.indicator.value, Indicator::Latency { percentile: 99.9 });
        let e = slo("api p99 latency ~ 20ms").unwrap_err();
        assert_eq!(e.range, 16..17);
        assert!(e.message.contains("comparison"), "{}", e.message);
    }
}
