//! The spec: its serde types, its JSON Schema, and loading a spec file into them.
//!
//! Loading runs three checks in order, each reporting every problem it finds with a span:
//! the YAML itself (syntax, duplicate keys), the JSON Schema (types, unknown and missing keys,
//! allowed values, name shapes), then typed deserialisation.

pub mod de;
mod instance;
mod load;
pub mod schema;
mod types;
pub mod yaml;

pub use de::Spanned;
pub use load::load_spec;
pub use types::*;
