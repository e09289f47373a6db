//! The lexicon (`grammar/lexicon.yaml`): word lists, loaded once and indexed by first word so
//! that matching a phrase at a position costs a lookup.

use indexmap::IndexMap;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use std::sync::OnceLock;

const TEXT: &str = include_str!("../../grammar/lexicon.yaml");

#[derive(Deserialize)]
struct Raw {
    engines: IndexMap<String, Vec<String>>,
    other_engines: IndexMap<String, Vec<String>>,
    targets: IndexMap<String, Vec<String>>,
    api: Vec<String>,
    storage: Vec<String>,
    store_verbs: Vec<String>,
    source_verbs: Vec<String>,
    source_words: Vec<String>,
    transformer_verbs: Vec<String>,
    sink_verbs: Vec<String>,
    sink_words: Vec<String>,
    determiners: Vec<String>,
    conjunctions: Vec<String>,
    prepositions: Vec<String>,
    verbs: Vec<String>,
    relations: IndexMap<String, Vec<String>>,
    fields: IndexMap<String, Vec<String>>,
    formats: IndexMap<String, Vec<String>>,
    type_heads: IndexMap<String, Vec<String>>,
    generic_heads: Vec<String>,
    qualifiers: Vec<String>,
    containers: Vec<String>,
    system_heads: Vec<String>,
    not_entities: Vec<String>,
    ly_nouns: Vec<String>,
    numbers: IndexMap<String, f64>,
    nines: IndexMap<String, f64>,
    slo: IndexMap<String, Vec<String>>,
}

/// Phrases (word sequences) with a value each, indexed by first word.
pub struct Phrases<T> {
    by_first: FxHashMap<String, Vec<(Vec<String>, T)>>,
}

impl<T> Default for Phrases<T> {
    fn default() -> Self {
        Phrases {
            by_first: FxHashMap::default(),
        }
    }
}

impl<T: Clone> Phrases<T> {
    fn add(&mut self, phrase: &str, value: T) {
        let words: Vec<String> = phrase.split_whitespace().map(str::to_owned).collect();
        if let Some(first) = words.first() {
            let list = self.by_first.entry(first.clone()).or_default();
            list.push((words, value));
            // Longest first, so that `docker compose` wins over `compose`.
            list.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        }
    }

    fn from_lists<'a>(lists: impl IntoIterator<Item = (&'a Vec<String>, T)>) -> Self {
        let mut phrases = Phrases {
            by_first: FxHashMap::default(),
        };
        for (list, value) in lists {
            for phrase in list {
                phrases.add(phrase, value.clone());
            }
        }
        phrases
    }

    /// The longest phrase starting at `words[at]`: its length and value.
    pub fn at(&self, words: &[&str], at: usize) -> Option<(usize, T)> {
        let candidates = self.by_first.get(*words.get(at)?)?;
        candidates.iter().find_map(|(phrase, value)| {
            let end = at + phrase.len();
            (end <= words.len() && words[at..end].iter().zip(phrase).all(|(a, b)| a == b))
                .then(|| (phrase.len(), value.clone()))
        })
    }

    /// The value of the one-word phrase `word`.
    pub fn value(&self, word: &str) -> Option<&T> {
        self.by_first
            .get(word)?
            .iter()
            .find(|(p, _)| p.len() == 1)
            .map(|(_, v)| v)
    }

    pub fn contains(&self, word: &str) -> bool {
        self.value(word).is_some()
    }
}

/// The kinds of relation a verb sets up between two entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    HasMany,
    BelongsTo,
    Creates,
    Links,
}

/// What a word or phrase says about the system.
#[derive(Debug, Clone, PartialEq)]
pub enum Sign {
    Engine(String),
    /// A database v5c does not write for, by its display name.
    OtherEngine(String),
    Target(String),
    Api,
    Storage,
    StoreVerb,
    SourceVerb,
    SourceWord,
    TransformerVerb,
    SinkVerb,
    SinkWord,
}

impl Sign {
    /// A verb that says what kind of component is there (`store`, `collect`, `enrich`,
    /// `send`), as opposed to a word for a thing (an engine, a target, an api).
    pub fn is_verb(&self) -> bool {
        matches!(
            self,
            Sign::StoreVerb | Sign::SourceVerb | Sign::TransformerVerb | Sign::SinkVerb
        )
    }
}

pub struct Lexicon {
    /// Engines, targets, and words for kinds of component.
    pub signs: Phrases<Sign>,
    pub relations: Phrases<Relation>,
    pub determiners: Phrases<()>,
    pub conjunctions: Phrases<()>,
    pub prepositions: Phrases<()>,
    pub verbs: Phrases<()>,
    /// Field name (or last word) → type text.
    pub field_types: FxHashMap<String, String>,
    pub formats: FxHashMap<String, String>,
    pub type_heads: FxHashMap<String, String>,
    pub generic_heads: Phrases<()>,
    pub qualifiers: Phrases<()>,
    pub containers: Phrases<()>,
    pub system_heads: Phrases<()>,
    pub not_entities: Phrases<()>,
    pub ly_nouns: Phrases<()>,
    pub numbers: FxHashMap<String, f64>,
    pub nines: Phrases<f64>,
    /// SLO words by measure: `latency`, `p99`, `p95`, `p50`, `below`, `availability`,
    /// `throughput_units`, `per_second`, `milliseconds`, `seconds`.
    pub slo: FxHashMap<String, Phrases<()>>,
}

