//! Analysis passes over the IR, in a fixed order. Each pass has one file, reports every problem
//! it finds, and may add facts. A pass runs only when the passes it needs found no errors, so
//! that one mistake is reported once, not again by every pass that trips over it.
//!
//! | pass | checks | facts |
//! |---|---|---|
//! | `resolve` | every name (entities, components, databases, ports, fields, services, SLO targets) exists; names do not collide | links every `Ref` |
//! | `types` | type parameters, enums, defaults, field options, primary keys | |
//! | `flows` | flow direction, matching entity types, unconnected ports, duplicates | |
//! | `graph` | cycles, orphans, every source reaching a store or sink, unused entities | component order |
//! | `database` | engine support per type, references, keys, identifier limits, table and index names, foreign-key cycles, pools | tables per database, index and constraint names, reserved words |
//! | `deploy` | placement of components, ports, SQLite sharing, resources | |
//! | `observe` | SLOs measurable, sensible and unique | the metric catalogue |

mod database;
mod deploy;
mod flows;
mod graph;
mod keywords;
mod observe;
mod order;
mod resolve;
mod types;

pub use database::{DatabaseFacts, EnumTypeFacts, ForeignKeyFacts, IndexFacts, TableFacts};
pub use deploy::{
    DATABASE_USER, DeployFacts, EnvFacts, ExporterFacts, ImageFacts, LIVENESS_PATH, METRICS_PATH,
    MonitoringFacts, READINESS_PATH, ServiceFacts, database_env, host_name,
};
pub use observe::{Metric, MetricKind, alert_stem, flow_label, le_label};

use crate::diag::Diagnostics;
use crate::ir::Ir;
use schemars::JsonSchema;
use serde::Serialize;

/// The passes, named as `v5c ir --after` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PassName {
    Resolve,
    Types,
    Flows,
    Graph,
    Database,
    Deploy,
    Observe,
}

impl PassName {
    /// Every pass, in the order it runs.
    pub const ORDER: [PassName; 7] = [
        PassName::Resolve,
        PassName::Types,
        PassName::Flows,
        PassName::Graph,
        PassName::Database,
        PassName::Deploy,
        PassName::Observe,
    ];

    /// The passes whose success this pass relies on.
    pub fn needs(self) -> &'static [PassName] {
        match self {
            // Deploy and observe read references through `try_id`, so they can go on (and
            // find more) when some names did not resolve.
            PassName::Resolve | PassName::Types | PassName::Deploy | PassName::Observe => &[],
            PassName::Flows => &[PassName::Resolve],
            PassName::Graph => &[PassName::Resolve, PassName::Flows],
            PassName::Database => &[PassName::Resolve, PassName::Types],
        }
    }
}

/// What the passes learned that backends need.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Facts {
    /// The passes that ran, in order.
    pub passes: Vec<PassName>,
    /// Every component, producers before their consumers (from `graph`).
    pub component_order: Vec<String>,
    /// Each database's tables, names and reserved words (from `database`).
    pub databases: Vec<DatabaseFacts>,
    /// The metrics the generated service exports and monitoring charts and alerts on
    /// (from `observe`). Nothing may use a metric that is not here.
    pub metrics: Vec<Metric>,
    /// Host names, ports and paths of the services, database exporters and monitoring
    /// (from `deploy`).
    pub deploy: DeployFacts,
}

/// An IR that every pass accepted, and what the passes learned: the only input a backend
/// takes. It can only be made by [`analyse`].
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Analysed {
    #[serde(flatten)]
    ir: Ir,
    facts: Facts,
    #[serde(skip)]
    warnings: Diagnostics,
}

impl Analysed {
    pub fn ir(&self) -> &Ir {
        &self.ir
    }

    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// Warnings the passes found (legal but suspicious).
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    pub(crate) fn warnings_mut(&mut self) -> &mut Diagnostics {
        &mut self.warnings
    }

    pub fn database_facts(&self, database: &str) -> Option<&DatabaseFacts> {
        self.facts.databases.iter().find(|d| d.database == database)
    }
}

/// The IR and facts after some passes, for `v5c ir --after`.
#[derive(Debug, Serialize)]
pub struct Partial<'a> {
    #[serde(flatten)]
    pub ir: &'a Ir,
    pub facts: &'a Facts,
}

/// Runs the passes in order, up to and including `last`. Returns the diagnostics of every pass
/// that ran; passes whose needs failed are skipped.
pub fn run_passes(ir: &mut Ir, facts: &mut Facts, last: Option<PassName>) -> Diagnostics {
    let mut all = Diagnostics::new();
    let mut failed: Vec<PassName> = Vec::new();
    for pass in PassName::ORDER {
        if pass.needs().iter().any(|n| failed.contains(n)) {
            failed.push(pass);
        } else {
            let mut diags = Diagnostics::new();
            match pass {
                PassName::Resolve => resolve::run(ir, &mut diags),
                PassName::Types => types::run(ir, &mut diags),
                PassName::Flows => flows::run(ir, &mut diags),
                PassName::Graph => graph::run(ir, facts, &mut diags),
                PassName::Database => database::run(ir, facts, &mut diags),
                PassName::Deploy => deploy::run(ir, facts, &mut diags),
                PassName::Observe => observe::run(ir, facts, &mut diags),
            }
            if diags.has_errors() {
                failed.push(pass);
            }
            facts.passes.push(pass);
            all.extend(diags);
        }
        if Some(pass) == last {
            break;
        }
    }
    all
}

/// Runs every pass. `Ok` holds the analysed IR (with any warnings); `Err` every diagnostic,
/// errors and warnings, in file order.
pub fn analyse(mut ir: Ir) -> Result<Analysed, Diagnostics> {
    let mut facts = Facts::default();
    let mut diags = run_passes(&mut ir, &mut facts, None);
    diags.sort();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(Analysed {
            ir,
            facts,
            warnings: diags,
        })
    }
}
