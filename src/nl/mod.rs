//! The natural-language front end: `v5c new "DESCRIPTION"` writes a spec a person would have
//! written, offline and deterministically.
//!
//! 1. `grammar/nl.pest` splits the text into sentences, clauses and tokens (words, quantities
//!    such as `20k` or `99.9%`, commas).
//! 2. Each clause becomes a row of elements ([`El`]): noun phrases, the verbs and relations of
//!    `grammar/lexicon.yaml`, prepositions, conjunctions and signs (an engine, a target, a
//!    word for a kind of component).
//! 3. [`Reader`] reads the rows into a [`Draft`]: entities with their fields and references,
//!    components, databases, SLOs and deploy targets, each with the span of text it came from.
//! 4. [`emit`] writes the draft as a spec whose every derived line quotes its words, with what
//!    was not understood listed at the top.
//!
//! What is not in the text is not invented, beyond the documented defaults: an `id` key per
//! entity; SQLite when something must be stored and no engine is named; an entity `Event`
//! for a pipeline whose messages are not named, and `Item` for an api with nothing named to
//! expose.

mod lexicon;

use indexmap::IndexMap;
use lexicon::{Lexicon, Relation, Sign};
use pest::Parser;
use std::fmt::Write as _;
use std::ops::Range;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/nl.pest"]
struct Grammar;

/// Verbs after which another verb may follow: `is kept`, `must be`, `are assigned`.
const AUXILIARIES: &[&str] = &[
    "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "must", "can",
    "could", "will", "would", "should", "may", "might", "shall", "do", "does", "did", "need",
    "needs",
];

/// Nouns that name the system or its parts even in a relation: never an entity.
const SYSTEM_NOUNS: &[&str] = &[
    "system",
    "service",
    "platform",
    "api",
    "database",
    "pipeline",
    "backend",
    "table",
    "queue",
    "stream",
    "feed",
    "sink",
    "source",
    "store",
    "endpoint",
    "one",
    "everything",
    "data",
];

/// Units of time, which after a number or `every` belong to it (`every 5 minutes`).
const TIME_UNITS: &[&str] = &[
    "millisecond",
    "second",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
];

/// Words after which a noun comes, never a verb.
const ARTICLES: &[&str] = &[
    "a", "an", "the", "each", "every", "its", "their", "our", "your", "my", "his", "her", "this",
    "these", "those",
];

