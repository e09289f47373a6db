//! Template-folder backends through the `v5c` binary: the worked example
//! (`examples/backends/api-docs`) on every example spec, and every way a folder can be wrong
//! (no manifest, an unknown manifest key, a template syntax error, an undefined value, an
//! output path outside the output, a bad `when`) reported with the file, line and column,
//! leaving the output folder as it was.

mod common;

use common::{contains_flat, root, snapshot_dir};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn v5c(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_v5c"))
        .current_dir(root())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("v5c runs")
}

#[test]
fn the_api_docs_example_documents_every_exposure() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/backends");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    for spec in ["shop", "streaming", "crud-api"] {
        let out = tmp.path().join(spec);
        let run = v5c(&[
            "build",
            &format!("examples/{spec}.yaml"),
            "-o",
            out.to_str().expect("utf-8"),
            "--backend-dir",
            "examples/backends/api-docs",
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        // Only the folder's backend runs when only a folder is named.
        assert!(!out.join("sql").exists());
        let ir: serde_json::Value = serde_json::from_slice(
            &v5c(&["ir", "--format", "json", &format!("examples/{spec}.yaml")]).stdout,
        )
        .expect("JSON");
        for api in ir["components"]
            .as_array()
            .expect("components")
            .iter()
            .filter(|c| c["kind"] == "api")
        {
            let name = api["name"].as_str().expect("name");
            let text = std::fs::read_to_string(out.join(format!("api-docs/{name}.md")))
                .expect("one file per api");
            for exposure in api["exposes"].as_array().expect("exposes") {
                let heading = format!(
                    "## {}: `{}{}`",
                    exposure["entity"].as_str().expect("entity"),
                    api["prefix"].as_str().expect("prefix"),
                    exposure["path"].as_str().expect("path")
                );
                assert!(text.contains(&heading), "{spec}: no {heading:?} in\n{text}");
            }
            settings.bind(|| insta::assert_snapshot!(format!("api-docs@{spec}-{name}"), text));
        }
        let written = snapshot_dir(&out);
        let non_api = ir["components"]
            .as_array()
            .expect("components")
            .iter()
            .filter(|c| c["kind"] != "api")
            .count();
        assert!(non_api > 0);
        assert!(
            written.keys().filter(|p| p.starts_with("api-docs")).count()
                < ir["components"].as_array().expect("components").len(),
            "`when` kept the components that are not apis out"
        );
    }
}

/// Writes a folder backend with `manifest` and `template` (named `t.j2`).
fn folder(base: &Path, name: &str, manifest: Option<&str>, template: &str) -> PathBuf {
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    if let Some(m) = manifest {
        std::fs::write(dir.join("backend.yaml"), m).expect("write");
    }
    std::fs::write(dir.join("t.j2"), template).expect("write");
    dir
}

