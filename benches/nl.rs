//! How long `v5c new` takes: the front end on a description of 2,000 words (the corpus's
//! descriptions one after another, as one long text), as a library call and as the command
//! (`v5c new --from FILE`, which also checks what it writes), in a fresh process each time.
//! Target (issue 8): under 50 ms for 2,000 words.
//!
//! `cargo bench --bench nl` measures; `cargo bench --bench nl -- --test` runs each once.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::process::Command;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The corpus's texts, repeated until the description has `words` words.
fn description(words: usize) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/corpus/nl-dev.yaml");
    let path = if shared.is_file() {
        shared
    } else {
        root.join("tests/fixtures/nl/nl-dev.yaml")
    };
    let corpus = std::fs::read_to_string(path).expect("the corpus");
    let value: serde_yaml::Value = serde_yaml::from_str(&corpus).expect("YAML");
    let texts: Vec<String> = value["cases"]
        .as_sequence()
        .expect("cases")
        .iter()
        .filter_map(|c| c["text"].as_str().map(str::to_owned))
        .collect();
    let mut out: Vec<&str> = Vec::new();
    for text in texts.iter().cycle() {
        for word in text.split_whitespace() {
            if out.len() == words {
                return out.join(" ");
            }
            out.push(word);
        }
        if let Some(last) = out.last_mut() {
            if !last.ends_with('.') {
                out.push(".");
            }
        }
    }
    unreachable!("the corpus has text")
}

fn nl(c: &mut Criterion) {
    let text = description(2_000);
    let mut group = c.benchmark_group("new");
    group.bench_function("library/2000-words", |b| {
        b.iter(|| black_box(v5c::nl::new_spec(black_box(&text))));
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("description.txt");
    std::fs::write(&input, &text).expect("write");
    let output = dir.path().join("system.yaml");
    let binary = env!("CARGO_BIN_EXE_v5c");
    group.bench_function("cli/2000-words", |b| {
        b.iter(|| {
            let status = Command::new(binary)
                .args(["new", "--force", "--from"])
                .arg(&input)
                .arg("-o")
                .arg(&output)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("v5c runs");
            assert!(status.success());
        });
    });
    group.finish();
}

criterion_group!(benches, nl);
criterion_main!(benches);