/// A token: a word, a quantity or a comma, with its byte range in the text.
#[derive(Debug, Clone)]
struct Tok {
    low: String,
    range: Range<usize>,
    kind: TokKind,
    /// The clause it is in.
    clause: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TokKind {
    Word,
    Quantity,
    Comma,
}

/// A clause: a range of tokens, in a sentence.
#[derive(Debug, Clone)]
struct Clause {
    toks: Range<usize>,
    sentence: usize,
    /// Within brackets: an aside on what stands before it (`products (name, price)`).
    bracketed: bool,
    /// Right after a closing bracket: the clause the bracket interrupted goes on.
    after_bracket: bool,
}

/// An element of a clause.
#[derive(Debug, Clone)]
enum El {
    Np(Np),
    Rel(Relation, Range<usize>),
    Verb(Range<usize>),
    Sign(Sign, Range<usize>),
    Prep(String),
    Conj,
    Comma,
    /// `when it was achieved`: a moment field, `achieved_at`.
    When(String, Range<usize>),
    /// `that`, `which`, `who` after a noun: the noun is the subject of what follows.
    Relative,
    /// `where`: a clause of its own follows (`a shop where customers place orders`).
    Where,
}

impl El {
    /// A verb, a relation, or a verb that says what kind of component is there.
    fn is_verb(&self) -> bool {
        matches!(self, El::Rel(..) | El::Verb(..)) || matches!(self, El::Sign(s, _) if s.is_verb())
    }
}

/// A noun phrase: its words (lower case, determiners left out), their tokens, and whether an
/// article (`a`, `an`, `one`) stood before it.
#[derive(Debug, Clone)]
struct Np {
    words: Vec<String>,
    toks: Range<usize>,
    article: bool,
}

/// Where a derived item came from: byte ranges of the text.
#[derive(Debug, Clone, Default)]
struct Ground(Vec<Range<usize>>);

impl Ground {
    fn of(range: Range<usize>) -> Ground {
        Ground(vec![range])
    }
}

#[derive(Debug, Clone)]
struct FieldDraft {
    ty: String,
    format: Option<String>,
    ground: Ground,
}

#[derive(Debug, Clone)]
struct EntityDraft {
    ground: Ground,
    fields: IndexMap<String, FieldDraft>,
    /// Target entity (snake) → where it was said.
    refs: IndexMap<String, Ground>,
    /// The engine named in the clause that stores it, if any.
    engine: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Measure {
    P99,
    P95,
    P50,
    Rps,
    Availability,
}

#[derive(Debug, Clone)]
struct SloDraft {
    measure: Measure,
    value: f64,
    ground: Ground,
}

/// What the description says.
#[derive(Debug, Default)]
struct Draft {
    system: Option<(String, Ground)>,
    engines: IndexMap<String, Ground>,
    /// Databases v5c does not write for, by display name.
    other_engines: IndexMap<String, Ground>,
    targets: IndexMap<String, Ground>,
    api: Option<Ground>,
    read_only: bool,
    storage: Option<Ground>,
    /// A database is said not to be needed.
    no_database: Option<Ground>,
    source: Option<Ground>,
    transformers: IndexMap<String, Ground>,
    sinks: IndexMap<String, Ground>,
    entities: IndexMap<String, EntityDraft>,
    /// The entity the pipeline carries, and where.
    message: Option<(String, Ground)>,
    slos: Vec<SloDraft>,
}

/// A written spec and the words of the description it did not understand.
#[derive(Debug)]
pub struct NewSpec {
    pub yaml: String,
    pub unknown: Vec<String>,
    /// What else the person should know: databases named that v5c does not write for.
    pub notes: Vec<String>,
}

/// Writes a spec from a description.
pub fn new_spec(text: &str) -> NewSpec {
    let lex = Lexicon::get();
    let (toks, clauses) = tokenize(text);
    let mut reader = Reader {
        text,
        lex,
        toks,
        used: Vec::new(),
        draft: Draft::default(),
        last_entity: None,
        relaxed: false,
        in_slo: Vec::new(),
    };
    reader.used = vec![false; reader.toks.len()];
    reader.in_slo = vec![false; reader.toks.len()];
    reader.read(&clauses);
    let unknown = reader.unknown();
    let (yaml, notes) = emit(text, &reader.draft, &unknown);
    NewSpec {
        yaml,
        unknown,
        notes,
    }
}

fn tokenize(text: &str) -> (Vec<Tok>, Vec<Clause>) {
    let mut toks = Vec::new();
    let mut clauses = Vec::new();
    // The grammar takes any text; a failure would be a bug in it, and gives no clauses.
    let Ok(mut pairs) = Grammar::parse(Rule::text, text) else {
        return (toks, clauses);
    };
    let Some(root) = pairs.next() else {
        return (toks, clauses);
    };
    for (n, sentence) in root
        .into_inner()
        .filter(|p| p.as_rule() == Rule::sentence)
        .enumerate()
    {
        let mut depth = 0_usize;
        let mut closed = false;
        for clause in sentence.into_inner() {
            if clause.as_rule() == Rule::clause_break {
                match clause.as_str() {
                    "(" | "[" => depth += 1,
                    ")" | "]" => {
                        depth = depth.saturating_sub(1);
                        closed = depth == 0;
                    }
                    _ => closed = false,
                }
                continue;
            }
            if clause.as_rule() != Rule::clause {
                continue;
            }
            let start = toks.len();
            for item in clause.into_inner() {
                let span = item.as_span();
                let kind = match item.as_rule() {
                    Rule::word => TokKind::Word,
                    Rule::quantity => TokKind::Quantity,
                    Rule::comma => TokKind::Comma,
                    _ => continue,
                };
                toks.push(Tok {
                    low: item.as_str().to_lowercase().replace('’', "'"),
                    range: span.start()..span.end(),
                    kind,
                    clause: clauses.len(),
                });
            }
            if toks.len() > start {
                clauses.push(Clause {
                    toks: start..toks.len(),
                    sentence: n,
                    bracketed: depth > 0,
                    after_bracket: closed,
                });
            }
            closed = false;
        }
    }
    (toks, clauses)
}

/// Plurals of words in -ie: `movies`, `cookies`.
const IE_PLURALS: &[&str] = &[
    "movies",
    "cookies",
    "calories",
    "pies",
    "ties",
    "lies",
    "zombies",
    "selfies",
    "smoothies",
    "brownies",
    "rookies",
    "goalies",
    "hippies",
    "freebies",
    "sorties",
];

/// The singular of a lower-case noun.
fn singular(word: &str) -> String {
    const SAME: &[&str] = &[
        "series", "species", "news", "data", "media", "status", "analysis",
    ];
    if SAME.contains(&word) || word.len() < 4 {
        return word.to_owned();
    }
    if let Some(stem) = word.strip_suffix("people") {
        return format!("{stem}person");
    }
    if IE_PLURALS.contains(&word) {
        return word[..word.len() - 1].to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    // `buses`, `statuses`; but `houses`, `causes`.
    if word.ends_with("uses") && !word.ends_with("ouses") && !word.ends_with("auses") {
        return word[..word.len() - 2].to_owned();
    }
    for suffix in ["sses", "ches", "shes", "xes", "zes"] {
        if let Some(stem) = word.strip_suffix(suffix) {
            return format!("{stem}{}", &suffix[..suffix.len() - 2]);
        }
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_owned();
    }
    word.strip_suffix('s').unwrap_or(word).to_owned()
}

fn is_plural(word: &str) -> bool {
    singular(word) != word
}

/// A letter with an accent as ASCII (`é` → `e`), for names.
fn ascii(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

fn snake_words(words: &[String]) -> String {
    let words: Vec<String> = words
        .iter()
        .map(|w| w.chars().map(ascii).collect())
        .collect();
    words
        .iter()
        .flat_map(|w| w.split(['-', '_', '\'']))
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

struct Reader<'t> {
    text: &'t str,
    lex: &'static Lexicon,
    toks: Vec<Tok>,
    used: Vec<bool>,
    draft: Draft,
    /// The entity spoken of last: what `them` and `it` refer to.
    last_entity: Option<String>,
    /// Reading a relation (`an application belongs to a candidate`), where a noun that
    /// usually names the system names an entity.
    relaxed: bool,
    /// Tokens an SLO took.
    in_slo: Vec<bool>,
}

impl Reader<'_> {
    fn words(&self, range: Range<usize>) -> Vec<&str> {
        self.toks[range].iter().map(|t| t.low.as_str()).collect()
    }

    fn span(&self, toks: Range<usize>) -> Range<usize> {
        if toks.is_empty() {
            return 0..0;
        }
        self.toks[toks.start].range.start..self.toks[toks.end - 1].range.end
    }

    fn mark(&mut self, toks: Range<usize>) {
        for i in toks {
            self.used[i] = true;
        }
    }

    fn read(&mut self, clauses: &[Clause]) {
        self.signs_and_slos(clauses);
        // A bracket is an aside on the noun before it; the clause it interrupted goes on after
        // it (`a shop with products (name, price) and orders`).
        let mut rows: Vec<(Vec<El>, usize)> = Vec::new();
        let mut asides: Vec<(Option<Np>, Vec<El>)> = Vec::new();
        for c in clauses {
            let before = rows.last_mut().filter(|(_, s)| *s == c.sentence);
            // A clause resumed after a bracket knows whether its first part had a verb.
            let verb_before = c.after_bracket
                && before
                    .as_ref()
                    .is_some_and(|(row, _)| row.iter().any(El::is_verb));
            let els = self.elements(c.toks.clone(), verb_before, c.after_bracket);
            if c.bracketed {
                let anchor = match before.and_then(|(row, _)| row.last()) {
                    Some(El::Np(np)) => Some(np.clone()),
                    _ => None,
                };
                asides.push((anchor, els));
            } else if let (true, Some((row, _))) = (c.after_bracket, before) {
                row.extend(els);
            } else {
                rows.push((els, c.sentence));
            }
        }
        // `tickets, which have a status,` and `tasks that have a title`: the relative clause
        // is read as a sentence of its own about the noun, and the rest without it.
        let rows: Vec<(Vec<El>, usize)> = rows
            .into_iter()
            .flat_map(|(row, s)| {
                row.split(|e| matches!(e, El::Where))
                    .filter(|part| !part.is_empty())
                    .map(|part| (part.to_vec(), s))
                    .collect::<Vec<_>>()
            })
            .flat_map(|(row, s)| self.relatives(row).into_iter().map(move |r| (r, s)))
            .collect();
        self.system_name(&rows);
        for (row, _) in &rows {
            self.relations(row);
        }
        for (anchor, aside) in &asides {
            self.aside(anchor.as_ref(), aside);
        }
        self.kind_nouns();
    }

    /// A bracket. Only a plain list of nouns says something: after an entity, two or more
    /// field-like nouns are its fields (`companies (name, website, industry)`), and plural
    /// nouns are entities (`hotels (rooms, guests, bookings)`, `orders (and their line
    /// items)`). Anything else (`(optional)`, `(e.g. Stripe)`, `(checking or savings)`,
    /// `(p99 < 100ms)`) is read as a clause of its own, which mostly finds nothing.
    fn aside(&mut self, anchor: Option<&Np>, aside: &[El]) {
        let nps: Vec<&Np> = aside
            .iter()
            .filter_map(|e| match e {
                El::Np(n) => Some(n),
                _ => None,
            })
            .collect();
        let list = !nps.is_empty()
            && aside
                .iter()
                .all(|e| matches!(e, El::Np(_) | El::Comma | El::Conj));
        let span = nps.first().map_or(0..0, |f| {
            f.toks.start..nps.last().map_or(f.toks.end, |l| l.toks.end)
        });
        // `or` gives alternatives (enum values), never fields.
        let plain = span
            .into_iter()
            .all(|t| !self.in_slo[t] && self.toks[t].low != "or");
        if !list || !plain {
            self.relations(aside);
            return;
        }
        if matches!(aside.first(), Some(El::Conj)) || nps.iter().all(|n| self.plural_noun(n)) {
            for n in nps {
                if self.plural_noun(n) {
                    self.entity(n, true);
                }
            }
            return;
        }
        let anchor_entity = anchor.filter(|a| {
            self.plural_noun(a)
                || self
                    .entity_name(a)
                    .is_some_and(|e| self.draft.entities.contains_key(&e))
        });
        let Some(anchor) = anchor_entity.filter(|_| nps.len() >= 2) else {
            self.relations(aside);
            return;
        };
        let Some(entity) = self.entity(anchor, true) else {
            return;
        };
        for n in nps {
            self.add_field(&entity, n);
        }
    }

    /// Splits a relative clause off its row: `customers open tickets, which have a status,
    /// and agents …` gives `tickets have a status` and `customers open tickets and agents …`.
    /// The relative clause ends at the end of the row, or where a comma (and `and`) brings a
    /// new plural noun or a verb.
    fn relatives(&self, row: Vec<El>) -> Vec<Vec<El>> {
        let Some(r) = row.iter().position(|e| matches!(e, El::Relative)) else {
            return vec![row];
        };
        let noun = match row[..r] {
            [.., El::Np(ref n)] => Some((n.clone(), r - 1)),
            [.., El::Np(ref n), El::Comma] => Some((n.clone(), r - 2)),
            _ => None,
        };
        let verb = |e: Option<&El>| e.is_some_and(El::is_verb);
        // `which are filtered, enriched …`: a participle goes on with the relative clause.
        let participle = |e: Option<&El>| match e {
            Some(El::Verb(range) | El::Rel(_, range) | El::Sign(_, range)) => {
                self.toks[range.start].low.ends_with("ed")
            }
            _ => false,
        };
        let end = (r + 1..row.len())
            .find(|&j| {
                matches!(row[j], El::Comma)
                    && ((verb(row.get(j + 1)) && !participle(row.get(j + 1)))
                        || matches!(&row[j + 1..], [El::Np(n), ..] | [El::Conj, El::Np(n), ..] if self.plural_noun(n)))
            })
            .unwrap_or(row.len());
        let (noun, at) = match noun {
            // The row's own subject (`a service that receives events, validates them and
            // …`), or no noun to hang it on: drop the pronoun (and its comma) and read on.
            Some((_, 0)) | None => {
                let mut row = row;
                row.remove(r);
                if r > 0 && matches!(row[r - 1], El::Comma) {
                    row.remove(r - 1);
                }
                return self.relatives(row);
            }
            Some(noun) => noun,
        };
        let mut clause = vec![El::Np(noun)];
        clause.extend_from_slice(&row[r + 1..end]);
        let mut rest = row[..=at].to_vec();
        // `agents, who belong to teams, answer them`: the comma before the verb goes too.
        let resume = if end < row.len() && verb(row.get(end + 1)) {
            end + 1
        } else {
            end
        };
        rest.extend_from_slice(&row[resume..]);
        let mut out = self.relatives(rest);
        out.extend(self.relatives(clause));
        out
    }

    /// Engines, targets, kinds of component and SLOs: words that mean the same wherever they
    /// stand.
    fn signs_and_slos(&mut self, clauses: &[Clause]) {
        let all: Vec<String> = self.toks.iter().map(|t| t.low.clone()).collect();
        let words: Vec<&str> = all.iter().map(String::as_str).collect();
        let mut i = 0;
        while i < words.len() {
            let Some((len, sign)) = self.lex.sign_at(&words, i) else {
                i += 1;
                continue;
            };
            let range = i..i + len;
            let ground = Ground::of(self.span(range.clone()));
            // `no database needed`, `without a queue`: said not to be there.
            let negated = i > 0 && matches!(words[i - 1], "no" | "without" | "not");
            if negated {
                if matches!(sign, Sign::Storage | Sign::Engine(_)) {
                    self.draft.no_database.get_or_insert(ground);
                }
                // `no MongoDB` says nothing of the engines v5c writes for.
                if matches!(sign, Sign::Storage | Sign::Engine(_) | Sign::OtherEngine(_)) {
                    self.mark(i - 1..i + len);
                }
                i += len;
                continue;
            }
            // Verbs of a kind (`store`, `collect`, `enrich`, `send`) count where they stand as
            // verbs, which the clause reading decides (`posts` may be a noun).
            // Their nouns of action (`processing`, `aggregation`) count anywhere.
            let action_noun =
                words[i + len - 1].ends_with("ing") || words[i + len - 1].ends_with("ion");
            if sign.is_verb() && !action_noun {
                i += len;
                continue;
            }
            let mut used = true;
            match sign {
                Sign::Engine(e) => {
                    self.draft.engines.entry(e).or_insert(ground);
                }
                Sign::OtherEngine(e) => {
                    self.draft.other_engines.entry(e).or_insert(ground);
                }
                Sign::Target(t) => {
                    // `compose` alone is a verb too often; only with `docker` is it a target.
                    if words[i] == "compose" && len == 1 && (i == 0 || words[i - 1] != "docker") {
                        used = false;
                    } else {
                        self.draft.targets.entry(t).or_insert(ground);
                    }
                }
                Sign::Api => {
                    self.draft.api.get_or_insert(ground);
                }
                Sign::Storage | Sign::StoreVerb => {
                    self.draft.storage.get_or_insert(ground);
                }
                Sign::SourceVerb | Sign::SourceWord | Sign::SinkWord => {
                    // Nouns for sources and sinks (`stream`, `webhook`) count unless a field
                    // or an entity took them (`an email`): see `kind_nouns`.
                    used = false;
                }
                Sign::TransformerVerb => {
                    let name = self.base_form(words[i]);
                    self.draft.transformers.entry(name).or_insert(ground);
                }
                Sign::SinkVerb => {
                    let name = self.base_form(words[i..i + len].last().copied().unwrap_or(""));
                    self.draft.sinks.entry(name).or_insert(ground);
                }
            }
            if used {
                self.mark(range);
            }
            i += len;
        }
        // `a read-only API`: only list and get.
        if let Some(at) = words.iter().position(|w| *w == "read-only") {
            self.draft.read_only = true;
            self.used[at] = true;
        }
        let mut by_sentence: IndexMap<usize, Vec<usize>> = IndexMap::new();
        for c in clauses {
            by_sentence
                .entry(c.sentence)
                .or_default()
                .extend(c.toks.clone());
        }
        for toks in by_sentence.values() {
            self.slos(toks);
        }
    }

    /// The shortest form of a word the lexicon knows (`enriches` → `enrich`), as a name.
    fn base_form(&self, word: &str) -> String {
        std::iter::once(word.to_owned())
            .chain(lexicon::lemmas(word))
            .filter(|c| self.lex.signs.contains(c))
            .min_by_key(String::len)
            .unwrap_or_else(|| word.to_owned())
            .replace('-', "_")
    }

    /// A quantity's value: `20k` → 20000, `10,000` → 10000, `99.9%` → 99.9, `100ms` → 100.
    fn quantity(&self, i: usize) -> Option<(f64, String)> {
        let t = self.toks.get(i)?;
        match t.kind {
            TokKind::Quantity => {
                let text = t.low.replace(',', "");
                let digits: String = text
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let unit = text[digits.len()..].trim().to_owned();
                let mut value: f64 = digits.parse().ok()?;
                match unit.as_str() {
                    "k" => value *= 1000.0,
                    "m" => value *= 1_000_000.0,
                    _ => {}
                }
                Some((value, unit))
            }
            TokKind::Word => self.lex.numbers.get(&t.low).map(|v| (*v, String::new())),
            TokKind::Comma => None,
        }
    }

    fn slos(&mut self, toks: &[usize]) {
        let words: Vec<&str> = toks.iter().map(|i| self.toks[*i].low.as_str()).collect();
        let has = |list: &str, at: usize| self.lex.slo(list).at(&words, at);
        let mut found = Vec::new();
        for at in 0..words.len() {
            // Percentile latency: `p99 … 50 ms`, `within 20 ms at the 99th percentile`.
            for (list, measure) in [
                ("p99", Measure::P99),
                ("p95", Measure::P95),
                ("p50", Measure::P50),
            ] {
                let Some((len, ())) = has(list, at) else {
                    continue;
                };
                // The nearest duration, after the percentile first, then before it.
                let after = (at + len..words.len().min(at + len + 8)).collect::<Vec<_>>();
                let before = (at.saturating_sub(8)..at).rev().collect::<Vec<_>>();
                if let Some((q, (value, unit_words))) = after
                    .into_iter()
                    .chain(before)
                    .find_map(|q| self.duration_ms(toks, &words, q).map(|v| (q, v)))
                {
                    let (lo, hi) = (at.min(q), (at + len).max(q + 1 + unit_words));
                    found.push((measure, value, toks[lo]..toks[hi - 1] + 1));
                }
            }
            // Throughput: `20k events per second`, `500 rps`.
            if let Some((value, unit)) = self.quantity(toks[at]) {
                let rate = if unit == "rps" || unit == "qps" || unit == "/s" || unit == "/sec" {
                    Some(at + 1)
                } else {
                    has("throughput_units", at + 1).and_then(|(len, ())| {
                        let next = at + 1 + len;
                        has("per_second", next)
                            .map(|(l, ())| next + l)
                            .or_else(|| (words.get(at + 1) == Some(&"rps")).then_some(at + 2))
                    })
                };
                if let Some(end) = rate {
                    found.push((Measure::Rps, value, toks[at]..toks[end - 1] + 1));
                }
                // Availability: `99.95% availability`, `99.9 percent uptime`.
                let percent = unit == "%"
                    || (unit.is_empty() && matches!(words.get(at + 1), Some(&("percent" | "%"))));
                if percent {
                    let near = (at.saturating_sub(4)..words.len().min(at + 4))
                        .find(|n| has("availability", *n).is_some());
                    if let Some(n) = near {
                        let (lo, hi) = (at.min(n), (at + 1).max(n + 1));
                        found.push((Measure::Availability, value, toks[lo]..toks[hi - 1] + 1));
                    }
                }
            }
            if let Some((len, value)) = self.lex.nines.at(&words, at) {
                found.push((
                    Measure::Availability,
                    value,
                    toks[at]..toks[at + len - 1] + 1,
                ));
            }
        }
        for (measure, value, range) in found {
            if self.draft.slos.iter().any(|s| s.measure == measure) {
                continue;
            }
            self.mark(range.clone());
            for t in range.clone() {
                self.in_slo[t] = true;
            }
            let ground = Ground::of(self.span(range));
            self.draft.slos.push(SloDraft {
                measure,
                value,
                ground,
            });
        }
    }

    /// Milliseconds at `words[q]` (`50 ms`, `100ms`, `2 seconds`), and how many words the
    /// unit took after the number.
    fn duration_ms(&self, toks: &[usize], words: &[&str], q: usize) -> Option<(f64, usize)> {
        let (value, unit) = self.quantity(toks[q])?;
        let next = words.get(q + 1).copied().unwrap_or("");
        let ms = self.lex.slo("milliseconds");
        let secs = self.lex.slo("seconds");
        if ms.contains(&unit) {
            Some((value, 0))
        } else if unit.is_empty() && ms.contains(next) {
            Some((value, 1))
        } else if secs.contains(&unit) {
            Some((value * 1000.0, 0))
        } else if unit.is_empty() && secs.contains(next) {
            Some((value * 1000.0, 1))
        } else {
            None
        }
    }

    /// `every 5 minutes`, `per minute`, `each day`: the token is a unit of time that belongs
    /// to the number or word before it, and names nothing of its own.
    fn unit_of_time(&self, t: usize) -> bool {
        t > 0
            && TIME_UNITS.contains(&singular(&self.toks[t].low).as_str())
            && (self.toks[t - 1].kind == TokKind::Quantity
                || matches!(self.toks[t - 1].low.as_str(), "every" | "each" | "per"))
    }

    /// A clause as elements.
    fn elements(&self, toks: Range<usize>, verb_before: bool, resumed: bool) -> Vec<El> {
        let lex = self.lex;
        let words = self.words(toks.clone());
        let base = toks.start;
        let mut out: Vec<El> = Vec::new();
        let mut np: Option<Np> = None;
        let mut article = false;
        let mut seen_verb = verb_before;
        let flush = |np: &mut Option<Np>, out: &mut Vec<El>| {
            if let Some(n) = np.take() {
                out.push(El::Np(n));
            }
        };
        let mut i = 0;
        while i < words.len() {
            let w = words[i];
            let at = base + i;
            // `when it was achieved` → `achieved_at`.
            if w == "when"
                && matches!(words.get(i + 1), Some(&("it" | "they")))
                && matches!(words.get(i + 2), Some(&("was" | "were" | "is" | "are")))
                && words.get(i + 3).is_some_and(|v| v.ends_with("ed"))
            {
                flush(&mut np, &mut out);
                out.push(El::When(format!("{}_at", words[i + 3]), at..at + 4));
                i += 4;
                continue;
            }
            // `a number of bedrooms` → `bedroom_count`.
            if w == "number" && words.get(i + 1) == Some(&"of") && i + 2 < words.len() {
                flush(&mut np, &mut out);
                let head = singular(words[i + 2]);
                np = Some(Np {
                    words: vec![head, "count".to_owned()],
                    toks: at..at + 3,
                    article,
                });
                i += 3;
                continue;
            }
            // `a date of birth`: a field the lexicon knows, spelled with `of`.
            if words.get(i + 1) == Some(&"of") && i + 2 < words.len() {
                let joined = format!("{w}_of_{}", words[i + 2]);
                if lex.field_types.contains_key(&joined) {
                    flush(&mut np, &mut out);
                    np = Some(Np {
                        words: vec![joined],
                        toks: at..at + 3,
                        article,
                    });
                    i += 3;
                    continue;
                }
            }
            if self.toks[at].kind == TokKind::Comma {
                flush(&mut np, &mut out);
                out.push(El::Comma);
                article = false;
                i += 1;
                continue;
            }
            if self.toks[at].kind == TokKind::Quantity {
                flush(&mut np, &mut out);
                i += 1;
                continue;
            }
            let prev_np = np.is_some()
                || matches!(out.last(), Some(El::Np(_) | El::Relative))
                // `is kept`, `must be`: a verb after an auxiliary.
                || (np.is_none() && i > 0 && AUXILIARIES.contains(&words[i - 1]));
            // `the score value`: after a determiner comes a noun.
            let after_det = i > 0 && ARTICLES.contains(&words[i - 1]);
            // `we ingest payments`: a verb after a personal pronoun.
            let after_pronoun = i > 0 && matches!(words[i - 1], "we" | "i" | "you" | "they");
            let prev_conj = matches!(out.last(), Some(El::Conj | El::Comma));
            let next = words.get(i + 1).copied().unwrap_or("");
            let next_is_function = lex.determiners.contains(next)
                || lex.prepositions.contains(next)
                || next.is_empty();
            // A word that may be a verb is one where a verb can stand: after its subject,
            // after `and` in a clause that has a verb, or first in an order (`Store links`).
            let verb_here = !after_det
                && (prev_np
                    || after_pronoun
                    || (prev_conj && seen_verb && (next_is_function || !is_plural(w)))
                    || (i == 0 && !is_plural(w) && !lex.verbs.contains(next)));
            // `expenses are approved by managers`: a participle after `is`/`are` and before
            // `by` says who the subject belongs to.
            if i > 0
                && matches!(words[i - 1], "is" | "are" | "was" | "were" | "be" | "been")
                && next == "by"
                && !lex.determiners.contains(w)
                && !lex.prepositions.contains(w)
                && lex.relations.at(&words, i).is_none()
                // `by managers`, `by the manager`; not `by Stripe`.
                && words
                    .get(i + 2)
                    .is_some_and(|n| is_plural(n) || ARTICLES.contains(n))
            {
                flush(&mut np, &mut out);
                out.push(El::Rel(Relation::BelongsTo, at..at + 2));
                seen_verb = true;
                article = false;
                i += 2;
                continue;
            }
            if verb_here {
                if let Some((len, rel)) = lex.relations.at(&words, i) {
                    flush(&mut np, &mut out);
                    // `Create a school system with …`: an order, whose object is the system.
                    if i == 0 && !verb_before && rel == Relation::Creates {
                        out.push(El::Verb(at..at + len));
                    } else {
                        out.push(El::Rel(rel, at..at + len));
                    }
                    seen_verb = true;
                    article = false;
                    i += len;
                    continue;
                }
            }
            // `…, backed by SQLite`, `…, stored in SQLite`.
            let participle = at > 0
                && self.toks[at - 1].kind == TokKind::Comma
                && (w.ends_with("ed") || lex.prepositions.contains(next));
            if let Some((len, sign)) = lex.sign_at(&words, i) {
                let verbish = sign.is_verb();
                // `…, stored in SQLite`: a participle after a comma is a verb; so is a verb
                // of a kind first in an order (`Store links in SQLite`), or after `and` or a
                // comma in a clause that has a verb (`parses them, filters debug lines`).
                let verb_here = verb_here
                    || (!after_det
                        && ((len == 1 && participle)
                            || (verbish && i == 0 && !is_plural(w))
                            || (verbish
                                && prev_conj
                                && seen_verb
                                && !lex.verbs.contains(next)
                                && lex.relations.at(&words, i + 1).is_none())));
                // Words for kinds that are nouns (`events`, `email`) stay in noun phrases.
                let thing = matches!(
                    sign,
                    Sign::Engine(_)
                        | Sign::OtherEngine(_)
                        | Sign::Target(_)
                        | Sign::Api
                        | Sign::Storage
                );
                if thing || (verbish && verb_here) {
                    flush(&mut np, &mut out);
                    if verbish {
                        seen_verb = true;
                    }
                    out.push(El::Sign(sign, at..at + len));
                    article = false;
                    i += len;
                    continue;
                }
            }
            // `a service that integrates with Stripe`: after `that`, a verb, known or not.
            let after_relative = matches!(out.last(), Some(El::Relative))
                && np.is_none()
                && !lex.determiners.contains(w)
                && !lex.prepositions.contains(w);
            // `…, answer them`: a word before a pronoun object, where a verb may stand.
            let before_pronoun = matches!(next, "them" | "it") && !lex.determiners.contains(w);
            if after_relative
                || ((verb_here || participle) && (lex.verbs.contains(w) || before_pronoun))
            {
                flush(&mut np, &mut out);
                out.push(El::Verb(at..at + 1));
                seen_verb = true;
                article = false;
                i += 1;
                continue;
            }
            if lex.conjunctions.at(&words, i).is_some() {
                let (len, ()) = lex.conjunctions.at(&words, i).expect("matched");
                flush(&mut np, &mut out);
                out.push(El::Conj);
                article = false;
                i += len;
                continue;
            }
            if lex.prepositions.contains(w) {
                flush(&mut np, &mut out);
                out.push(El::Prep(w.to_owned()));
                article = false;
                i += 1;
                continue;
            }
            if self.unit_of_time(at) {
                flush(&mut np, &mut out);
                i += 1;
                continue;
            }
            if w == "where" {
                flush(&mut np, &mut out);
                out.push(El::Where);
                article = false;
                i += 1;
                continue;
            }
            // `tasks that have a title`, `tickets, which have a status`.
            if matches!(w, "that" | "which" | "who")
                && (np.is_some()
                    || matches!(out.last(), Some(El::Np(_)))
                    || matches!(out.as_slice(), [.., El::Np(_), El::Comma])
                    // `expenses (amount, category), which are approved`.
                    || (resumed && matches!(out.as_slice(), [] | [El::Comma])))
            {
                flush(&mut np, &mut out);
                out.push(El::Relative);
                article = false;
                i += 1;
                continue;
            }
            if lex.determiners.contains(w) || matches!(w, "that" | "which" | "who" | "where") {
                flush(&mut np, &mut out);
                if matches!(w, "a" | "an" | "one") {
                    article = true;
                }
                // `them`, `it`: the entity spoken of last.
                if matches!(w, "them" | "it" | "they") {
                    out.push(El::Np(Np {
                        words: vec![w.to_owned()],
                        toks: at..at + 1,
                        article: false,
                    }));
                }
                i += 1;
                continue;
            }
            match &mut np {
                Some(n) => {
                    n.words.push(w.to_owned());
                    n.toks.end = at + 1;
                }
                None => {
                    np = Some(Np {
                        words: vec![w.to_owned()],
                        toks: at..at + 1,
                        article,
                    });
                }
            }
            i += 1;
        }
        flush(&mut np, &mut out);
        // `environments override flags`: a plural noun, a word the lexicon does not know, and
        // a noun — subject, verb, object.
        let mut split = Vec::with_capacity(out.len());
        let followed_by_prep: Vec<bool> = (0..out.len())
            .map(|k| matches!(out.get(k + 1), Some(El::Prep(_))))
            .collect();
        // `candidates apply to job openings` (two words before a preposition), `environments
        // override flags` (three or more): a plural noun, then a word that is no noun.
        let splits = |n: &Np, before_prep: bool| {
            let two = n.words.len() == 2
                && before_prep
                && !is_plural(&n.words[1])
                && !lex.field_types.contains_key(&n.words[1]);
            let more = n.words.len() >= 3 && !n.words[1].ends_with('s');
            (two || more) && is_plural(&n.words[0]) && !lex.qualifiers.contains(&n.words[0])
        };
        for (k, el) in out.into_iter().enumerate() {
            match el {
                El::Np(n) if splits(&n, followed_by_prep[k]) => {
                    let t = n.toks.start;
                    split.push(El::Np(Np {
                        words: vec![n.words[0].clone()],
                        toks: t..t + 1,
                        article: n.article,
                    }));
                    split.push(El::Verb(t + 1..t + 2));
                    if n.words.len() > 2 {
                        split.push(El::Np(Np {
                            words: n.words[2..].to_vec(),
                            toks: t + 2..n.toks.end,
                            article: false,
                        }));
                    }
                }
                other => split.push(other),
            }
        }
        split
    }

    /// The system's name: the first noun phrase naming the system (`online shop`, `blog
    /// engine`), or the first noun phrase.
    fn system_name(&mut self, rows: &[(Vec<El>, usize)]) {
        let nps = |rows: &[(Vec<El>, usize)]| -> Vec<Np> {
            rows.iter()
                .flat_map(|(row, _)| row.iter())
                .filter_map(|e| match e {
                    El::Np(n) if !matches!(n.words[0].as_str(), "them" | "it" | "they") => {
                        Some(n.clone())
                    }
                    _ => None,
                })
                .collect()
        };
        let first_sentence: Vec<Np> = nps(&rows
            .iter()
            .take_while(|(_, s)| *s == 0)
            .cloned()
            .collect::<Vec<_>>());
        let first_clause: Vec<Np> = nps(&rows[..rows.len().min(1)]);
        // A noun for a kind of system (`online shop`, `booking service`) in the first
        // sentence; else the first noun of the first clause that is neither vague nor a
        // unit (`minute`, `Kafka`); else the system stays `system`.
        let systemish = first_sentence.iter().find(|n| {
            n.words
                .last()
                .is_some_and(|w| self.lex.system_heads.contains(w))
        });
        let named = first_clause.iter().find(|n| {
            n.words.last().is_some_and(|w| {
                !w.contains('-')
                    && !self.lex.not_entities.contains(w)
                    && !self.lex.signs.contains(w)
            })
        });
        let Some(np) = systemish.or(named).cloned() else {
            return;
        };
        let np = &np;
        let words: Vec<String> = np
            .words
            .iter()
            .filter(|w| !w.contains('-') || np.words.len() == 1)
            .cloned()
            .collect();
        let tail = &words[words.len().saturating_sub(2)..];
        let name = snake_words(tail).replace('_', "-");
        let name: String = name.chars().take(40).collect();
        let name = name.trim_matches('-').to_owned();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return;
        }
        let ground = Ground::of(self.span(np.toks.clone()));
        self.mark(np.toks.clone());
        // The system's own words may name an entity too: `recipe catalogue` → `Recipe`.
        if np.words.len() >= 2
            && np
                .words
                .last()
                .is_some_and(|w| self.lex.containers.contains(w))
        {
            let modifier = Np {
                words: np.words[..np.words.len() - 1].to_vec(),
                toks: np.toks.start..np.toks.end - 1,
                article: false,
            };
            self.entity(&modifier, true);
        }
        self.draft.system = Some((name, ground));
    }

    /// The entity a noun phrase names, if it names one (snake case): qualifiers and vague
    /// heads left out, the last word singular.
    fn entity_name(&self, np: &Np) -> Option<String> {
        let lex = self.lex;
        let mut words: Vec<String> = np.words.clone();
        if matches!(words[0].as_str(), "them" | "it" | "they") {
            return self.last_entity.clone();
        }
        while words.len() > 1 && (lex.qualifiers.contains(&words[0]) || words[0].contains('-')) {
            words.remove(0);
        }
        // `session data` → session; `page view events` → page_view; `audit events` stays.
        let last = words.last()?.clone();
        let event_head = matches!(last.as_str(), "events" | "event");
        if words.len() > 1
            && ((lex.generic_heads.contains(&last) && !event_head)
                || (event_head && words.len() > 2))
        {
            words.pop();
        }
        let words: Vec<String> = words.into_iter().rev().take(3).rev().collect();
        let head = singular(words.last()?);
        let vague = lex.not_entities.contains(&head) || lex.not_entities.contains(words.last()?);
        if (vague && (!self.relaxed || SYSTEM_NOUNS.contains(&head.as_str())))
            || matches!(
                lex.signs.value(&head),
                Some(
                    Sign::Engine(_)
                        | Sign::OtherEngine(_)
                        | Sign::Target(_)
                        | Sign::Api
                        | Sign::Storage
                )
            )
            || head.chars().any(|c| c.is_ascii_digit())
            || (head.ends_with("ly") && !lex.ly_nouns.contains(&head))
            || head.len() < 3
            || matches!(head.as_str(), "one" | "other" | "another" | "everything")
        {
            return None;
        }
        let mut all = words.clone();
        *all.last_mut()? = head;
        let mut name = snake_words(&all);
        // A name the generated code keeps for itself (`Result`, `Option`) gets a suffix.
        if crate::names::RUST_RESERVED_TYPES.contains(&pascal(&name).as_str()) {
            name.push_str("_record");
        }
        (!name.is_empty() && name.starts_with(|c: char| c.is_ascii_lowercase())).then_some(name)
    }

    /// Runs `f` with the lexicon's nouns that are rarely entities (`subscribers`, `clients`)
    /// let through: for relations and for what the text plainly says is kept or sent.
    fn relaxed<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let was = std::mem::replace(&mut self.relaxed, true);
        let out = f(self);
        self.relaxed = was;
        out
    }

