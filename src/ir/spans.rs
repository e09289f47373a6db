//! Where each IR item came from in the spec: a side table indexed like the arenas, so that the
//! IR itself stays free of positions.

use super::{ComponentId, DatabaseId, EntityId, FlowId, ServiceId, SloId};
use crate::source::Span;

#[derive(Debug, Clone, Default)]
pub struct Spans {
    pub system_name: Span,
    pub databases: Vec<DatabaseSpans>,
    pub entities: Vec<EntitySpans>,
    pub components: Vec<ComponentSpans>,
    pub flows: Vec<FlowSpans>,
    pub services: Vec<ServiceSpans>,
    pub slos: Vec<SloSpans>,
    /// Where `deploy.services` is written, or the top of the file when it is not.
    pub deploy: Span,
    /// Where `observe.scrape_interval` is written, if it is.
    pub scrape_interval: Option<Span>,
    /// Where each of `backends` is written.
    pub backends: Vec<Span>,
}

impl Spans {
    pub fn database(&self, id: DatabaseId) -> &DatabaseSpans {
        &self.databases[id.index()]
    }
    pub fn entity(&self, id: EntityId) -> &EntitySpans {
        &self.entities[id.index()]
    }
    pub fn component(&self, id: ComponentId) -> &ComponentSpans {
        &self.components[id.index()]
    }
    pub fn flow(&self, id: FlowId) -> &FlowSpans {
        &self.flows[id.index()]
    }
    pub fn service(&self, id: ServiceId) -> &ServiceSpans {
        &self.services[id.index()]
    }
    pub fn slo(&self, id: SloId) -> &SloSpans {
        &self.slos[id.index()]
    }
}

#[derive(Debug, Clone, Default)]
pub struct DatabaseSpans {
    pub name: Span,
    pub engine: Span,
    pub isolation: Option<Span>,
    pub pool: Option<Span>,
}

#[derive(Debug, Clone, Default)]
pub struct EntitySpans {
    pub name: Span,
    /// The `table:` value, or the name when the table name is derived.
    pub table: Span,
    pub fields: Vec<FieldSpans>,
    /// Each name in `primary_key:`; empty when the key is set on a field.
    pub primary_key: Vec<Span>,
    /// Parallel to `Entity::indexes`.
    pub indexes: Vec<IndexSpans>,
}

#[derive(Debug, Clone, Default)]
pub struct FieldSpans {
    pub name: Span,
    /// The whole type expression.
    pub ty: Span,
    /// The innermost name of the type: the entity of `ref(X)`, or `string` in `list<string>`.
    pub ty_name: Span,
    /// The spans most fields do not have, kept apart so that the common record, walked by
    /// every pass for every field, stays small.
    pub rare: Option<Box<RareFieldSpans>>,
}

#[derive(Debug, Clone, Default)]
pub struct RareFieldSpans {
    /// Each numeric argument of the type, such as `12` and `2` in `decimal(12,2)`.
    pub ty_args: Vec<Span>,
    /// Each value of an enum type.
    pub enum_values: Vec<Span>,
    pub column: Option<Span>,
    pub default: Option<Span>,
    pub on_delete: Option<Span>,
    pub on_update: Option<Span>,
    pub min: Option<Span>,
    pub max: Option<Span>,
    pub format: Option<Span>,
}

impl FieldSpans {
    pub fn rare_mut(&mut self) -> &mut RareFieldSpans {
        self.rare.get_or_insert_with(Box::default)
    }

    pub fn ty_args(&self) -> &[Span] {
        self.rare.as_ref().map_or(&[], |r| &r.ty_args)
    }

    pub fn enum_values(&self) -> &[Span] {
        self.rare.as_ref().map_or(&[], |r| &r.enum_values)
    }

    /// The `column:` value, or the name when the column is the field's name.
    pub fn column(&self) -> Span {
        self.rare
            .as_ref()
            .and_then(|r| r.column)
            .unwrap_or(self.name)
    }

    pub fn default(&self) -> Option<Span> {
        self.rare.as_ref().and_then(|r| r.default)
    }

    pub fn on_delete(&self) -> Option<Span> {
        self.rare.as_ref().and_then(|r| r.on_delete)
    }

    pub fn on_update(&self) -> Option<Span> {
        self.rare.as_ref().and_then(|r| r.on_update)
    }

    pub fn min(&self) -> Option<Span> {
        self.rare.as_ref().and_then(|r| r.min)
    }

    pub fn max(&self) -> Option<Span> {
        self.rare.as_ref().and_then(|r| r.max)
    }

    pub fn format(&self) -> Option<Span> {
        self.rare.as_ref().and_then(|r| r.format)
    }
}

#[derive(Debug, Clone, Default)]
pub struct IndexSpans {
    /// The index as a whole (or the field that declared it).
    pub whole: Span,
    pub name: Option<Span>,
    /// Each field name.
    pub fields: Vec<Span>,
}

#[derive(Debug, Clone, Default)]
pub struct ComponentSpans {
    pub name: Span,
    /// `kind: …`.
    pub kind: Span,
    pub inputs: Vec<PortSpans>,
    pub outputs: Vec<PortSpans>,
    /// A store's `database:` value.
    pub database: Option<Span>,
    /// A store's `entity:` value.
    pub entity: Option<Span>,
    /// A sink's `store:` value.
    pub store: Option<Span>,
    /// Parallel to an API's exposures.
    pub exposes: Vec<ExposureSpans>,
}

#[derive(Debug, Clone, Default)]
pub struct PortSpans {
    pub name: Span,
    pub entity: Span,
}

#[derive(Debug, Clone, Default)]
pub struct ExposureSpans {
    pub entity: Span,
    pub store: Option<Span>,
    pub path: Option<Span>,
}

#[derive(Debug, Clone, Default)]
pub struct FlowSpans {
    /// The producing end, `a` or `a.out`.
    pub from: Span,
    pub from_port: Option<Span>,
    /// The consuming end.
    pub to: Span,
    pub to_port: Option<Span>,
    /// The whole flow expression the hop belongs to.
    pub whole: Span,
}

#[derive(Debug, Clone, Default)]
pub struct ServiceSpans {
    pub name: Span,
    /// Parallel to `Service::components`, when the spec lists them.
    pub components: Vec<Span>,
    pub replicas: Option<Span>,
    pub port: Option<Span>,
    pub cpu: Option<Span>,
    pub memory: Option<Span>,
    pub cpu_limit: Option<Span>,
    pub memory_limit: Option<Span>,
}

#[derive(Debug, Clone, Default)]
pub struct SloSpans {
    pub whole: Span,
    pub component: Span,
    pub indicator: Span,
    pub comparison: Span,
    pub value: Span,
    pub name: Option<Span>,
}
