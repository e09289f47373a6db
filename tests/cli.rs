//! The `v5c` binary: commands, exit codes (0 ok, 1 spec errors, 2 usage or I/O), message
//! formats, and builds that change the output directory only when they succeed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn v5c(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_v5c"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("v5c runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("v5c exits normally")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).expect("readable file"));
            }
        }
    }
    files
}

#[test]
fn check_reports_success_and_failure_with_exit_codes() {
    let ok = v5c(&["check", "examples/shop.yaml"]);
    assert_eq!(code(&ok), 0, "{}", text(&ok.stderr));
    assert!(text(&ok.stderr).contains("ok: `online-shop`"));

    let bad = v5c(&["check", "tests/fixtures/bad/unknown-entity.yaml"]);
    assert_eq!(code(&bad), 1);
    let stderr = text(&bad.stderr);
    assert!(
        stderr.contains("V5C0201") && stderr.contains("did you mean `Customer`?"),
        "{stderr}"
    );
    assert!(stderr.contains("error: 2 errors found"), "{stderr}");

    let missing = v5c(&["check", "no/such/spec.yaml"]);
    assert_eq!(code(&missing), 2);
    assert!(text(&missing.stderr).contains("V5C0001"));

    let usage = v5c(&["check"]);
    assert_eq!(code(&usage), 2);
}

#[test]
fn json_messages_go_to_stdout_one_object_per_line() {
    let out = v5c(&[
        "--message-format",
        "json",
        "check",
        "tests/fixtures/bad/many-errors.yaml",
    ]);
    assert_eq!(code(&out), 1);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let codes: Vec<&str> = lines.iter().filter_map(|l| l["code"].as_str()).collect();
    assert_eq!(codes, ["V5C0201", "V5C0303", "V5C0701", "V5C0805"]);
    for line in &lines {
        assert_eq!(line["file"], "tests/fixtures/bad/many-errors.yaml");
        assert!(line["line"].as_u64().is_some() && line["column"].as_u64().is_some());
    }
}

#[test]
fn explain_prints_each_code_and_rejects_others() {
    let out = v5c(&["explain", "V5C0011"]);
    assert_eq!(code(&out), 0);
    assert!(text(&out.stdout).starts_with("V5C0011: unknown key"));
    let all = v5c(&["explain"]);
    assert_eq!(
        text(&all.stdout).lines().count(),
        v5c::diag::Code::ALL.len()
    );
    assert_eq!(code(&v5c(&["explain", "V5C9999"])), 2);
}

#[test]
fn schema_and_backends_print() {
    let out = v5c(&["schema", "spec"]);
    assert_eq!(code(&out), 0);
    let checked_in = std::fs::read(root().join("ir-schema/spec.schema.json")).expect("schema");
    assert_eq!(out.stdout, checked_in);
    let out = v5c(&["backends"]);
    assert!(text(&out.stdout).starts_with("ir "));
}

#[test]
fn ir_stops_after_the_named_stage() {
    let lowered = v5c(&["ir", "--after", "lower", "examples/analytics.yaml"]);
    assert_eq!(code(&lowered), 0, "{}", text(&lowered.stderr));
    assert!(text(&lowered.stdout).contains("passes: []"));
    let resolved = v5c(&[
        "ir",
        "--after",
        "resolve",
        "--format",
        "json",
        "examples/analytics.yaml",
    ]);
    let dump: serde_json::Value = serde_json::from_slice(&resolved.stdout).expect("JSON");
    assert_eq!(dump["facts"]["passes"], serde_json::json!(["resolve"]));
    assert_eq!(dump["facts"]["metrics"], serde_json::json!([]));
    let full = v5c(&["ir", "--format", "json", "examples/analytics.yaml"]);
    let dump: serde_json::Value = serde_json::from_slice(&full.stdout).expect("JSON");
    assert_eq!(dump["facts"]["passes"].as_array().map(Vec::len), Some(7));
    assert_eq!(dump["ir"], "v5c-ir/1");
    // A spec that fails a later pass still dumps after an earlier one.
    let early = v5c(&[
        "ir",
        "--after",
        "types",
        "tests/fixtures/bad/flow-cycle.yaml",
    ]);
    assert_eq!(code(&early), 0, "{}", text(&early.stderr));
    let failing = v5c(&["ir", "tests/fixtures/bad/flow-cycle.yaml"]);
    assert_eq!(code(&failing), 1);
    assert!(failing.stdout.is_empty());
}