    /// Takes a noun phrase as an entity (made if new); its name.
    fn entity(&mut self, np: &Np, strong: bool) -> Option<String> {
        // `20,000 events per second` is an SLO, not a thing.
        if np.toks.clone().any(|t| self.in_slo[t]) {
            return None;
        }
        let name = self.entity_name(np)?;
        if !strong && !self.draft.entities.contains_key(&name) {
            return None;
        }
        let ground = Ground::of(self.span(np.toks.clone()));
        self.mark(np.toks.clone());
        self.draft
            .entities
            .entry(name.clone())
            .or_insert_with(|| EntityDraft {
                ground,
                fields: IndexMap::new(),
                refs: IndexMap::new(),
                engine: None,
            });
        self.last_entity = Some(name.clone());
        Some(name)
    }

    /// A field a noun phrase names on `entity`: (name, type, format).
    fn field(&self, entity: &str, np: &Np) -> Option<(String, String, Option<String>)> {
        let lex = self.lex;
        let mut words: Vec<String> = np.words.clone();
        // `the score value` on Score → `value`.
        if words.len() > 1 && singular(&words[0]) == entity.rsplit('_').next().unwrap_or(entity) {
            words.remove(0);
        }
        let mut ty = None;
        if words.len() > 1 {
            if let Some(t) = lex.type_heads.get(words.last()?) {
                ty = Some(t.clone());
                words.pop();
            }
        }
        let name = snake_words(&words);
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return None;
        }
        let last = name.rsplit('_').next().unwrap_or(&name).to_owned();
        let ty = ty
            .or_else(|| lex.field_types.get(&name).cloned())
            .or_else(|| lex.field_types.get(&last).cloned())
            .unwrap_or_else(|| {
                if name.ends_with("_at") {
                    "timestamp".into()
                } else if name.ends_with("_date") || name.ends_with("_on") {
                    "date".into()
                } else if name.ends_with("_id") {
                    "string(64)".into()
                } else if name.ends_with("_count") {
                    "int32".into()
                } else {
                    "string(200)".into()
                }
            });
        let format = lex
            .formats
            .get(&name)
            .or_else(|| lex.formats.get(&last))
            .cloned();
        Some((name, ty, format))
    }

