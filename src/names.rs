//! Names: splitting into words, re-casing, and the English plural of table names.

/// Type names the generated service's code uses beside an entity's own (`src/backends/code/`):
/// an entity that flows may not take one, and `v5c new` never names one so.
pub const RUST_RESERVED_TYPES: &[&str] = &[
    "Box",
    "Bytes",
    "Decimal",
    "Deserialize",
    "Emitter",
    "Entity",
    "Logic",
    "Option",
    "Result",
    "Serialize",
    "String",
    "Vec",
];

/// The words of a name in any case: `OrderLine`, `order_line`, `order-line`, `HTTPServer`
/// (→ `http`, `server`). Words are lower case; characters other than letters and digits split.
pub fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

pub fn snake(name: &str) -> String {
    words(name).join("_")
}

pub fn pascal<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| {
            let mut chars = w.as_ref().chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

pub fn is_snake(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

pub fn is_pascal(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
        && name.len() <= 63
}

pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// The English plural of a lower-case word, by the regular rules and a few common exceptions.
pub fn plural(word: &str) -> String {
    const IRREGULAR: &[(&str, &str)] = &[
        ("person", "people"),
        ("child", "children"),
        ("man", "men"),
        ("woman", "women"),
        ("mouse", "mice"),
        ("goose", "geese"),
        ("foot", "feet"),
        ("tooth", "teeth"),
        ("datum", "data"),
        ("index", "indexes"),
        ("status", "statuses"),
        ("analysis", "analyses"),
        ("series", "series"),
        ("species", "species"),
        ("news", "news"),
        ("metadata", "metadata"),
        ("data", "data"),
    ];
    if let Some((_, p)) = IRREGULAR.iter().find(|(s, _)| *s == word) {
        return (*p).to_owned();
    }
    let ends = |s: &str| word.ends_with(s);
    let vowel_before_last = word
        .chars()
        .rev()
        .nth(1)
        .is_some_and(|c| "aeiou".contains(c));
    if ends("s") || ends("x") || ends("z") || ends("ch") || ends("sh") {
        format!("{word}es")
    } else if ends("y") && !vowel_before_last && word.len() > 1 {
        format!("{}ies", &word[..word.len() - 1])
    } else {
        format!("{word}s")
    }
}

/// The default table name of an entity: snake_case with the last word pluralised.
pub fn table_name(entity: &str) -> String {
    let mut words = words(entity);
    if let Some(last) = words.last_mut() {
        *last = plural(last);
    }
    words.join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_recases() {
        assert_eq!(words("OrderLine"), ["order", "line"]);
        assert_eq!(words("HTTPServer"), ["http", "server"]);
        assert_eq!(words("order_line-item"), ["order", "line", "item"]);
        assert_eq!(words("Sha256Digest"), ["sha256", "digest"]);
        assert_eq!(pascal(&words("order_line")), "OrderLine");
        assert_eq!(snake("IoTReading"), "io_t_reading");
    }

    #[test]
    fn pluralises_table_names() {
        assert_eq!(table_name("Order"), "orders");
        assert_eq!(table_name("Category"), "categories");
        assert_eq!(table_name("Day"), "days");
        assert_eq!(table_name("Address"), "addresses");
        assert_eq!(table_name("OrderLine"), "order_lines");
        assert_eq!(table_name("Person"), "people");
        assert_eq!(table_name("Status"), "statuses");
        assert_eq!(table_name("Box"), "boxes");
    }

    #[test]
    fn name_shapes() {
        assert!(is_snake("created_at"));
        assert!(!is_snake("CreatedAt"));
        assert!(is_pascal("LineItem"));
        assert!(!is_pascal("line_item"));
        assert!(is_dns_label("online-shop"));
        assert!(!is_dns_label("online-shop-"));
        assert!(!is_dns_label("Online"));
    }
}