#[test]
fn build_writes_then_leaves_unchanged_files_alone() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out_dir = tmp.path().join("out");
    let out_arg = out_dir.to_str().expect("utf-8 temp path");
    let first = v5c(&["build", "examples/streaming.yaml", "-o", out_arg]);
    assert_eq!(code(&first), 0, "{}", text(&first.stderr));
    for file in [
        "ir/ir.yaml",
        "ir/ir.json",
        "sql/ledger/postgresql/schema.sql",
        "monitoring/prometheus/rules.yml",
        "monitoring/grafana/dashboards/streaming-pipeline.json",
        "Dockerfile",
        "compose.yaml",
        "kustomization.yaml",
        "k8s/service-pipeline.yaml",
        "docs/README.md",
        "service/Cargo.toml",
        "service/Cargo.lock",
        "service/src/generated/system.rs",
        "service/src/logic/api.rs",
        "v5c-report.md",
        ".v5c-manifest.json",
    ] {
        assert!(out_dir.join(file).is_file(), "{file} was not written");
    }
    let yaml = std::fs::read_to_string(out_dir.join("ir/ir.yaml")).expect("ir.yaml");
    assert!(yaml.starts_with("# Generated by v5c"));
    let json = std::fs::read(out_dir.join("ir/ir.json")).expect("ir.json");
    let printed = v5c(&["ir", "--format", "json", "examples/streaming.yaml"]);
    assert_eq!(
        json, printed.stdout,
        "ir.json is exactly what `v5c ir --format json` prints"
    );

    let second = v5c(&["build", "examples/streaming.yaml", "-o", out_arg]);
    assert_eq!(code(&second), 0);
    assert!(
        text(&second.stderr).contains("0 written, 39 unchanged, 0 removed"),
        "{}",
        text(&second.stderr)
    );
}

#[test]
fn failed_builds_leave_the_output_as_it_was() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out_dir = tmp.path().join("out");
    let out_arg = out_dir.to_str().expect("utf-8 temp path");
    assert_eq!(
        code(&v5c(&["build", "examples/shop.yaml", "-o", out_arg])),
        0
    );
    std::fs::write(out_dir.join("notes.md"), "a person's notes").expect("write");
    let before = snapshot(&out_dir);

    // A spec with errors: exit 1, nothing touched.
    let bad = v5c(&[
        "build",
        "tests/fixtures/bad/many-errors.yaml",
        "-o",
        out_arg,
    ]);
    assert_eq!(code(&bad), 1);
    assert_eq!(snapshot(&out_dir), before);

    // An unknown backend: exit 2, nothing touched.
    let unknown = v5c(&[
        "build",
        "examples/blog.yaml",
        "-o",
        out_arg,
        "--backend",
        "terraform",
    ]);
    assert_eq!(code(&unknown), 2);
    assert!(text(&unknown.stderr).contains("V5C0901"));
    assert_eq!(snapshot(&out_dir), before);

    // A directory where a generated file must go: exit 2, nothing else replaced either, and
    // once it is gone the next build goes through.
    std::fs::remove_file(out_dir.join("v5c-report.md")).expect("remove");
    std::fs::create_dir(out_dir.join("v5c-report.md")).expect("mkdir");
    let with_dir = snapshot(&out_dir);
    let blocked = v5c(&["build", "examples/blog.yaml", "-o", out_arg]);
    assert_eq!(code(&blocked), 2);
    assert!(text(&blocked.stderr).contains("V5C0906"));
    assert_eq!(snapshot(&out_dir), with_dir);
    std::fs::remove_dir(out_dir.join("v5c-report.md")).expect("rmdir");
    assert_eq!(
        code(&v5c(&["build", "examples/shop.yaml", "-o", out_arg])),
        0
    );

    // A hand edit to a generated file: exit 2, the edit survives; --force overwrites it.
    let edited = out_dir.join("ir/ir.yaml");
    std::fs::write(&edited, "# my edit\n").expect("write");
    let refused = v5c(&["build", "examples/blog.yaml", "-o", out_arg]);
    assert_eq!(code(&refused), 2);
    assert!(text(&refused.stderr).contains("V5C0904"));
    assert_eq!(
        std::fs::read_to_string(&edited).expect("read"),
        "# my edit\n"
    );
    let forced = v5c(&["build", "examples/blog.yaml", "-o", out_arg, "--force"]);
    assert_eq!(code(&forced), 0, "{}", text(&forced.stderr));
    assert!(
        std::fs::read_to_string(&edited)
            .expect("read")
            .contains("name: blog")
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("notes.md")).expect("read"),
        "a person's notes"
    );
}

