//! Plugin backends through the `v5c` binary: a plugin found on PATH (the worked example
//! `examples/backends/count`) writes its files; every
//! way a plugin can fail (crash, hang, bad JSON, unknown fields, another protocol, a path
//! outside the output, an error diagnostic) is a clear error naming the plugin, quoting its
//! stderr where it has one, and leaves the output folder exactly as it was.

mod common;

use common::{contains_flat, root, snapshot_dir};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn plugins() -> PathBuf {
    root().join("tests/fixtures/plugins")
}

fn v5c(args: &[&str], env: &[(&str, &str)]) -> Output {
    let path = format!(
        "{}:{}:{}",
        root().join("examples/backends/count").display(),
        plugins().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(env!("CARGO_BIN_EXE_v5c"));
    c.current_dir(root())
        .args(args)
        .env("PATH", path)
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("v5c runs")
}

#[test]
fn a_plugin_on_path_writes_its_files_and_report() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out = tmp.path().join("out");
    let run = v5c(
        &[
            "build",
            "examples/shop.yaml",
            "-o",
            out.to_str().expect("utf-8"),
            "--backend",
            "count",
        ],
        &[],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = std::fs::read_to_string(out.join("count/summary.txt")).expect("written");
    assert_eq!(
        summary,
        "entities: 4\ncomponents: 5\nflows: 0\nservices: 1\n"
    );
    let report = std::fs::read_to_string(out.join("v5c-report.md")).expect("report");
    assert!(report.contains("## count"), "{report}");
    assert!(report.contains("**dropped** `system`: everything but the counts"));
    assert!(
        report.contains("counts only, no sizes"),
        "a warning lands in the report"
    );
}

#[test]
fn a_plugin_by_path_receives_exactly_what_v5c_ir_prints() {
    // The plugin echoes nothing back; the request is checked against `v5c ir --format json`
    // by a plugin that writes what it read.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let echo = tmp.path().join("echo-plugin");
    std::fs::write(
        &echo,
        "#!/usr/bin/env python3\nimport json, sys\nr = json.load(sys.stdin)\nprint(json.dumps({'protocol': 'v5c-backend/1', 'files': [{'path': 'ir.json', 'contents': json.dumps(r['ir'], indent=2) + '\\n'}]}))\n",
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&echo, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = tmp.path().join("out");
    let run = v5c(
        &[
            "build",
            "examples/streaming.yaml",
            "-o",
            out.to_str().expect("utf-8"),
            "--backend",
            echo.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let received: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("ir.json")).expect("written"))
            .expect("JSON");
    let printed = v5c(&["ir", "--format", "json", "examples/streaming.yaml"], &[]);
    let printed: serde_json::Value = serde_json::from_slice(&printed.stdout).expect("JSON");
    assert_eq!(received, printed);
}

#[test]
fn every_plugin_failure_is_clear_and_changes_nothing() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out = tmp.path().join("out");
    let out_arg = out.to_str().expect("utf-8");
    // A previous build, which each failure must leave as it was.
    let first = v5c(
        &[
            "build",
            "examples/shop.yaml",
            "-o",
            out_arg,
            "--backend",
            "sql",
        ],
        &[],
    );
    assert!(first.status.success());
    let before = snapshot_dir(&out);
    let misbehave = plugins().join("misbehave");
    let misbehave = misbehave.to_str().expect("utf-8");
    let started = std::time::Instant::now();
    for (how, expected) in [
        (
            "crash",
            &["exited with exit status: 3", "the IR made me sad"][..],
        ),
        ("hang", &["gave no answer within 0.5 s", "thinking"][..]),
        (
            "bad-json",
            &["is not a `v5c-backend/1` answer", "line 1 column 2"][..],
        ),
        ("unknown-field", &["unknown field `colour`"][..]),
        ("wrong-protocol", &["protocol `v5c-backend/0`"][..]),
        (
            "escape",
            &["`../outside.txt` is not a relative path inside the output directory"][..],
        ),
        (
            "absolute",
            &["`/tmp/v5c-absolute.txt` is not a relative path"][..],
        ),
        ("error", &["entity Order has no price"][..]),
        ("orphan", &["gave no answer within 0.5 s"][..]),
        (
            "manifest",
            &["writes `.v5c-manifest.json`, which v5c itself writes"][..],
        ),
    ] {
        let run = v5c(
            &[
                "build",
                "examples/shop.yaml",
                "-o",
                out_arg,
                "--backend",
                "sql",
                "--backend",
                misbehave,
            ],
            &[("V5C_TEST_MISBEHAVE", how), ("V5C_PLUGIN_TIMEOUT", "0.5")],
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        // Not a mistake in the spec: exit code 2, as for I/O.
        assert_eq!(run.status.code(), Some(2), "{how}: {stderr}");
        assert!(stderr.contains("`misbehave`"), "{how}: {stderr}");
        for e in expected {
            assert!(contains_flat(&stderr, e), "{how}: no {e:?} in\n{stderr}");
        }
        assert!(!stderr.contains("panicked"), "{how}: {stderr}");
        assert_eq!(
            snapshot_dir(&out),
            before,
            "{how}: the output folder changed"
        );
        assert!(!tmp.path().join("outside.txt").exists());
    }
    assert!(!Path::new("/tmp/v5c-absolute.txt").exists());
    // The hanging plugins were stopped, with what they started, at their time limit.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn two_plugins_of_one_name_are_refused_and_odd_time_limits_do_not_crash() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let mut programs = Vec::new();
    for dir in ["a", "b"] {
        let d = tmp.path().join(dir);
        std::fs::create_dir_all(&d).expect("mkdir");
        let p = d.join("v5c-backend-x");
        std::fs::copy(plugins().join("misbehave"), &p).expect("copy");
        programs.push(p);
    }
    let out = tmp.path().join("out");
    let run = v5c(
        &[
            "build",
            "examples/shop.yaml",
            "-o",
            out.to_str().expect("utf-8"),
            "--backend",
            programs[0].to_str().expect("utf-8"),
            "--backend",
            programs[1].to_str().expect("utf-8"),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        contains_flat(&stderr, "two backends are named `x`"),
        "{stderr}"
    );
    assert!(!out.exists());
    for limit in ["inf", "1e30", "-1", "NaN", "abc"] {
        let run = v5c(
            &[
                "build",
                "examples/shop.yaml",
                "-o",
                out.to_str().expect("utf-8"),
                "--backend",
                programs[0].to_str().expect("utf-8"),
            ],
            &[("V5C_PLUGIN_TIMEOUT", limit)],
        );
        assert!(
            run.status.success(),
            "{limit}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

#[test]
fn an_unknown_backend_names_the_plugin_convention() {
    let run = v5c(
        &[
            "build",
            "examples/shop.yaml",
            "-o",
            "/tmp/never",
            "--backend",
            "nosuch",
        ],
        &[],
    );
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("unknown backend `nosuch`"), "{stderr}");
    assert!(
        contains_flat(&stderr, "`v5c-backend-NAME` on PATH"),
        "{stderr}"
    );
    assert!(!Path::new("/tmp/never").exists());
}
