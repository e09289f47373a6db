//! Property tests: no input makes v5c panic, and every diagnostic points inside its file.
//!
//! Two generators, 5,000 cases each: mutations of the examples and fixtures (lines deleted,
//! duplicated, swapped and re-indented; tokens replaced with spec words and YAML punctuation;
//! text inserted and cut), and YAML documents built from the spec's own keys and values. The
//! seed is fixed so that a failure reproduces; `PROPTEST_RNG_SEED` style variation is left out
//! on purpose, since CI must be repeatable.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::fmt::Write as _;
use std::path::Path;
use v5c::source::SourceFile;

const CASES_PER_GENERATOR: u32 = 5_000;

fn config() -> Config {
    Config {
        cases: CASES_PER_GENERATOR,
        rng_seed: RngSeed::Fixed(0x0005_eed5_1ce5),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

/// Runs the whole pipeline, the ir backend included, and checks what comes out.
fn check_text(text: &str) {
    let file = SourceFile::new("fuzz.yaml", text);
    let diagnostics = match v5c::check(&file) {
        Ok(analysed) => {
            let backends = v5c::backends::select(&[]).expect("built-in backends");
            if let Err(e) = v5c::emit(&analysed, &backends) {
                panic!(
                    "an analysed spec failed to build:\n{}\n--- spec ---\n{text}",
                    v5c::diag::render_graphical(&e, 100, false)
                );
            }
            analysed.warnings().clone()
        }
        Err(diagnostics) => {
            assert!(diagnostics.has_errors(), "a failed check reported no error");
            diagnostics
        }
    };
    for d in &diagnostics {
        for label in &d.labels {
            assert!(
                label.span.start <= label.span.end
                    && label.span.end() <= text.len()
                    && text.is_char_boundary(label.span.start())
                    && text.is_char_boundary(label.span.end()),
                "{}: label {:?} is outside the text or splits a character\n--- spec ---\n{text}",
                d.code,
                label.span
            );
        }
    }
    // Rendering must not fail either.
    let _ = v5c::diag::render_graphical(&diagnostics, 100, false);
    let _ = v5c::diag::render_json(&diagnostics);
}

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    for dir in ["examples", "tests/fixtures/bad"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("corpus directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        for path in paths {
            texts.push(std::fs::read_to_string(path).expect("readable"));
        }
    }
    texts
}

/// Words that matter to the loader and the passes, and YAML's sharp edges.
const TOKENS: &[&str] = &[
    "kind",
    "source",
    "transformer",
    "store",
    "sink",
    "api",
    "entity",
    "database",
    "emits",
    "consumes",
    "expose",
    "ops",
    "flows",
    "fields",
    "type",
    "primary_key",
    "nullable",
    "unique",
    "index",
    "default",
    "now",
    "random",
    "on_delete",
    "set_null",
    "min",
    "max",
    "format",
    "email",
    "ref(Customer)",
    "ref(Nope)",
    "list<list<int32>>",
    "list<ref(Order)>",
    "enum(a, a)",
    "decimal(0,5)",
    "decimal(70,2)",
    "string(0)",
    "string(99999999999)",
    "uuid(1)",
    "->",
    "a.b -> c.d",
    "x -> x",
    "p99",
    "p100",
    "99.9%",
    "100%",
    "0ms",
    "1m30s",
    "5k/s",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    ".nan",
    "null",
    "~",
    "[]",
    "{}",
    "[",
    "]",
    "{",
    "}",
    "&a",
    "*a",
    "*zz",
    "!!str",
    "!!int",
    "!custom",
    "'",
    "\"",
    "\\",
    ":",
    ": ",
    "- ",
    "---",
    "...",
    "?",
    "#",
    "|",
    ">",
    "é",
    "\u{1F600}",
    "\t",
    "  ",
    "replicas",
    "port",
    "80",
    "65535",
    "sqlite",
    "mysql",
    "postgresql",
    "services",
    "components",
    "slos",
    "api p99 latency < 1ms",
    "spec",
    "v5c/1",
    "system",
    "name",
    "Order",
    "order",
    "OrderLine",
    "table",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize, bool),
    ReplaceWord(usize, usize),
    Insert(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = TOKENS.len();
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<bool>()).prop_map(|(a, b)| Mutation::Indent(a, b)),
        (any::<usize>(), 0..n).prop_map(|(a, t)| Mutation::ReplaceWord(a, t)),
        (any::<usize>(), 0..n).prop_map(|(a, t)| Mutation::Insert(a, t)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for m in mutations {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let len = lines.len();
        match *m {
            Mutation::DeleteLine(i) => {
                lines.remove(i % len);
            }
            Mutation::DuplicateLine(i) => {
                let line = lines[i % len].clone();
                lines.insert(i % len, line);
            }
            Mutation::SwapLines(a, b) => lines.swap(a % len, b % len),
            Mutation::Indent(i, deeper) => {
                let line = &mut lines[i % len];
                if deeper {
                    line.insert_str(0, "  ");
                } else if let Some(rest) = line.strip_prefix("  ") {
                    *line = rest.to_owned();
                }
            }
            Mutation::ReplaceWord(i, t) => {
                let line = &mut lines[i % len];
                let words: Vec<(usize, &str)> = line
                    .match_indices(|c: char| c.is_alphanumeric() || c == '_')
                    .collect();
                if !words.is_empty() {
                    // Replace one character-run word: find its extent from a matched char.
                    let (start, _) = words[i / len % words.len()];
                    let end = line[start..]
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .map_or(line.len(), |e| start + e);
                    line.replace_range(start..end, TOKENS[t]);
                }
            }
            Mutation::Insert(i, t) => {
                let line = &mut lines[i % len];
                let chars: Vec<usize> = line
                    .char_indices()
                    .map(|(b, _)| b)
                    .chain(std::iter::once(line.len()))
                    .collect();
                let at = chars[i / len % chars.len()];
                line.insert_str(at, TOKENS[t]);
            }
            Mutation::Truncate(i) => {
                let keep = i % (len + 1);
                lines.truncate(keep.max(1));
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_specs_never_panic(
        pick in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        thread_local!(static CORPUS: Vec<String> = corpus());
        let text = CORPUS.with(|c| apply(&c[pick % c.len()], &mutations));
        check_text(&text);
    }
}

/// A YAML document made of the spec's keys and plausible and implausible values.
fn yaml_document() -> impl Strategy<Value = String> {
    let scalar = prop::sample::select(TOKENS.to_vec()).prop_map(|t| {
        if t.contains([
            ':', '#', '[', ']', '{', '}', '&', '*', '!', '\'', '"', '|', '>', '?',
        ]) {
            format!("{t:?}")
        } else {
            t.to_owned()
        }
    });
    let key = prop::sample::select(vec![
        "spec",
        "system",
        "name",
        "databases",
        "main",
        "engine",
        "pool",
        "min",
        "max",
        "entities",
        "Order",
        "Customer",
        "fields",
        "id",
        "type",
        "primary_key",
        "default",
        "components",
        "api",
        "ingest",
        "events",
        "kind",
        "expose",
        "entity",
        "flows",
        "deploy",
        "services",
        "replicas",
        "observe",
        "slos",
        "indexes",
        "batch",
        "size",
        "flush",
    ]);
    let leaf = scalar.boxed();
    let value = leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|pairs| {
                // Unique keys, so that documents get past the duplicate-key check.
                let mut seen = std::collections::HashSet::new();
                let body: Vec<String> = pairs
                    .iter()
                    .filter(|(k, _)| seen.insert(*k))
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    });
    let head = prop::sample::select(vec![
        "spec: v5c/1\nsystem: { name: fuzz }\n",
        "spec: v5c/1\n",
        "",
    ]);
    (
        head,
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "databases",
                    "entities",
                    "components",
                    "flows",
                    "deploy",
                    "observe",
                    "system",
                    "extra",
                ]),
                value,
            ),
            0..6,
        ),
    )
        .prop_map(|(head, sections)| {
            let mut text = head.to_owned();
            let mut seen = std::collections::HashSet::new();
            for (k, v) in sections {
                if seen.insert(k) && !(k == "system" && text.contains("system:")) {
                    let _ = writeln!(text, "{k}: {v}");
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_yaml_never_panics(text in yaml_document()) {
        check_text(&text);
    }
}

#[test]
fn mutations_change_the_text() {
    let text = "a: 1\nb: 2\n";
    assert_ne!(apply(text, &[Mutation::DeleteLine(0)]), text);
    assert_ne!(apply(text, &[Mutation::Insert(1, 0)]), text);
}

/// The mutations are only worth their 5,000 cases if they get past the loader: the first
/// code reported (or success) must come from every stage of the pipeline.
#[test]
fn mutations_reach_every_stage() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let corpus = corpus();
    let strategy = (any::<usize>(), prop::collection::vec(mutation(), 1..6));
    let mut stages = std::collections::BTreeSet::new();
    for _ in 0..2_000 {
        let (pick, mutations) = strategy.new_tree(&mut runner).expect("a value").current();
        let file = SourceFile::new("t.yaml", apply(&corpus[pick % corpus.len()], &mutations));
        match v5c::check(&file) {
            Ok(_) => {
                stages.insert(u16::MAX);
            }
            Err(d) => {
                stages.extend(d.iter().map(|d| d.code.number() / 100));
            }
        }
    }
    for stage in [0, 1, 2, 3, 4, 5, 6, 7, 8, u16::MAX] {
        assert!(
            stages.contains(&stage),
            "no mutation reached stage {stage}: {stages:?}"
        );
    }
}
