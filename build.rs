//! Embeds the built-in backends' templates (`backends/NAME/…`) in the binary, so that v5c runs
//! from anywhere without its source tree.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let backends = root.join("backends");
    println!("cargo:rerun-if-changed=backends");
    let mut files = Vec::new();
    collect(&backends, &mut files);
    files.sort();
    let mut code = String::from("/// Built-in templates: (path under `backends/`, text).\n");
    code.push_str("pub static TEMPLATES: &[(&str, &str)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file
            .strip_prefix(&backends)
            .expect("collected under backends/")
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets this")).join("templates.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