fn unit(list: &[String]) -> Phrases<()> {
    Phrases::from_lists([(&list.to_vec(), ())])
}

impl Lexicon {
    pub fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(|| {
            let raw: Raw = serde_yaml::from_str(TEXT)
                .expect("grammar/lexicon.yaml is valid (a test reads it)");
            Lexicon::from_raw(&raw)
        })
    }

    fn from_raw(raw: &Raw) -> Lexicon {
        let mut signs = Phrases::default();
        for (engine, names) in &raw.engines {
            for n in names {
                signs.add(n, Sign::Engine(engine.clone()));
            }
        }
        for (engine, names) in &raw.other_engines {
            for n in names {
                signs.add(n, Sign::OtherEngine(engine.clone()));
            }
        }
        for (target, names) in &raw.targets {
            for n in names {
                signs.add(n, Sign::Target(target.clone()));
            }
        }
        for (list, sign) in [
            (&raw.api, Sign::Api),
            (&raw.storage, Sign::Storage),
            (&raw.store_verbs, Sign::StoreVerb),
            (&raw.source_verbs, Sign::SourceVerb),
            (&raw.source_words, Sign::SourceWord),
            (&raw.transformer_verbs, Sign::TransformerVerb),
            (&raw.sink_verbs, Sign::SinkVerb),
            (&raw.sink_words, Sign::SinkWord),
        ] {
            for n in list {
                signs.add(n, sign.clone());
            }
        }
        let mut relations = Phrases::default();
        for (name, phrases) in &raw.relations {
            let relation = match name.as_str() {
                "has_many" => Relation::HasMany,
                "belongs_to" => Relation::BelongsTo,
                "creates" => Relation::Creates,
                _ => Relation::Links,
            };
            for p in phrases {
                relations.add(p, relation);
            }
        }
        // Value → words, turned into word → value.
        let inverted = |map: &IndexMap<String, Vec<String>>| -> FxHashMap<String, String> {
            map.iter()
                .flat_map(|(value, words)| words.iter().map(move |w| (w.clone(), value.clone())))
                .collect()
        };
        let field_types = inverted(&raw.fields);
        let formats = inverted(&raw.formats);
        let type_heads = inverted(&raw.type_heads);
        let mut nines = Phrases::default();
        for (phrase, value) in &raw.nines {
            nines.add(phrase, *value);
        }
        Lexicon {
            signs,
            relations,
            determiners: unit(&raw.determiners),
            conjunctions: unit(&raw.conjunctions),
            prepositions: unit(&raw.prepositions),
            verbs: unit(&raw.verbs),
            field_types,
            formats,
            type_heads,
            generic_heads: unit(&raw.generic_heads),
            qualifiers: unit(&raw.qualifiers),
            containers: unit(&raw.containers),
            system_heads: unit(&raw.system_heads),
            not_entities: unit(&raw.not_entities),
            ly_nouns: unit(&raw.ly_nouns),
            numbers: raw.numbers.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            nines,
            slo: raw.slo.iter().map(|(k, v)| (k.clone(), unit(v))).collect(),
        }
    }

    /// The sign at `words[at]`: a phrase of the lexicon, or a single word by its base form
    /// (`ingested`, `normalised`, `enriching` → `ingest`, `normalise`, `enrich`).
    pub fn sign_at(&self, words: &[&str], at: usize) -> Option<(usize, Sign)> {
        if let Some(found) = self.signs.at(words, at) {
            return Some(found);
        }
        let word = words.get(at)?;
        lemmas(word)
            .iter()
            .find_map(|l| self.signs.value(l).cloned())
            .map(|sign| (1, sign))
    }

    pub fn slo(&self, measure: &str) -> &Phrases<()> {
        &self.slo[measure]
    }
}

/// Base forms a word may have, most likely first: `aggregated` → `aggregate`, `aggregat`;
/// `normalized` → `normalise` too (British and American spellings are one word here).
pub fn lemmas(word: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |w: String| {
        if !w.is_empty() && !out.contains(&w) {
            out.push(w);
        }
    };
    for (suffix, with) in [
        ("ies", "y"),
        ("ied", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", "e"),
        ("ed", ""),
        ("d", ""),
        ("ing", "e"),
        ("ing", ""),
    ] {
        if let Some(stem) = word.strip_suffix(suffix) {
            if stem.len() >= 3 {
                add(format!("{stem}{with}"));
                // `filtered` → `filter` via `filter`; doubled consonants: `dropped` → `drop`.
                let bytes = stem.as_bytes();
                if bytes.len() >= 2 && bytes[bytes.len() - 1] == bytes[bytes.len() - 2] {
                    add(stem[..stem.len() - 1].to_owned());
                }
            }
        }
    }
    let spellings: Vec<String> = out
        .iter()
        .chain(std::iter::once(&word.to_owned()))
        .filter_map(|w| {
            w.strip_suffix("ize")
                .map(|s| format!("{s}ise"))
                .or_else(|| w.strip_suffix("ise").map(|s| format!("{s}ize")))
        })
        .collect();
    for s in spellings {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
