//! Checks by tools that are not v5c: `check-jsonschema` validates every example against the
//! checked-in spec schema and every IR dump against the checked-in IR schema. An independent
//! validator catches schemas that only v5c's own validator reads the way v5c means.
//!
//! Ignored in plain `cargo test`; `tools/test-all` installs the checker and runs them. They
//! fail, never skip, when the checker is missing.

mod common;

use common::{root, specs_in};

use std::path::{Path, PathBuf};
use std::process::Command;

fn examples() -> Vec<PathBuf> {
    specs_in(&["examples"])
}

fn check_jsonschema(schema: &Path, instances: &[PathBuf]) {
    let out = Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(schema)
        .args(instances)
        .output()
        .unwrap_or_else(|e| {
            panic!("check-jsonschema could not run ({e}); `tools/test-all` installs it")
        });
    assert!(
        out.status.success(),
        "check-jsonschema rejected them:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs check-jsonschema; run by tools/test-all"]
fn examples_pass_check_jsonschema() {
    check_jsonschema(&root().join("ir-schema/spec.schema.json"), &examples());
}

#[test]
#[ignore = "needs check-jsonschema; run by tools/test-all"]
fn ir_dumps_pass_check_jsonschema() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut dumps = Vec::new();
    for path in examples() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let file = v5c::source::SourceFile::new(path.display().to_string(), text);
        let analysed = v5c::check(&file).unwrap_or_else(|_| panic!("{} checks", path.display()));
        let name = path
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        for (ext, dump) in [
            ("json", v5c::ir_to_json(&analysed)),
            ("yaml", v5c::ir_to_yaml(&analysed)),
        ] {
            let out = tmp.path().join(format!("{name}.ir.{ext}"));
            std::fs::write(&out, dump).expect("writable");
            dumps.push(out);
        }
    }
    check_jsonschema(&root().join("ir-schema/ir.schema.json"), &dumps);
}

/// The validator must reject what it should, or the tests above prove nothing.
#[test]
#[ignore = "needs check-jsonschema; run by tools/test-all"]
fn check_jsonschema_rejects_a_bad_spec() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "spec: v5c/1\nsystem: { name: Bad_Name }\nentites: {}\n",
    )
    .expect("writable");
    let out = Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(root().join("ir-schema/spec.schema.json"))
        .arg(&bad)
        .output()
        .expect("check-jsonschema runs");
    assert!(
        !out.status.success(),
        "check-jsonschema accepted an invalid spec"
    );
}