    fn add_field(&mut self, entity: &str, np: &Np) {
        // A field named after an entity is a reference to it.
        if let Some(target) = self.entity_name(np) {
            if target != entity && self.draft.entities.contains_key(&target) {
                let ground = Ground::of(self.span(np.toks.clone()));
                self.mark(np.toks.clone());
                self.add_ref(entity, &target, ground);
                return;
            }
        }
        if np.words.len() == 1
            && self.lex.not_entities.contains(&np.words[0])
            && !self.lex.field_types.contains_key(&np.words[0])
        {
            return;
        }
        let Some((name, ty, format)) = self.field(entity, np) else {
            return;
        };
        self.mark(np.toks.clone());
        let ground = Ground::of(self.span(np.toks.clone()));
        if let Some(e) = self.draft.entities.get_mut(entity) {
            e.fields
                .entry(name)
                .or_insert(FieldDraft { ty, format, ground });
        }
    }

    fn add_ref(&mut self, from: &str, to: &str, ground: Ground) {
        if from == to {
            return;
        }
        if let Some(e) = self.draft.entities.get_mut(from) {
            e.refs.entry(to.to_owned()).or_insert(ground);
        }
    }

    /// A noun that reads as a field: `a title`, or a word the lexicon types (`price`), not a
    /// condition such as `high latency` or `missing values`.
    fn fieldish(&self, np: &Np) -> bool {
        let last = np.words.last().map_or("", String::as_str);
        np.article
            || self.lex.field_types.contains_key(last)
            || self.lex.field_types.contains_key(&snake_words(&np.words))
    }

