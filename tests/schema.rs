//! The checked-in JSON Schemas are what the code generates. When this fails, regenerate them:
//!
//! ```sh
//! cargo run -- schema spec > ir-schema/spec.schema.json
//! cargo run -- schema ir > ir-schema/ir.schema.json
//! ```

use std::path::Path;

fn checked_in(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ir-schema")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_default()
}

#[test]
fn spec_schema_is_fresh() {
    let generated = v5c::spec::schema::to_pretty_json(v5c::spec::schema::spec_schema());
    assert!(
        generated == checked_in("spec.schema.json"),
        "ir-schema/spec.schema.json is stale: regenerate it with\n    cargo run -- schema spec > ir-schema/spec.schema.json"
    );
}

#[test]
fn ir_schema_is_fresh() {
    let generated = v5c::spec::schema::to_pretty_json(&v5c::ir::ir_schema());
    assert!(
        generated == checked_in("ir.schema.json"),
        "ir-schema/ir.schema.json is stale: regenerate it with\n    cargo run -- schema ir > ir-schema/ir.schema.json"
    );
}