/// Two processes (two hash seeds) build the same files and report the same diagnostics.
#[test]
fn builds_and_diagnostics_are_deterministic_across_runs() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for spec in ["examples/streaming.yaml", "examples/analytics.yaml"] {
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        for dir in [&a, &b] {
            let out = v5c(&["build", spec, "-o", dir.to_str().expect("utf-8 path")]);
            assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        }
        let strip =
            |files: BTreeMap<PathBuf, Vec<u8>>, root: &Path| -> BTreeMap<PathBuf, Vec<u8>> {
                files
                    .into_iter()
                    .map(|(p, c)| (p.strip_prefix(root).expect("inside").to_path_buf(), c))
                    .collect()
            };
        assert_eq!(strip(snapshot(&a), &a), strip(snapshot(&b), &b), "{spec}");
        std::fs::remove_dir_all(&a).expect("clean");
        std::fs::remove_dir_all(&b).expect("clean");
    }
    let run = || {
        v5c(&[
            "--message-format",
            "json",
            "check",
            "tests/fixtures/bad/many-errors.yaml",
        ])
        .stdout
    };
    assert_eq!(run(), run());
}

/// `v5c new`: writes a spec that checks, and `spec.schema.json` beside it for editors; says
/// what it did not understand; never overwrites a spec without `--force`; reads `--from`.
#[test]
fn new_writes_a_checked_spec_and_never_overwrites_unasked() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let spec = tmp.path().join("system.yaml");
    let spec_arg = spec.to_str().expect("utf-8");
    let description = "A library on SQLite with books and members. Each loan belongs to a member and a book and has a due date. Glorp the frobnicator.";
    let first = v5c(&["new", description, "-o", spec_arg]);
    assert_eq!(code(&first), 0, "{}", text(&first.stderr));
    let written = std::fs::read_to_string(&spec).expect("the spec");
    assert!(written.starts_with("# yaml-language-server: $schema=spec.schema.json\n"));
    assert!(written.contains("Loan:"), "{written}");
    assert!(
        written.contains("due_date: date  # \"due date\""),
        "{written}"
    );
    assert!(
        text(&first.stderr).contains("warning: not understood: \"Glorp\""),
        "{}",
        text(&first.stderr)
    );
    let schema = std::fs::read_to_string(tmp.path().join("spec.schema.json")).expect("schema");
    assert_eq!(schema, text(&v5c(&["schema", "spec"]).stdout));
    assert_eq!(code(&v5c(&["check", spec_arg])), 0);

    // An existing spec is left alone unless asked.
    std::fs::write(&spec, "# mine\n").expect("write");
    let again = v5c(&["new", "A REST API on PostgreSQL.", "-o", spec_arg]);
    assert_eq!(code(&again), 2);
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&spec).expect("spec"), "# mine\n");
    let forced = v5c(&[
        "new",
        "A REST API on PostgreSQL.",
        "-o",
        spec_arg,
        "--force",
    ]);
    assert_eq!(code(&forced), 0, "{}", text(&forced.stderr));
    assert!(
        std::fs::read_to_string(&spec)
            .expect("spec")
            .contains("engine: postgresql")
    );

    // From a file, and the same bytes as from the command line.
    let from = tmp.path().join("description.txt");
    std::fs::write(&from, description).expect("write");
    let other = tmp.path().join("other.yaml");
    let out = v5c(&[
        "new",
        "--from",
        from.to_str().expect("utf-8"),
        "-o",
        other.to_str().expect("utf-8"),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&other).expect("spec"), written);

    // Nothing to read is a usage error.
    let empty = v5c(&[
        "new",
        "   ",
        "-o",
        tmp.path().join("e.yaml").to_str().expect("utf-8"),
    ]);
    assert_eq!(code(&empty), 2);
    assert!(!tmp.path().join("e.yaml").exists());

    // A database v5c does not write for is named in a warning, with what stands in for it.
    let mongo = tmp.path().join("mongo.yaml");
    let out = v5c(&[
        "new",
        "A catalog storing products in MongoDB.",
        "-o",
        mongo.to_str().expect("utf-8"),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("warning: MongoDB is not a database v5c writes for (PostgreSQL, MySQL/MariaDB, SQLite): SQLite stands in"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&mongo)
            .expect("spec")
            .contains("engine: sqlite }  # \"MongoDB\" (not written for; SQLite in its place)")
    );
}