    /// `… with a status`: a field-like noun after `with` is a field of `entity`. Whether it was.
    fn field_with(&mut self, entity: &str, np: &Np) -> bool {
        let field = !self.names_entities(np) && self.fieldish(np);
        if field {
            self.add_field(entity, np);
        }
        field
    }

    /// `issues have comments`: a plural of a text field's word (comments, notes, messages,
    /// tags) with no article, which `have` makes things of their own.
    fn plural_text(&self, np: &Np) -> bool {
        let head = np.words.last().map_or("", String::as_str);
        let one = singular(head);
        !np.article
            && is_plural(head)
            && self
                .lex
                .field_types
                .get(&one)
                .is_some_and(|t| t.starts_with("string"))
            && !self.lex.formats.contains_key(&one)
            && self.entity_name(np).is_some()
    }

    /// A plural noun that could name entities, field word or not: `comments` in `comments
    /// with an author`, where the `with` says it has fields of its own.
    fn plural_noun(&self, np: &Np) -> bool {
        let head = np.words.last().map_or("", String::as_str);
        !np.article && is_plural(head) && self.entity_name(np).is_some()
    }

    /// Whether an object of `have` names entities (`rooms`) rather than a field (`a name`).
    fn names_entities(&self, np: &Np) -> bool {
        let head = np.words.last().map_or("", String::as_str);
        !np.article
            && is_plural(head)
            && !self.lex.field_types.contains_key(&singular(head))
            && self.entity_name(np).is_some()
    }

    /// Reads a clause's relations: subjects, verbs and their objects.
    fn relations(&mut self, row: &[El]) {
        // Objects in order, each with the preposition before it.
        let mut subject: Option<(Np, usize)> = None;
        // `authors and editors write posts`: the subjects before the last.
        let mut co_subjects: Vec<Np> = Vec::new();
        let mut i = 0;
        // A list of plural nouns with no verb (`books, members and loans`), or after `with`
        // on something that is not an entity (`a blog engine with authors, posts and
        // comments`): entities.
        let has_verb = row.iter().any(El::is_verb);
        if !has_verb {
            let nps: Vec<&Np> = row
                .iter()
                .filter_map(|e| match e {
                    El::Np(n) => Some(n),
                    _ => None,
                })
                .collect();
            if nps.len() >= 2 && nps.iter().all(|n| self.names_entities(n)) {
                for n in nps {
                    self.entity(n, true);
                }
            }
        }
        for el in row {
            if let El::Sign(sign, range) = el {
                self.kind_verb(sign, range.clone());
            }
        }
        while i < row.len() {
            match &row[i] {
                El::Np(n) => {
                    let listed = i >= 2
                        && matches!(row[i - 1], El::Conj | El::Comma)
                        && subject.as_ref().is_some_and(|(_, at)| *at == i - 2);
                    if listed {
                        if let Some((prev, _)) = subject.take() {
                            co_subjects.push(prev);
                        }
                    } else {
                        co_subjects.clear();
                    }
                    subject = Some((n.clone(), i));
                    i += 1;
                }
                // `an inventory of laptops and monitors`.
                El::Prep(p)
                    if p == "of"
                        && subject.as_ref().is_some_and(|(n, at)| {
                            *at + 1 == i
                                && n.words
                                    .last()
                                    .is_some_and(|w| self.lex.containers.contains(w))
                        }) =>
                {
                    let (objects, next) = Self::objects(row, i + 1);
                    for (_, o) in &objects {
                        if self.names_entities(o) {
                            self.entity(o, true);
                        }
                    }
                    i = next;
                }
                El::Prep(p) if p == "with" => {
                    // `comments with an author`: the list ends where another noun naming
                    // entities takes its own `with`.
                    let (mut objects, mut next) = Self::objects(row, i + 1);
                    if let Some(k) = Self::noun_with(row, i + 1..next, |n| self.plural_noun(n)) {
                        objects = Self::objects(&row[..k], i + 1).0;
                        next = k;
                    }
                    // `posts with a title and a body`: a noun naming entities, then what each
                    // has. After a subject that is not an entity (`a blog engine with authors
                    // and posts`), `with` lists entities.
                    let mut own = objects.iter().filter(|(_, o)| !self.names_entities(o));
                    let fields_follow =
                        own.clone().next().is_some() && own.all(|(_, o)| self.fieldish(o));
                    let subject_entity = subject.as_ref().and_then(|(n, at)| {
                        let known = self
                            .entity_name(n)
                            .filter(|e| self.draft.entities.contains_key(e));
                        if known.is_some() {
                            known
                        } else if *at + 1 == i && fields_follow && self.plural_noun(n) {
                            let n = n.clone();
                            self.entity(&n, true)
                        } else {
                            None
                        }
                    });
                    match subject_entity {
                        Some(entity) => {
                            for (_, o) in &objects {
                                self.add_field(&entity, o);
                            }
                        }
                        None => {
                            // `a blog with posts and comments`: beside entities, a plural field
                            // word (`comments`, `notes`) is one too.
                            let listed = objects.iter().any(|(_, o)| self.names_entities(o));
                            for (_, o) in &objects {
                                if self.names_entities(o) || (listed && self.plural_text(o)) {
                                    self.entity(o, true);
                                }
                            }
                        }
                    }
                    i = next;
                }
                El::Rel(rel, range) => {
                    let rel = *rel;
                    let range = range.clone();
                    let (objects, next) = Self::objects(row, i + 1);
                    let subj = subject.as_ref().map(|(n, _)| n.clone());
                    for co in std::mem::take(&mut co_subjects) {
                        self.relation(rel, range.clone(), Some(&co), &objects);
                    }
                    self.relation(rel, range, subj.as_ref(), &objects);
                    i = next;
                }
                El::Sign(Sign::StoreVerb, range) => {
                    let range = range.clone();
                    let (objects, next) = Self::objects(row, i + 1);
                    let subj = subject.as_ref().map(|(n, _)| n.clone());
                    // The engine it is stored in: the first named after the verb.
                    let engine = row[i..].iter().find_map(|e| match e {
                        El::Sign(Sign::Engine(name), _) => Some(name.clone()),
                        _ => None,
                    });
                    if objects.is_empty() {
                        for co in std::mem::take(&mut co_subjects) {
                            self.stored(range.clone(), Some(&co), &objects, engine.clone(), false);
                        }
                    }
                    self.stored(range, subj.as_ref(), &objects, engine, false);
                    i = next;
                }
                // `a table of daily sales with a date`.
                El::Sign(Sign::Storage, range) if matches!(row.get(i + 1), Some(El::Prep(p)) if p == "of") =>
                {
                    let range = range.clone();
                    let (objects, next) = Self::objects(row, i + 1);
                    let engine = row[..i].iter().rev().find_map(|e| match e {
                        El::Sign(Sign::Engine(name), _) => Some(name.clone()),
                        _ => None,
                    });
                    self.stored(range, None, &objects, engine, true);
                    i = next;
                }
                El::Sign(Sign::SourceVerb, _) => {
                    let (objects, next) = Self::objects(row, i + 1);
                    // `readings are ingested`: what comes in is the subject.
                    let first = objects
                        .iter()
                        .find(|(p, _)| p.is_none())
                        .map(|(_, o)| o.clone())
                        .or_else(|| subject.as_ref().map(|(n, _)| n.clone()));
                    // `clients receive invoices`, `sensors stream measurements`: the things
                    // that send are entities too, which what they send refers to.
                    let sender = self.relaxed(|r| {
                        subject
                            .as_ref()
                            .filter(|(n, at)| *at + 1 == i && r.names_entities(n))
                            .map(|(n, _)| n.clone())
                    });
                    if let Some(o) = &first {
                        if let Some(name) = self.entity(o, true) {
                            if let Some(s) = sender.as_ref().filter(|s| s.toks != o.toks) {
                                if let Some(from) = self.relaxed(|r| r.entity(s, true)) {
                                    let ground = Ground(vec![
                                        self.span(s.toks.clone()),
                                        self.span(o.toks.clone()),
                                    ]);
                                    self.add_ref(&name, &from, ground);
                                }
                            }
                            self.draft.message.get_or_insert((
                                name.clone(),
                                Ground::of(self.span(o.toks.clone())),
                            ));
                            // `ingest readings with a device id and a temperature`.
                            for (prep, f) in &objects {
                                if prep.as_deref() == Some("with") {
                                    self.field_with(&name, f);
                                }
                            }
                        }
                    }
                    i = next;
                }
                // `aggregate application logs`: what a transformer works on flows, when
                // nothing else named what flows.
                El::Sign(Sign::TransformerVerb, range)
                    if self.draft.message.is_none()
                        && !self.toks[range.start].low.ends_with("ing")
                        && !self.toks[range.start].low.ends_with("ion") =>
                {
                    let (_, next) = Self::objects(row, i + 1);
                    // Its direct object only.
                    if let Some(El::Np(o)) = row.get(i + 1) {
                        if let Some(name) = self.relaxed(|r| r.entity(o, true)) {
                            self.draft
                                .message
                                .get_or_insert((name, Ground::of(self.span(o.toks.clone()))));
                        }
                    }
                    i = next;
                }
                El::Verb(range) => {
                    self.mark(range.clone());
                    // `is`, `must be`: no action, so their objects make no entities.
                    let auxiliary = AUXILIARIES.contains(&self.toks[range.start].low.as_str());
                    // Any other verb: plural objects are entities, a field word is a field of
                    // the subject, and `from an account` refers to the account.
                    let (mut objects, mut next) = Self::objects(row, i + 1);
                    // `I need a shop with products and orders`: the noun before `with` is
                    // read again as a subject, so that `with` lists what it has.
                    if let Some(k) = Self::noun_with(row, i + 1..next, |_| true) {
                        objects = Self::objects(&row[..=k], i + 1).0;
                        next = k;
                    }
                    let subj = subject.as_ref().and_then(|(n, _)| {
                        if self.names_entities(n)
                            || self
                                .entity_name(n)
                                .is_some_and(|e| self.draft.entities.contains_key(&e))
                        {
                            self.entity(n, true)
                        } else {
                            None
                        }
                    });
                    // `shows orders with a status`: what comes with an object is its own.
                    let mut object: Option<String> = subj.clone();
                    for (prep, o) in &objects {
                        if let (Some(e), Some("with")) = (&object, prep.as_deref()) {
                            let e = e.clone();
                            if self.field_with(&e, o) {
                                continue;
                            }
                        }
                        // `give donations to campaigns`, `log work orders against machines`:
                        // the verb's object refers to what the preposition names.
                        if let (Some(e), Some("to" | "for" | "of" | "on" | "against")) = (
                            object.as_ref().filter(|e| Some(*e) != subj.as_ref()),
                            prep.as_deref(),
                        ) {
                            if self.names_entities(o) {
                                if let Some(t) = self.entity(o, true) {
                                    let ground = Ground::of(self.span(o.toks.clone()));
                                    let e = e.clone();
                                    self.add_ref(&e, &t, ground);
                                    continue;
                                }
                            }
                        }
                        match (&subj, prep.as_deref()) {
                            (Some(s), Some("from" | "for" | "of")) => {
                                if let Some(t) = self.entity(o, self.names_entities(o) || o.article)
                                {
                                    let ground = Ground::of(self.span(o.toks.clone()));
                                    let s = s.clone();
                                    self.add_ref(&s, &t, ground);
                                }
                            }
                            (Some(s), None)
                                if self.field(s, o).is_some_and(|(n, _, _)| {
                                    self.lex.field_types.contains_key(&n)
                                }) =>
                            {
                                let s = s.clone();
                                self.add_field(&s, o);
                            }
                            (_, None | Some("with")) if !auxiliary && self.names_entities(o) => {
                                object = self.entity(o, true);
                            }
                            _ => {}
                        }
                    }
                    i = next;
                }
                _ => i += 1,
            }
        }
    }

