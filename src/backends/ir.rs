//! The `ir` backend: the analysed IR as YAML for reviewers and JSON for tools. The JSON is
//! exactly what `v5c ir --format json` prints and what a plugin backend receives.

use super::{Backend, Emitted, Templates};
use crate::Analysed;
use crate::diag::{Code, Diagnostic, Diagnostics};

pub struct IrBackend;

impl Backend for IrBackend {
    fn name(&self) -> &'static str {
        "ir"
    }

    fn description(&self) -> &'static str {
        "the analysed IR, as YAML for reviewers and JSON for tools"
    }

    fn emit(&self, analysed: &Analysed) -> Result<Emitted, Diagnostics> {
        let mut emitted = Emitted::default();
        let ir_yaml = crate::ir_to_yaml(analysed);
        let yaml = Templates::for_backend("ir").render(
            "ir.yaml.j2",
            serde_json::json!({
                "v5c_version": env!("CARGO_PKG_VERSION"),
                "system": analysed.ir().system.name,
                "ir_version": crate::ir::IR_VERSION,
                "ir_yaml": ir_yaml.trim_end(),
            }),
        )?;
        let json = crate::ir_to_json(analysed);
        for (path, contents) in [("ir/ir.yaml", yaml), ("ir/ir.json", json)] {
            emitted
                .files
                .add(path, contents)
                .map_err(|e| Diagnostic::error(Code::BackendFailed, e))?;
        }
        Ok(emitted)
    }
}
