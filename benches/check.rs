//! How long `v5c check` takes on specs of growing size: loading (YAML, schema, typed spec),
//! lowering to the IR and every analysis pass, on `v5c::synth::synthetic_spec(n)`; and how
//! long the sql backend takes to write (and sqlparser to read back) their DDL.
//!
//! Three groups: `check`, the library call in a warm process; `check-cli`, the `v5c check`
//! command in a fresh process each time, as users run it; `emit-sql`.
//!
//! `cargo bench --bench check` measures; `cargo bench --bench check -- --test` runs each
//! benchmark once, as a smoke test.
//!
//! The benchmark uses the allocator the `v5c` binary uses, so it measures what users run.

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use std::hint::black_box;
use std::time::Duration;
use v5c::source::SourceFile;
use v5c::synth::synthetic_spec;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZES: [usize; 3] = [100, 1_000, 10_000];

/// Checks `text` as `v5c check` does, panicking with the rendered diagnostics if it has
/// errors: a benchmark of a spec that fails early would measure the wrong thing.
fn check(name: &str, text: &str) -> v5c::Analysed {
    let file = SourceFile::new(name, text);
    match v5c::check(&file) {
        Ok(analysed) => analysed,
        Err(diags) => panic!(
            "{name} does not check:\n{}",
            v5c::diag::render_graphical(diags.iter(), 100, false)
        ),
    }
}

/// Sampling for a spec of `n` entities: at 10,000 each run takes long enough that few,
/// equal samples are plenty.
fn sample_for(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    n: usize,
) {
    if n >= 10_000 {
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(20));
    } else {
        group.sampling_mode(SamplingMode::Auto);
        group.sample_size(if n >= 1_000 { 30 } else { 100 });
        group.measurement_time(Duration::from_secs(5));
    }
}

fn bench_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    for n in SIZES {
        let name = format!("synth-{n}.yaml");
        let text = synthetic_spec(n);
        // Outside the timed loop: the spec must be valid and clean, and as large as claimed.
        let analysed = check(&name, &text);
        assert!(
            analysed.warnings().is_empty(),
            "{name} has warnings:\n{}",
            v5c::diag::render_graphical(analysed.warnings().iter(), 100, false)
        );
        assert_eq!(analysed.ir().entities.len(), n);
        assert_eq!(analysed.ir().components.len(), n);
        drop(analysed);

        sample_for(&mut group, n);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| check(&name, black_box(text)));
        });
    }
    group.finish();
}

fn bench_sql(c: &mut Criterion) {
    use v5c::backends::Backend;
    let mut group = c.benchmark_group("emit-sql");
    for n in SIZES {
        let name = format!("synth-{n}.yaml");
        let analysed = check(&name, &synthetic_spec(n));
        let tables: usize = analysed
            .facts()
            .databases
            .iter()
            .map(|d| d.tables.len())
            .sum();
        assert!(tables > n / 2, "{name} stores only {tables} tables");
        sample_for(&mut group, n);
        group.throughput(Throughput::Elements(tables as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &analysed, |b, analysed| {
            b.iter(|| {
                v5c::backends::sql::SqlBackend
                    .emit(black_box(analysed))
                    .expect("the sql backend emits")
            });
        });
    }
    group.finish();
}

/// `v5c check FILE` as users run it: a fresh process each time, reading the file, checking
/// it and printing the summary. Unlike the in-process `check` group, where the allocator keeps
/// the memory of the previous run warm for a 1,000-entity spec but returns a 10,000-entity
/// spec's 32 MB YAML arena to the kernel and faults it back in, every run here starts cold.
fn bench_cli(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("v5c-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let mut group = c.benchmark_group("check-cli");
    for n in SIZES {
        let path = dir.join(format!("synth-{n}.yaml"));
        std::fs::write(&path, synthetic_spec(n)).expect("the spec is written");
        let run = || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_v5c"))
                .arg("check")
                .arg(&path)
                .output()
                .expect("v5c runs");
            assert!(
                out.status.success(),
                "v5c check fails:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        };
        let first = run();
        assert!(
            String::from_utf8_lossy(&first.stderr).contains(&format!("{n} entities")),
            "the summary (on stderr) does not count {n} entities: {}",
            String::from_utf8_lossy(&first.stderr)
        );
        sample_for(&mut group, n);
        group.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(run));
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench_check, bench_sql, bench_cli);
criterion_main!(benches);