#[test]
fn every_folder_mistake_is_located_and_changes_nothing() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out = tmp.path().join("out");
    let out_arg = out.to_str().expect("utf-8");
    let first = v5c(&[
        "build",
        "examples/shop.yaml",
        "-o",
        out_arg,
        "--backend",
        "sql",
    ]);
    assert!(first.status.success());
    let before = snapshot_dir(&out);
    let good = "name: x\nversion: 1.0.0\ntemplates:\n  - template: t.j2\n    output: out.txt\n";
    let cases: Vec<(&str, Option<String>, &str, Vec<String>)> = vec![
        (
            "no-manifest",
            None,
            "hi",
            vec!["backend.yaml` cannot be read".into()],
        ),
        (
            "unknown-key",
            Some(format!("{good}colour: blue\n")),
            "hi",
            vec!["backend.yaml:6:1".into(), "unknown field `colour`".into()],
        ),
        (
            "syntax",
            Some(good.into()),
            "line one\n{% for x in %}\n",
            vec!["t.j2:2:".into()],
        ),
        (
            "undefined",
            Some(good.into()),
            "a\nb {{ ir.system.nmae }}\n",
            vec!["t.j2:2:".into(), "undefined".into()],
        ),
        (
            "escape",
            Some(good.replace("out.txt", "../escaped.txt")),
            "hi",
            vec!["`../escaped.txt` is not a relative path inside the output directory".into()],
        ),
        (
            "bad-when",
            Some(format!(
                "{good}    for_each: entities\n    when: item.kind ==\n"
            )),
            "hi",
            vec!["`when` of `t.j2` is not an expression".into()],
        ),
    ];
    for (name, manifest, template, expected) in cases {
        let dir = folder(tmp.path(), name, manifest.as_deref(), template);
        let run = v5c(&[
            "build",
            "examples/shop.yaml",
            "-o",
            out_arg,
            "--backend",
            "sql",
            "--backend-dir",
            dir.to_str().expect("utf-8"),
        ]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{name}: {stderr}");
        for e in &expected {
            assert!(contains_flat(&stderr, e), "{name}: no {e:?} in\n{stderr}");
        }
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert_eq!(
            snapshot_dir(&out),
            before,
            "{name}: the output folder changed"
        );
    }
    assert!(!tmp.path().join("escaped.txt").exists());
}

#[test]
fn a_spec_names_its_template_folders_relative_to_itself() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let docs = tmp.path().join("tools/api-docs");
    std::fs::create_dir_all(&docs).expect("mkdir");
    for file in ["backend.yaml", "api.md.j2"] {
        std::fs::copy(
            root().join("examples/backends/api-docs").join(file),
            docs.join(file),
        )
        .expect("copy");
    }
    let shop = std::fs::read_to_string(root().join("examples/shop.yaml")).expect("read");
    let spec = tmp.path().join("shop.yaml");
    std::fs::write(&spec, format!("{shop}\nbackends: [tools/api-docs]\n")).expect("write");
    let out = tmp.path().join("out");
    let run = v5c(&[
        "build",
        spec.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The built-in backends, and the spec's folder.
    assert!(out.join("api-docs/api.md").is_file());
    assert!(out.join("sql/primary/postgresql/schema.sql").is_file());

    // A folder that is not there is a mistake in the spec, shown where it is written.
    std::fs::write(&spec, format!("{shop}\nbackends: [tools/nothing]\n")).expect("write");
    let line = shop.lines().count() + 2;
    let before = snapshot_dir(&out);
    let run = v5c(&[
        "build",
        spec.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
        "--message-format",
        "json",
    ]);
    assert_eq!(run.status.code(), Some(1));
    let message: serde_json::Value = serde_json::from_slice(
        run.stdout
            .split(|b| *b == b'\n')
            .find(|l| !l.is_empty())
            .expect("one diagnostic"),
    )
    .expect("JSON");
    assert_eq!(message["code"], "V5C0901");
    assert_eq!(message["line"], line);
    assert_eq!(message["column"], 12);
    assert!(
        message["message"]
            .as_str()
            .expect("text")
            .contains("holds no `backend.yaml`")
    );
    assert_eq!(snapshot_dir(&out), before);
}

#[test]
fn one_template_listed_twice_writes_to_both_outputs() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = folder(
        tmp.path(),
        "twice",
        Some(
            "name: twice\nversion: 1.0.0\ntemplates:\n  - template: t.j2\n    output: \"entities/{{ item.name }}.txt\"\n    for_each: entities\n  - template: t.j2\n    output: \"components/{{ item.name }}.txt\"\n    for_each: components\n",
        ),
        "{{ item.name }}\n",
    );
    let out = tmp.path().join("out");
    let run = v5c(&[
        "build",
        "examples/shop.yaml",
        "-o",
        out.to_str().expect("utf-8"),
        "--backend-dir",
        dir.to_str().expect("utf-8"),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.join("entities/Customer.txt").is_file());
    assert!(out.join("components/api.txt").is_file());
    assert!(!out.join("components/Customer.txt").exists());
}
