//! v5c: a compiler for software systems.
//!
//! ```text
//!  spec file ──load_spec──▶ Spec ──spec_to_ir──▶ Ir ──analyse──▶ Analysed ──emit──▶ files
//!             YAML + spans        grammar,          passes, in       backends, into a
//!             JSON Schema         defaults          a fixed order    staged output dir
//!             typed serde
//! ```
//!
//! One public function per arrow, so that the CLI, the tests and plugin hosts run the same
//! steps. `ARCHITECTURE.md` describes each stage.

pub mod backends;
pub mod cli;
pub mod diag;
pub mod ir;
pub mod names;
pub mod nl;
pub mod passes;
pub mod source;
pub mod spec;
pub mod syntax;
/// Synthetic specs of any size, for benchmarks and scale tests.
pub mod synth;

pub use backends::emit;
pub use ir::spec_to_ir;
pub use passes::{Analysed, Facts, analyse};
pub use spec::load_spec;

use diag::Diagnostics;
use source::SourceFile;
use std::sync::Arc;

/// Loads, lowers and analyses a spec: everything `v5c check` does. Diagnostics point into
/// `file`.
pub fn check(file: &Arc<SourceFile>) -> Result<Analysed, Diagnostics> {
    let spec = load_spec(file)?;
    match spec_to_ir(&spec).and_then(analyse) {
        Ok(mut analysed) => {
            analysed.warnings_mut().attach_file(file);
            Ok(analysed)
        }
        Err(mut diags) => {
            diags.attach_file(file);
            diags.sort();
            Err(diags)
        }
    }
}

/// The IR (an [`Analysed`], or a [`passes::Partial`] after some passes) as YAML, as `v5c ir`
/// prints it.
pub fn ir_to_yaml(ir: &impl serde::Serialize) -> String {
    serde_yaml::to_string(ir).expect("the IR serialises to YAML")
}

/// The IR as pretty JSON with a final newline, as `v5c ir --format json` prints it and
/// plugins receive it.
pub fn ir_to_json(ir: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(ir).expect("the IR serialises to JSON");
    text.push('\n');
    text
}
