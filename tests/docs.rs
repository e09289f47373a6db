//! The built-in `docs` backend (a template folder embedded in the binary): a snapshot of
//! every example's overview (`snapshots/docs/`), every component, flow and entity in its
//! diagrams; and, ignored in plain `cargo test` and run by `tools/test-all`, every diagram
//! rendered by Mermaid's own renderer (mermaid-cli, in Debian's Chromium).

mod common;

use common::{root, specs_in, stem};
use v5c::backends::Backend;

use std::path::{Path, PathBuf};
use std::process::Command;
use v5c::source::SourceFile;

/// The examples, and `tests/fixtures/docs/` (names that are Mermaid keywords).
fn examples() -> Vec<PathBuf> {
    specs_in(&["examples", "tests/fixtures/docs"])
}

fn overview(path: &Path) -> (v5c::Analysed, String) {
    let text = std::fs::read_to_string(path).expect("spec is readable");
    let file = SourceFile::new(path.display().to_string(), text);
    let analysed = v5c::check(&file).expect("the example checks");
    let backends = v5c::backends::select(&["docs".to_owned()]).expect("docs is built in");
    let output = v5c::emit(&analysed, &backends).expect("the docs backend runs");
    let text = String::from_utf8(
        output
            .files
            .get("docs/README.md")
            .expect("written")
            .to_vec(),
    )
    .expect("UTF-8");
    (analysed, text)
}

#[test]
fn docs_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/docs");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for path in examples() {
            insta::assert_snapshot!(stem(&path), overview(&path).1);
        }
    });
}

#[test]
fn every_component_flow_and_entity_is_drawn() {
    for path in examples() {
        let (analysed, text) = overview(&path);
        let ir = analysed.ir();
        for c in ir.components.values() {
            assert!(
                text.contains(&format!("    c_{}", c.name)),
                "{}: no node for {}",
                stem(&path),
                c.name
            );
        }
        for f in ir.flows.values() {
            let edge = format!("c_{} -->|", f.from.component.name);
            let target = format!("| c_{}\n", f.to.component.name);
            assert!(
                text.lines()
                    .any(|l| l.contains(&edge) && format!("{l}\n").contains(&target)),
                "{}: no edge {} -> {}",
                stem(&path),
                f.from.component.name,
                f.to.component.name
            );
        }
        for e in ir.entities.values() {
            assert!(
                text.contains(&format!("    e_{0}[\"{0}\"] {{\n", e.name)),
                "{}: {} is not in the entity diagram",
                stem(&path),
                e.name
            );
        }
        assert_eq!(
            text.matches("```mermaid").count(),
            1 + usize::from(!ir.entities.is_empty())
        );
    }
}

#[test]
fn the_docs_backend_is_a_template_folder() {
    // Built in, but loaded through the same mechanism as a folder on disk.
    let backends = v5c::backends::builtin();
    let docs = backends
        .iter()
        .find(|b| b.name() == "docs")
        .expect("docs is built in");
    // Its name and description are those of its manifest, and loading that folder from disk
    // gives the same files.
    let manifest: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join("backends/docs/backend.yaml")).expect("manifest"),
    )
    .expect("YAML");
    assert_eq!(manifest["name"].as_str(), Some(docs.name()));
    assert_eq!(manifest["description"].as_str(), Some(docs.description()));
    let from_disk = v5c::backends::folder::FolderBackend::load(camino::Utf8Path::new(
        root().join("backends/docs").to_str().expect("utf-8"),
    ))
    .unwrap_or_else(|_| panic!("backends/docs loads as a folder"));
    for path in specs_in(&["examples"]) {
        let analysed = common::analyse(&path);
        assert_eq!(
            docs.emit(&analysed).expect("built in").files,
            from_disk.emit(&analysed).expect("from disk").files
        );
    }
}

#[test]
#[ignore = "needs mermaid-cli and Chromium; run by tools/test-all"]
fn mermaid_renders_every_diagram() {
    let tools = root().join("target/tools/mermaid");
    let mmdc = tools.join("node_modules/.bin/mmdc");
    assert!(
        mmdc.exists(),
        "{} is missing; `tools/test-all` runs `npm ci` there from tools/mermaid",
        mmdc.display()
    );
    let base = root().join("target/docs-check");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("mkdir");
    let render = |input: &Path, output: &Path| {
        Command::new(&mmdc)
            .arg("-p")
            .arg(root().join("tools/mermaid/puppeteer.json"))
            .arg("-i")
            .arg(input)
            .arg("-o")
            .arg(output)
            .output()
            .expect("mmdc runs")
    };
    for path in examples() {
        let name = stem(&path);
        let input = base.join(format!("{name}.md"));
        std::fs::write(&input, overview(&path).1).expect("write");
        let out = render(&input, &base.join(format!("{name}-rendered.md")));
        assert!(
            out.status.success(),
            "{name}: Mermaid cannot render the diagrams:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let svgs = std::fs::read_dir(&base)
            .expect("readable")
            .filter(|e| {
                let n = e.as_ref().expect("entry").file_name();
                let n = n.to_string_lossy();
                n.starts_with(&format!("{name}-rendered-")) && n.ends_with(".svg")
            })
            .count();
        assert!(svgs >= 1, "{name}: no SVG was drawn");
    }
    // A broken diagram must fail, or the check proves nothing.
    let broken = base.join("broken.md");
    std::fs::write(
        &broken,
        "# x\n\n```mermaid\nflowchart LR\n    a -->| b\n```\n",
    )
    .expect("write");
    let out = render(&broken, &base.join("broken-rendered.md"));
    assert!(!out.status.success(), "mmdc rendered a broken diagram");
}
