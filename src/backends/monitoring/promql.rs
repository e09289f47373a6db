//! Small builders for the PromQL the rules and dashboards use. Every metric is written as a
//! selector with braces (`name{…}`), so that a test can find each metric an expression names.

use std::fmt::Write as _;

/// A label matcher: `label="value"` or `label=~"regex"`.
pub enum Matcher<'a> {
    Eq(&'a str, String),
    Re(&'a str, String),
    NotRe(&'a str, String),
}

/// `metric{matchers}`, with values quoted as PromQL strings.
pub fn selector(metric: &str, matchers: &[Matcher<'_>]) -> String {
    let mut text = format!("{metric}{{");
    for (i, m) in matchers.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let (label, op, value) = match m {
            Matcher::Eq(l, v) => (l, "=", v),
            Matcher::Re(l, v) => (l, "=~", v),
            Matcher::NotRe(l, v) => (l, "!~", v),
        };
        let _ = write!(text, "{label}{op}{}", quote(value));
    }
    text.push('}');
    text
}

/// A PromQL string literal.
pub fn quote(value: &str) -> String {
    let mut text = String::with_capacity(value.len() + 2);
    text.push('"');
    for c in value.chars() {
        match c {
            '"' => text.push_str("\\\""),
            '\\' => text.push_str("\\\\"),
            '\n' => text.push_str("\\n"),
            c => text.push(c),
        }
    }
    text.push('"');
    text
}

/// A regex matching exactly one of `values`. `.` is written `[.]`, so no backslash has to
/// survive two rounds of string escaping; names hold no other regex syntax.
pub fn one_of(values: &[String]) -> String {
    values
        .iter()
        .map(|v| {
            let mut out = String::new();
            for c in v.chars() {
                match c {
                    '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                        let _ = write!(out, "[{c}]");
                    }
                    '\\' => out.push_str("[\\\\]"),
                    c => out.push(c),
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// The `le` matcher for a bucket bound. The service writes the shortest decimal (`1`,
/// `0.00005`); Prometheus 3 rewrites it on scrape as Go's `%g` does (`1.0`, `5e-05`). Both
/// spellings are matched.
pub fn le(bound: f64) -> Matcher<'static> {
    let label = crate::passes::le_label(bound);
    let mut spellings = vec![label.clone()];
    let g = go_g(bound);
    let g = if g.contains(['.', 'e', 'I']) {
        g
    } else {
        format!("{g}.0")
    };
    if g != label {
        spellings.push(g);
    }
    if spellings.len() == 1 {
        Matcher::Eq("le", label)
    } else {
        Matcher::Re("le", one_of(&spellings))
    }
}

/// `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest digits, with an exponent (of at least
/// two digits) below 1e-4 or from 1e21 up.
fn go_g(v: f64) -> String {
    if v == f64::INFINITY {
        return "+Inf".to_owned();
    }
    let e = format!("{v:e}"); // `5e-5`, `1.5e3`
    let (mantissa, exp) = e.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    if v != 0.0 && !(-4..21).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

/// A duration in Prometheus' syntax, in the largest unit that divides it (`30d`, `90m`).
pub fn duration(ms: u64) -> String {
    const UNITS: [(u64, &str); 6] = [
        (7 * 86_400_000, "w"),
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
        (1, "ms"),
    ];
    if ms == 0 {
        return "0s".to_owned();
    }
    for (size, unit) in UNITS {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    unreachable!("1 ms divides every duration")
}

/// A number as PromQL reads it, rounded to 10 significant digits so that `1 - 0.99` is
/// written `0.01`, not `0.010000000000000009`.
pub fn number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let rounded: f64 = format!("{value:.9e}").parse().expect("a float reads back");
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_largest_unit() {
        assert_eq!(duration(30 * 86_400_000), "30d");
        assert_eq!(duration(14 * 86_400_000), "2w");
        assert_eq!(duration(90 * 60_000), "90m");
        assert_eq!(duration(3_600_000), "1h");
        assert_eq!(duration(1_500), "1500ms");
    }

    #[test]
    fn selectors_quote_and_regexes_escape() {
        assert_eq!(
            selector(
                "x_total",
                &[
                    Matcher::Eq("a", "say \"hi\"".into()),
                    Matcher::Re("f", one_of(&["a.out->b.in".into(), "c".into()]))
                ]
            ),
            r#"x_total{a="say \"hi\"",f=~"a[.]out->b[.]in|c"}"#
        );
    }

    #[test]
    fn numbers_lose_float_noise() {
        assert_eq!(number(1.0 - 0.99), "0.01");
        assert_eq!(number(1.0 - 99.9 / 100.0), "0.001");
        assert_eq!(number(14.4), "14.4");
        assert_eq!(number(600.0), "600");
        assert_eq!(number(0.0), "0");
        assert_eq!(number((100.0 - 99.999) / 100.0), "0.00001");
    }

    #[test]
    fn bounds_match_the_spelling_of_prometheus_2_and_3() {
        assert!(matches!(le(1.0), Matcher::Re("le", v) if v == "1|1[.]0"));
        assert!(matches!(le(0.02), Matcher::Eq("le", v) if v == "0.02"));
        assert!(matches!(le(0.00005), Matcher::Re("le", v) if v == "0[.]00005|5e-05"));
        assert!(matches!(le(0.000_125), Matcher::Eq("le", v) if v == "0.000125"));
        assert!(matches!(le(0.000_012_5), Matcher::Re("le", v) if v == "0[.]0000125|1[.]25e-05"));
        assert_eq!(go_g(0.0001), "0.0001");
        assert_eq!(go_g(2.5), "2.5");
    }
}