    /// Nouns that say a source or a sink is there (`a stream`, `a webhook`), where no field
    /// or entity took the word.
    fn kind_nouns(&mut self) {
        let all: Vec<String> = self.toks.iter().map(|t| t.low.clone()).collect();
        let words: Vec<&str> = all.iter().map(String::as_str).collect();
        let mut i = 0;
        while i < words.len() {
            let Some((len, sign)) = self.lex.signs.at(&words, i) else {
                i += 1;
                continue;
            };
            let free = !self.used[i..i + len].iter().any(|u| *u);
            let negated = i > 0 && matches!(words[i - 1], "no" | "without" | "not");
            if free && !negated {
                let ground = Ground::of(self.span(i..i + len));
                let action_noun =
                    words[i + len - 1].ends_with("ing") || words[i + len - 1].ends_with("ion");
                match sign {
                    // `ingestion`, `streaming`: a source's noun of action, left here by the
                    // first scan.
                    Sign::SourceWord | Sign::SourceVerb
                        if matches!(sign, Sign::SourceWord) || action_noun =>
                    {
                        self.draft.source.get_or_insert(ground);
                        self.mark(i..i + len);
                    }
                    Sign::SinkWord => {
                        let name = self.base_form(words[i + len - 1]);
                        self.draft.sinks.entry(name).or_insert(ground);
                        self.mark(i..i + len);
                    }
                    _ => {}
                }
            }
            i += len;
        }
    }

    /// A verb that says a kind of component is there: `collect` a source, `enrich` a
    /// transformer, `alert` a sink, `store` storage.
    fn kind_verb(&mut self, sign: &Sign, range: Range<usize>) {
        let ground = Ground::of(self.span(range.clone()));
        let word = self.toks[range.end - 1].low.clone();
        match sign {
            Sign::StoreVerb => {
                self.draft.storage.get_or_insert(ground);
            }
            Sign::SourceVerb => {
                self.draft.source.get_or_insert(ground);
            }
            Sign::TransformerVerb => {
                let name = self.base_form(&word);
                self.draft.transformers.entry(name).or_insert(ground);
            }
            Sign::SinkVerb => {
                let name = self.base_form(&word);
                self.draft.sinks.entry(name).or_insert(ground);
            }
            _ => return,
        }
        self.mark(range);
    }

    /// The objects after element `from`: noun phrases (with the preposition before each)
    /// until the next verb or relation; where it stopped.
    /// The first noun in `within` that `takes` and that has a `with` of its own after it.
    fn noun_with(row: &[El], within: Range<usize>, takes: impl Fn(&Np) -> bool) -> Option<usize> {
        within.into_iter().find(|&k| {
            matches!(&row[k], El::Np(n) if takes(n))
                && matches!(row.get(k + 1), Some(El::Prep(p)) if p == "with")
        })
    }

    fn objects(row: &[El], from: usize) -> (Vec<(Option<String>, Np)>, usize) {
        let mut out = Vec::new();
        let mut prep: Option<String> = None;
        let mut i = from;
        while i < row.len() {
            match &row[i] {
                El::Np(n) => {
                    out.push((prep.clone(), n.clone()));
                }
                El::Prep(p) => prep = Some(p.clone()),
                El::When(name, range) => {
                    out.push((
                        prep.clone(),
                        Np {
                            words: vec![name.clone()],
                            toks: range.clone(),
                            article: true,
                        },
                    ));
                }
                El::Conj | El::Comma => {
                    let verb = |e: Option<&El>| e.is_some_and(El::is_verb);
                    // `and has`, `, has`: a new verb for the same subject ends the list.
                    if verb(row.get(i + 1)) {
                        return (out, i + 1);
                    }
                    // `, agents reply`: a new subject and its verb end it too.
                    if matches!(row.get(i + 1), Some(El::Np(_))) && verb(row.get(i + 2)) {
                        return (out, i + 1);
                    }
                }
                El::Sign(s, _) if s.is_verb() => return (out, i),
                // `a table of …` starts a phrase of its own.
                El::Sign(Sign::Storage, _) if matches!(row.get(i + 1), Some(El::Prep(p)) if p == "of") =>
                {
                    return (out, i);
                }
                El::Sign(..) => {}
                El::Rel(..) | El::Verb(..) | El::Relative | El::Where => return (out, i),
            }
            i += 1;
        }
        (out, i)
    }

    fn relation(
        &mut self,
        rel: Relation,
        range: Range<usize>,
        subject: Option<&Np>,
        objects: &[(Option<String>, Np)],
    ) {
        let Some(subject) = subject else {
            return;
        };
        self.relaxed(|r| r.relation_of(rel, range, subject, objects));
    }

