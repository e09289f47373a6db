//! Every bad fixture under `tests/fixtures/bad/` fails with the codes its first line names
//! (`# expect: V5C0011 …`), and its rendered diagnostics (no colour, 100 columns) match the
//! snapshot in `snapshots/diagnostics/`. Together the fixtures must exercise every code a
//! spec can cause.

use std::collections::BTreeSet;
use std::path::Path;
use v5c::diag::{Code, Diagnostics, render_graphical, render_json};
use v5c::source::SourceFile;

fn expected_codes(text: &str) -> Vec<Code> {
    let line = text.lines().next().unwrap_or_default();
    let codes = line
        .strip_prefix("# expect:")
        .unwrap_or_else(|| panic!("a bad fixture starts with `# expect: CODE…`, not {line:?}"));
    codes
        .split_whitespace()
        .map(|c| Code::parse(c).unwrap_or_else(|| panic!("`{c}` is not a code")))
        .collect()
}

fn diagnose(path: &Path) -> (String, Diagnostics) {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let name = format!(
        "fixtures/bad/{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
    );
    let file = SourceFile::new(name, text.clone());
    let diagnostics = match v5c::check(&file) {
        Err(diagnostics) => diagnostics,
        Ok(analysed) => analysed.warnings().clone(),
    };
    (text, diagnostics)
}

#[test]
fn bad_fixtures() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/diagnostics");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("fixtures/bad/*.yaml", |path| {
            let (text, diagnostics) = diagnose(path);
            assert!(
                !diagnostics.is_empty(),
                "{} produced no diagnostics",
                path.display()
            );
            let found: BTreeSet<Code> = diagnostics.iter().map(|d| d.code).collect();
            for code in expected_codes(&text) {
                assert!(
                    found.contains(&code),
                    "{} should report {code}, but reported {:?}:\n{}",
                    path.display(),
                    found.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    render_graphical(&diagnostics, 100, false)
                );
            }
            for d in &diagnostics {
                for label in &d.labels {
                    assert!(
                        label.span.end() <= text.len() && text.is_char_boundary(label.span.start()),
                        "{}: a label points outside the file",
                        path.display()
                    );
                }
            }
            insta::assert_snapshot!(render_graphical(&diagnostics, 100, false));
        });
    });
}

/// Codes no spec can cause: they come from the file system and the build.
const NOT_FROM_A_SPEC: &[Code] = &[
    Code::Io,
    Code::UnknownBackend,
    Code::BackendFailed,
    Code::OutputIo,
    Code::HandEdited,
    Code::OutputConflict,
    Code::OutputBlocked,
];

#[test]
fn fixtures_exercise_every_spec_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut exercised = BTreeSet::new();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures directory") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            count += 1;
            let (_, diagnostics) = diagnose(&path);
            exercised.extend(diagnostics.iter().map(|d| d.code));
        }
    }
    assert!(count >= 40, "only {count} bad fixtures");
    let missing: Vec<String> = Code::ALL
        .iter()
        .filter(|c| !NOT_FROM_A_SPEC.contains(c) && !exercised.contains(c))
        .map(ToString::to_string)
        .collect();
    assert!(missing.is_empty(), "no bad fixture causes {missing:?}");
}

#[test]
fn json_diagnostics_carry_positions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let (_, diagnostics) = diagnose(&dir.join("unknown-key-typo.yaml"));
    let lines = render_json(&diagnostics);
    let first: serde_json::Value =
        serde_json::from_str(lines.lines().next().expect("one line")).expect("valid JSON");
    assert_eq!(first["code"], "V5C0011");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "fixtures/bad/unknown-key-typo.yaml");
    assert_eq!(first["line"], 9);
    assert_eq!(first["column"], 37);
    assert_eq!(first["help"], "did you mean `nullable`?");
}
