//! The bundled examples: each checks clean, its IR matches the snapshot in `snapshots/ir/`,
//! its IR dump matches `ir-schema/ir.schema.json`, and two separate runs print the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;
use v5c::source::SourceFile;

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("examples directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 6, "the six bundled examples are missing");
    paths
}

fn analyse(path: &Path) -> v5c::Analysed {
    let text = std::fs::read_to_string(path).expect("example is readable");
    let file = SourceFile::new(path.display().to_string(), text);
    match v5c::check(&file) {
        Ok(analysed) => analysed,
        Err(diagnostics) => panic!(
            "{} does not check:\n{}",
            path.display(),
            v5c::diag::render_graphical(&diagnostics, 100, false)
        ),
    }
}

#[test]
fn every_example_checks_without_warnings() {
    for path in examples() {
        let analysed = analyse(&path);
        assert!(
            analysed.warnings().is_empty(),
            "{} has warnings:\n{}",
            path.display(),
            v5c::diag::render_graphical(analysed.warnings(), 100, false)
        );
    }
}

#[test]
fn ir_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/ir");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("../examples", "*.yaml", |path| {
            insta::assert_snapshot!(v5c::ir_to_yaml(&analyse(path)));
        });
    });
}

#[test]
fn ir_dumps_match_the_ir_schema() {
    let schema = v5c::ir::ir_schema();
    let validator = jsonschema::draft202012::new(&schema).expect("the IR schema compiles");
    for path in examples() {
        let dump: serde_json::Value =
            serde_json::from_str(&v5c::ir_to_json(&analyse(&path))).expect("the dump is JSON");
        let errors: Vec<String> = validator
            .iter_errors(&dump)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn examples_match_the_checked_in_spec_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("ir-schema/spec.schema.json"),
        )
        .expect("spec schema is checked in"),
    )
    .expect("spec schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("the spec schema compiles");
    for path in examples() {
        let text = std::fs::read_to_string(&path).expect("example is readable");
        let arena = v5c::spec::yaml::Arena::new();
        let root = v5c::spec::yaml::parse(&text, &arena)
            .expect("valid YAML")
            .expect("a document");
        let errors: Vec<String> = validator
            .iter_errors(&root.to_json())
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

/// Two processes (so two hash seeds) print the same IR, byte for byte, in both formats.
#[test]
fn output_is_deterministic_across_runs() {
    let v5c = env!("CARGO_BIN_EXE_v5c");
    for path in examples() {
        for format in ["yaml", "json"] {
            let run = || {
                let out = Command::new(v5c)
                    .args(["ir", "--format", format])
                    .arg(&path)
                    .output()
                    .expect("v5c runs");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            };
            assert_eq!(
                run(),
                run(),
                "{} ({format}) differs between runs",
                path.display()
            );
        }
    }
}