    fn relation_of(
        &mut self,
        rel: Relation,
        range: Range<usize>,
        subject: &Np,
        objects: &[(Option<String>, Np)],
    ) {
        let Some(s) = self.entity(subject, true) else {
            return;
        };
        self.mark(range.clone());
        let ground_of = |this: &Self, o: &Np| {
            Ground(vec![
                this.span(subject.toks.start..subject.toks.end),
                this.span(range.clone()),
                this.span(o.toks.clone()),
            ])
        };
        match rel {
            Relation::HasMany => {
                // Elliptical dates: `a check-in and check-out date` → check_in, check_out.
                let mut objects: Vec<(Option<String>, Np)> = objects.to_vec();
                elliptic(&mut objects);
                // `have many reviews with a rating`: what comes with a child is its own.
                let mut child: Option<String> = None;
                for (prep, o) in &objects {
                    if self.names_entities(o) || self.plural_text(o) {
                        child = self.entity(o, true);
                        if let Some(c) = &child {
                            let g = ground_of(self, o);
                            self.add_ref(c, &s, g);
                        }
                    } else if let (Some("with"), Some(c)) = (prep.as_deref(), &child) {
                        let c = c.clone();
                        self.add_field(&c, o);
                    } else {
                        self.add_field(&s, o);
                    }
                }
            }
            Relation::BelongsTo | Relation::Links => {
                for (_, o) in objects {
                    if let Some(t) = self.entity(o, true) {
                        let g = ground_of(self, o);
                        self.add_ref(&s, &t, g);
                    }
                }
                self.last_entity = Some(s);
            }
            Relation::Creates => {
                // `guests make reservations for a room with a check-in date`.
                let mut made: Option<String> = None;
                let mut objects: Vec<(Option<String>, Np)> = objects.to_vec();
                elliptic(&mut objects);
                for (prep, o) in &objects {
                    match (prep.as_deref(), &made) {
                        (None, None) => {
                            if let Some(m) = self.entity(o, true) {
                                let g = ground_of(self, o);
                                self.add_ref(&m, &s, g);
                                made = Some(m);
                            }
                        }
                        (Some("for" | "to" | "on" | "of"), Some(m)) => {
                            if let Some(t) = self.entity(o, true) {
                                let g = ground_of(self, o);
                                let m = m.clone();
                                self.add_ref(&m, &t, g);
                            }
                        }
                        (Some("with"), Some(m)) if self.names_entities(o) => {
                            if let Some(t) = self.entity(o, true) {
                                let g = ground_of(self, o);
                                let m = m.clone();
                                self.add_ref(&m, &t, g);
                            }
                        }
                        (Some("with"), Some(m)) => {
                            let m = m.clone();
                            self.add_field(&m, o);
                        }
                        // `users post threads and replies`: each is made by the subject.
                        (None, Some(_)) if self.names_entities(o) => {
                            if let Some(m) = self.entity(o, true) {
                                let g = ground_of(self, o);
                                self.add_ref(&m, &s, g);
                                made = Some(m);
                            }
                        }
                        (None, Some(m))
                            if self
                                .field(m, o)
                                .is_some_and(|(n, _, _)| self.lex.field_types.contains_key(&n)) =>
                        {
                            let m = m.clone();
                            self.add_field(&m, o);
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// `store links in SQLite`, `keep the scores in MySQL with the player`, `session data is
    /// kept in SQLite`, `a table of daily sales with a date`.
    fn stored(
        &mut self,
        range: Range<usize>,
        subject: Option<&Np>,
        objects: &[(Option<String>, Np)],
        engine: Option<String>,
        list_of: bool,
    ) {
        self.mark(range);
        let mut entity: Option<String> = None;
        let mut list_of = list_of;
        // `each change is recorded with a timestamp`: no object, so the subject is stored.
        if !list_of && !objects.iter().any(|(p, _)| p.is_none()) {
            entity = subject.and_then(|s| self.entity(s, true));
        }
        for (prep, o) in objects {
            let head = o.words.last().map_or("", String::as_str);
            match (prep.as_deref(), &entity) {
                (None, None) if matches!(head, "record" | "records" | "table" | "list" | "log") => {
                    list_of = true;
                }
                (Some("of"), None) if list_of => entity = self.relaxed(|r| r.entity(o, true)),
                (None, None) => entity = self.relaxed(|r| r.entity(o, true)),
                (Some("with"), Some(e)) => {
                    let e = e.clone();
                    self.add_field(&e, o);
                }
                _ => {}
            }
        }
        if entity.is_none() {
            entity = subject.and_then(|s| self.entity(s, true));
        }
        if let Some(e) = &entity {
            if let (Some(engine), Some(d)) = (engine, self.draft.entities.get_mut(e)) {
                d.engine.get_or_insert(engine);
            }
            self.draft
                .message
                .get_or_insert((e.clone(), self.draft.entities[e].ground.clone()));
        }
    }

    /// Words that no derivation used: runs of content words.
    fn unknown(&self) -> Vec<String> {
        let lex = self.lex;
        let mut out: Vec<String> = Vec::new();
        let mut run: Option<Range<usize>> = None;
        for (i, t) in self.toks.iter().enumerate() {
            let content = t.kind == TokKind::Word
                && !self.used[i]
                && !lex.determiners.contains(&t.low)
                && !lex.prepositions.contains(&t.low)
                && !lex.conjunctions.contains(&t.low)
                && !lex.verbs.contains(&t.low)
                && !matches!(
                    t.low.as_str(),
                    "that" | "which" | "who" | "where" | "when" | "not"
                )
                && !self.unit_of_time(i);
            // A run of words stays within its clause.
            let same_clause = i > 0 && self.toks[i - 1].clause == t.clause;
            if content && same_clause {
                run = Some(run.map_or(t.range.clone(), |r| r.start..t.range.end));
            } else if content {
                if let Some(r) = run.take() {
                    out.push(self.text[r].to_owned());
                }
                run = Some(t.range.clone());
            } else if let Some(r) = run.take() {
                out.push(self.text[r].to_owned());
            }
        }
        if let Some(r) = run {
            out.push(self.text[r].to_owned());
        }
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|w| seen.insert(w.to_lowercase()));
        // Another mention of an entity was understood where the entity was made.
        out.retain(|w| {
            let mut words: Vec<String> = w.split_whitespace().map(str::to_lowercase).collect();
            if let Some(last) = words.last_mut() {
                *last = singular(last);
            }
            !self.draft.entities.contains_key(&snake_words(&words))
        });
        out
    }
}

/// `a check-in and check-out date`: a lone modifier before `and` shares the next phrase's
/// date or time head, and each names a field by its modifier.
fn elliptic(objects: &mut [(Option<String>, Np)]) {
    for i in 0..objects.len().saturating_sub(1) {
        let (a, b) = (&objects[i].1, &objects[i + 1].1);
        let shared = b.words.len() == 2
            && !b.article
            && matches!(b.words[1].as_str(), "date" | "time" | "timestamp")
            && a.words.len() == 1;
        if shared {
            let modifier = b.words[0].clone();
            objects[i + 1].1.words = vec![modifier];
        }
    }
}

fn pascal(snake: &str) -> String {
    crate::names::pascal(&crate::names::words(snake))
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The comment quoting an item's words.
fn comment(text: &str, ground: &Ground) -> String {
    let parts: Vec<String> = ground
        .0
        .iter()
        .filter(|r| !r.is_empty() && r.end <= text.len())
        .map(|r| {
            text[r.clone()]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    let mut joined = parts.join(" … ");
    if joined.len() > 90 {
        let cut = (0..=87)
            .rev()
            .find(|i| joined.is_char_boundary(*i))
            .unwrap_or(0);
        joined.truncate(cut);
        joined.push('…');
    }
    format!("  # {}", quote(&joined))
}

/// The spec, as YAML with a comment on every derived line.
/// The warnings beside the words not understood: databases named that v5c does not write
/// for, and what stands in for them (`engines`: the spec's, and whether SQLite is there by
/// default).
fn notes(d: &Draft, engines: &[(String, Ground)], default_engine: bool) -> Vec<String> {
    if d.other_engines.is_empty() || d.no_database.is_some() {
        return Vec::new();
    }
    let named: Vec<&str> = engines
        .iter()
        .map(|(e, _)| match e.as_str() {
            "postgresql" => "PostgreSQL",
            "mysql" => "MySQL",
            _ => "SQLite",
        })
        .collect();
    let stand_in = if named.is_empty() {
        "the spec names nothing to keep in it, so it has no database".to_owned()
    } else if default_engine {
        "SQLite stands in for it in the spec (change `engine:` to postgresql, mysql or sqlite)"
            .to_owned()
    } else {
        format!(
            "it is left out of the spec, which keeps the data in {}",
            named.join(" and ")
        )
    };
    d.other_engines
        .keys()
        .map(|name| {
            format!(
                "{name} is not a database v5c writes for (PostgreSQL, MySQL/MariaDB, SQLite): {stand_in}"
            )
        })
        .collect()
}

fn emit(text: &str, d: &Draft, unknown: &[String]) -> (String, Vec<String>) {
    let mut out = String::new();
    out.push_str("# yaml-language-server: $schema=spec.schema.json\n");
    out.push_str("# Written by `v5c new` from this description:\n");
    for line in wrap(text, 88) {
        let _ = writeln!(out, "#   {line}");
    }
    out.push_str(
        "# Every derived line quotes the words it came from; check them, then edit freely.\n",
    );
    if unknown.is_empty() {
        out.push_str("# Every word was understood.\n");
    } else {
        out.push_str("# Not understood (nothing was made of these words):\n");
        for line in wrap(
            &unknown
                .iter()
                .map(|u| quote(u))
                .collect::<Vec<_>>()
                .join(", "),
            88,
        ) {
            let _ = writeln!(out, "#   {line}");
        }
    }
    // The notes go here, once the databases are known.
    let notes_at = out.len();
    out.push_str("spec: v5c/1\n");

    // System.
    let (mut name, ground) = d
        .system
        .clone()
        .unwrap_or_else(|| ("system".to_owned(), Ground::default()));
    // The service is reached by the system's name: it may not be a name the deployment
    // gives something else (Prometheus, Grafana, a database, an exporter).
    let taken = [
        "prometheus",
        "grafana",
        "main",
        "postgresql",
        "mysql",
        "sqlite",
    ];
    if taken.contains(&name.as_str())
        || ["-exporter", "-pods", "-migrate"]
            .iter()
            .any(|s| name.ends_with(s))
    {
        name.push_str("-system");
    }
    let description: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let _ = writeln!(out, "system:");
    let _ = writeln!(out, "  name: {name}{}", comment(text, &ground));
    let _ = writeln!(out, "  description: {}", quote(&description));

    // What the system needs.
    // Data flows when something takes it in or changes it; a sink alone (`couriers deliver
    // parcels`) is no pipeline.
    let pipeline = d.source.is_some() || !d.transformers.is_empty();
    let mut entities = d.entities.clone();
    let mut message = d.message.clone().map(|(m, _)| m);
    if pipeline && message.is_none() {
        message = entities.keys().next().cloned();
    }
    let mut defaults: Vec<&str> = Vec::new();
    if pipeline && message.is_none() {
        entities.insert(
            "event".into(),
            EntityDraft {
                ground: Ground::default(),
                fields: IndexMap::from([(
                    "occurred_at".to_owned(),
                    FieldDraft {
                        ty: "timestamp".into(),
                        format: None,
                        ground: Ground::default(),
                    },
                )]),
                refs: IndexMap::new(),
                engine: None,
            },
        );
        message = Some("event".into());
        defaults.push("event");
    }
    // Entities with nothing said about them are kept somewhere: a system of records.
    let wants_store = d.no_database.is_none()
        && (!d.engines.is_empty()
            || !d.other_engines.is_empty()
            || d.storage.is_some()
            || d.api.is_some()
            || (!d.slos.is_empty() && !pipeline)
            || (!pipeline && !entities.is_empty()));
    if d.api.is_some() && wants_store && entities.is_empty() {
        entities.insert(
            "item".into(),
            EntityDraft {
                ground: Ground::default(),
                fields: IndexMap::from([(
                    "name".to_owned(),
                    FieldDraft {
                        ty: "string(200)".into(),
                        format: None,
                        ground: Ground::default(),
                    },
                )]),
                refs: IndexMap::new(),
                engine: None,
            },
        );
        defaults.push("item");
    }

    // Databases.
    let mut engines: Vec<(String, Ground)> = d
        .engines
        .iter()
        .map(|(e, g)| (e.clone(), g.clone()))
        .collect();
    let mut default_engine = false;
    if wants_store && engines.is_empty() && !entities.is_empty() {
        engines.push(("sqlite".into(), Ground::default()));
        default_engine = true;
    }
    let db_name = |engine: &str| -> String {
        if engines.len() == 1 {
            "main".into()
        } else {
            engine.to_owned()
        }
    };
    let stored = !engines.is_empty() && d.no_database.is_none();
    let notes = notes(d, if stored { &engines } else { &[] }, default_engine);
    let mut header = String::new();
    for note in &notes {
        for (n, line) in wrap(note, 88).into_iter().enumerate() {
            let _ = writeln!(header, "{}{line}", if n == 0 { "# Note: " } else { "#   " });
        }
    }
    out.insert_str(notes_at, &header);
    let db_of = |e: &EntityDraft| -> String {
        let engine = e
            .engine
            .clone()
            .filter(|x| engines.iter().any(|(n, _)| n == x))
            .unwrap_or_else(|| engines[0].0.clone());
        db_name(&engine)
    };
    if stored {
        out.push_str("\ndatabases:\n");
        for (engine, ground) in &engines {
            let note =
                if let (true, Some(other)) = (default_engine, d.other_engines.values().next()) {
                    format!(
                        "{} (not written for; SQLite in its place)",
                        comment(text, other)
                    )
                } else if default_engine {
                    "  # no engine named: SQLite, which needs no server (a default)".to_owned()
                } else {
                    comment(text, ground)
                };
            let _ = writeln!(out, "  {}: {{ engine: {engine} }}{note}", db_name(engine));
        }
    }

    // Entities.
    if !entities.is_empty() {
        out.push_str("\nentities:\n");
    }
    let names: Vec<String> = entities.keys().cloned().collect();
    // References that would close a cycle of required references are nullable.
    let mut required: Vec<(String, String)> = Vec::new();
    for (name, e) in &entities {
        let _ = writeln!(
            out,
            "  {}:{}",
            pascal(name),
            if defaults.contains(&name.as_str()) {
                "  # not named in the description: a default to start from".to_owned()
            } else {
                comment(text, &e.ground)
            }
        );
        out.push_str("    fields:\n");
        if !e.fields.contains_key("id") {
            out.push_str("      id: { type: uuid, primary_key: true, default: random }  # every entity gets a key (a default)\n");
        }
        for (target, ground) in &e.refs {
            if !names.contains(target) {
                continue;
            }
            let same_db = !stored || db_of(e) == db_of(&entities[target]);
            if !same_db || !stored {
                continue;
            }
            let cycle = reaches(&required, target, name);
            let field = if e.fields.contains_key(target) {
                format!("{target}_ref")
            } else {
                target.clone()
            };
            if cycle {
                let _ = writeln!(
                    out,
                    "      {field}: {{ type: ref({}), nullable: true }}{}",
                    pascal(target),
                    comment(text, ground)
                );
            } else {
                required.push((name.clone(), target.clone()));
                let _ = writeln!(
                    out,
                    "      {field}: ref({}){}",
                    pascal(target),
                    comment(text, ground)
                );
            }
        }
        if let Some(f) = e.fields.get("id") {
            // An `id` the text names is the key, of a type a key may have.
            let keyable = f.ty.starts_with("string") || f.ty.starts_with("int") || f.ty == "uuid";
            let ty = if keyable {
                quote(&f.ty)
            } else {
                "uuid".to_owned()
            };
            let _ = writeln!(
                out,
                "      id: {{ type: {ty}, primary_key: true }}{}",
                comment(text, &f.ground)
            );
        }
        for (field, f) in e.fields.iter().filter(|(n, _)| *n != "id") {
            let ty = if f.ty.contains('(') {
                quote(&f.ty)
            } else {
                f.ty.clone()
            };
            let note = if f.ground.0.is_empty() {
                "  # a default".to_owned()
            } else {
                comment(text, &f.ground)
            };
            match &f.format {
                Some(format) => {
                    let _ = writeln!(
                        out,
                        "      {field}: {{ type: {ty}, format: {format} }}{note}"
                    );
                }
                None => {
                    let _ = writeln!(out, "      {field}: {ty}{note}");
                }
            }
        }
    }

    // Components.
    let mut components = String::new();
    let mut flows: Vec<String> = Vec::new();
    let mut component_names: Vec<String> = Vec::new();
    let store_name = |entity: &str| format!("{}_store", crate::names::table_name(&pascal(entity)));
    let mut api_exposes: Vec<String> = Vec::new();
    if stored {
        for (name, e) in &entities {
            let store = store_name(name);
            let _ = writeln!(
                components,
                "  {store}: {{ kind: store, database: {}, entity: {} }}{}",
                db_of(e),
                pascal(name),
                if defaults.contains(&name.as_str()) {
                    String::new()
                } else {
                    comment(text, &e.ground)
                }
            );
            component_names.push(store);
            api_exposes.push(pascal(name));
        }
    }
    if pipeline {
        let message = message.clone().unwrap_or_default();
        let m = pascal(&message);
        let source_note = d.source.as_ref().map_or_else(
            || "  # a pipeline starts at a source (a default)".to_owned(),
            |g| comment(text, g),
        );
        let _ = writeln!(
            components,
            "  ingest: {{ kind: source, emits: {m} }}{source_note}"
        );
        let mut last = "ingest".to_owned();
        // A component's name, unlike any other's.
        let unique = |name: &str, suffix: &str, taken: &[String]| {
            let mut name = name.to_owned();
            while taken.contains(&name) || name == "ingest" || name == "api" || name == "log" {
                name.push_str(suffix);
            }
            name
        };
        for (t, g) in &d.transformers {
            let name = unique(t, "_step", &component_names);
            let _ = writeln!(
                components,
                "  {name}: {{ kind: transformer, consumes: {m}, emits: {m} }}{}",
                comment(text, g)
            );
            flows.push(format!("{last} -> {name}"));
            component_names.push(name.clone());
            last = name;
        }
        if stored && entities.contains_key(&message) {
            flows.push(format!("{last} -> {}", store_name(&message)));
        }
        for (s, g) in &d.sinks {
            let name = unique(s, "_sink", &component_names);
            let _ = writeln!(
                components,
                "  {name}: {{ kind: sink, consumes: {m} }}{}",
                comment(text, g)
            );
            flows.push(format!("{last} -> {name}"));
            component_names.push(name);
        }
        if !(stored && entities.contains_key(&message)) && d.sinks.is_empty() {
            // Data must end somewhere: a sink that logs it.
            let _ = writeln!(
                components,
                "  log: {{ kind: sink, consumes: {m} }}  # where the data ends: a log (a default)"
            );
            flows.push(format!("{last} -> log"));
        }
    }
    // SLOs on requests want something that serves them: an api, when nothing else would.
    let slo_api = d.api.is_none() && !pipeline && !d.slos.is_empty();
    let api_ground = d.api.clone().or_else(|| {
        slo_api.then(|| Ground(d.slos.iter().flat_map(|s| s.ground.0.clone()).collect()))
    });
    if let (Some(g), true) = (&api_ground, stored && !api_exposes.is_empty()) {
        let ops = if d.read_only {
            ", ops: [list, get]"
        } else {
            ""
        };
        let _ = writeln!(components, "  api:{}", comment(text, g));
        components.push_str("    kind: api\n    expose:\n");
        for e in &api_exposes {
            let _ = writeln!(components, "      - {{ entity: {e}{ops} }}");
        }
    }

    if !components.is_empty() {
        out.push_str("\ncomponents:\n");
        out.push_str(&components);
    }
    if !flows.is_empty() {
        out.push_str("\nflows:\n");
        for f in &flows {
            let _ = writeln!(out, "  - {f}");
        }
    }

    if !d.targets.is_empty() {
        out.push_str("\ndeploy:\n  targets:\n");
        for (t, g) in &d.targets {
            let _ = writeln!(out, "    - {t}{}", comment(text, g));
        }
    }

    // SLOs, on the api, or on the source.
    let api_here = api_ground.is_some() && stored && !api_exposes.is_empty();
    let target = if api_here {
        Some("api")
    } else if pipeline {
        Some("ingest")
    } else {
        None
    };
    if let (Some(component), false) = (target, d.slos.is_empty()) {
        out.push_str("\nobserve:\n  slos:\n");
        let mut slos = d.slos.clone();
        slos.sort_by_key(|s| s.measure);
        for s in &slos {
            let value = trim_number(s.value);
            let slo = match s.measure {
                Measure::P99 => format!("{component} p99 latency < {value}ms"),
                Measure::P95 => format!("{component} p95 latency < {value}ms"),
                Measure::P50 => format!("{component} p50 latency < {value}ms"),
                Measure::Rps => format!("{component} throughput >= {value}/s"),
                Measure::Availability => format!("{component} availability >= {value}%"),
            };
            let _ = writeln!(out, "    - {}{}", quote(&slo), comment(text, &s.ground));
        }
    }
    (out, notes)
}

fn trim_number(v: f64) -> String {
    let s = format!("{v}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

/// Whether `from` reaches `to` along `edges`.
fn reaches(edges: &[(String, String)], from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n.clone()) {
            stack.extend(
                edges
                    .iter()
                    .filter(|(a, _)| *a == n)
                    .map(|(_, b)| b.clone()),
            );
        }
    }
    false
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
