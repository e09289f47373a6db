//! Name resolution: every name the spec uses refers to something that exists, and is linked
//! to it; names that would collide once re-cased are refused.
//!
//! This is the only pass that changes the IR: it sets the id of every `Ref` and the port of
//! every flow end whose port the spec left implicit.

use crate::diag::{self, Code, Diagnostic, Diagnostics};
use crate::ir::{ComponentId, ComponentKind, Ir, Ref};
use crate::source::Span;
use rustc_hash::FxHashMap;

struct Names<T> {
    ids: FxHashMap<String, crate::ir::Id<T>>,
}

impl<T> Names<T> {
    fn new<'a>(items: impl Iterator<Item = (crate::ir::Id<T>, &'a str)>) -> Self {
        Names {
            ids: items.map(|(id, name)| (name.to_owned(), id)).collect(),
        }
    }

    fn get(&self, name: &str) -> Option<crate::ir::Id<T>> {
        self.ids.get(name).copied()
    }

    fn suggest(&self, name: &str) -> Option<String> {
        // Sorted, so that among equally close names the same one is always offered.
        let mut names: Vec<&str> = self.ids.keys().map(String::as_str).collect();
        names.sort_unstable();
        diag::suggest(name, names)
    }

    /// Links `r`, or reports it as unknown with the closest name as help.
    fn link(&self, r: &mut Ref<T>, span: Span, code: Code, what: &str, diags: &mut Diagnostics) {
        match self.get(&r.name) {
            Some(id) => r.resolve(id),
            None => diags.push(
                Diagnostic::error(code, format!("unknown {what} `{}`", r.name))
                    .label(span, format!("no {what} has this name"))
                    .maybe_help(self.suggest(&r.name)),
            ),
        }
    }
}

/// The key two names collide on: letter case and `_`/`-` are ignored. An iterator, so that
/// comparing keys allocates nothing.
fn collision_key(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
}

fn collision_hash(name: &str) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    for c in collision_key(name) {
        hasher.write_u32(u32::from(c));
    }
    hasher.finish()
}

fn check_collisions<'a>(
    what: &str,
    names: impl Iterator<Item = (&'a str, Span)>,
    diags: &mut Diagnostics,
) {
    // Sorted by the hash of their key (then by order of appearance), names that may collide
    // stand side by side; each is then compared with the earlier ones of its run.
    let mut keyed: Vec<(u64, usize, &str, Span)> = names
        .enumerate()
        .map(|(i, (name, span))| (collision_hash(name), i, name, span))
        .collect();
    keyed.sort_unstable_by_key(|k| (k.0, k.1));
    for run in keyed.chunk_by(|a, b| a.0 == b.0) {
        for (j, &(_, _, name, span)) in run.iter().enumerate().skip(1) {
            let first = run[..j]
                .iter()
                .find(|earlier| collision_key(earlier.2).eq(collision_key(name)));
            if let Some(&(_, _, first, first_span)) = first {
                if name != first {
                    diags.push(
                        Diagnostic::error(
                            Code::NameCollision,
                            format!(
                                "{what} `{name}` and `{first}` differ only in case or underscores"
                            ),
                        )
                        .label(span, "this name")
                        .label(first_span, "collides with this one")
                        .help("they would map to the same table, type or file name; rename one"),
                    );
                }
            }
        }
    }
}

pub fn run(ir: &mut Ir, diags: &mut Diagnostics) {
    let entities = Names::new(ir.entities.iter().map(|(id, e)| (id, e.name.as_str())));
    let components = Names::new(ir.components.iter().map(|(id, c)| (id, c.name.as_str())));
    let databases = Names::new(ir.databases.iter().map(|(id, d)| (id, d.name.as_str())));
    let spans = std::mem::take(&mut ir.spans);

    check_collisions(
        "entities",
        ir.entities
            .iter()
            .map(|(id, e)| (e.name.as_str(), spans.entity(id).name)),
        diags,
    );
    check_collisions(
        "components",
        ir.components
            .iter()
            .map(|(id, c)| (c.name.as_str(), spans.component(id).name)),
        diags,
    );
    check_collisions(
        "databases",
        ir.databases
            .iter()
            .map(|(id, d)| (d.name.as_str(), spans.database(id).name)),
        diags,
    );
    check_collisions(
        "services",
        ir.services
            .iter()
            .map(|(id, s)| (s.name.as_str(), spans.service(id).name)),
        diags,
    );

    for (id, entity) in ir.entities.iter_mut() {
        let entity_spans = spans.entity(id);
        check_collisions(
            "fields",
            entity
                .fields
                .iter()
                .zip(&entity_spans.fields)
                .map(|(f, s)| (f.name.as_str(), s.name)),
            diags,
        );
        let field_names: Vec<&str> = entity.fields.iter().map(|f| f.name.as_str()).collect();
        let unknown_field = |name: &str, span: Span, diags: &mut Diagnostics| {
            if !field_names.contains(&name) {
                diags.push(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!("`{}` has no field `{name}`", entity.name),
                    )
                    .label(span, "no such field")
                    .maybe_help(diag::suggest(name, field_names.iter().copied())),
                );
            }
        };
        for (name, span) in entity.primary_key.iter().zip(&entity_spans.primary_key) {
            unknown_field(name, *span, diags);
        }
        for (index, index_spans) in entity.indexes.iter().zip(&entity_spans.indexes) {
            for (name, span) in index.fields.iter().zip(&index_spans.fields) {
                unknown_field(name, *span, diags);
            }
        }
        for (field, field_spans) in entity.fields.iter_mut().zip(&entity_spans.fields) {
            let mut ty = &mut field.ty;
            while let crate::ir::FieldType::List { item } = ty {
                ty = item;
            }
            if let crate::ir::FieldType::Ref { entity: target } = ty {
                entities.link(
                    target,
                    field_spans.ty_name,
                    Code::UnknownEntity,
                    "entity",
                    diags,
                );
            }
        }
    }

    // Which stores hold each entity, for exposures that leave their store implicit.
    let mut stores_of: FxHashMap<String, Vec<String>> = FxHashMap::default();
    for component in ir.components.values() {
        if let ComponentKind::Store { entity, .. } = &component.kind {
            stores_of
                .entry(entity.name.clone())
                .or_default()
                .push(component.name.clone());
        }
    }
    let kinds: Vec<&'static str> = ir
        .components
        .values()
        .map(crate::ir::Component::kind_name)
        .collect();
    // Exposures whose store linked: whether the store holds the exposed entity is checked
    // once every component is linked.
    let mut linked_exposures: Vec<(ComponentId, usize, Span)> = Vec::new();

    for (id, component) in ir.components.iter_mut() {
        let component_spans = spans.component(id);
        for (port, port_spans) in component
            .inputs
            .iter_mut()
            .chain(component.outputs.iter_mut())
            .zip(
                component_spans
                    .inputs
                    .iter()
                    .chain(&component_spans.outputs),
            )
        {
            entities.link(
                &mut port.entity,
                port_spans.entity,
                Code::UnknownEntity,
                "entity",
                diags,
            );
        }
        check_collisions(
            "ports",
            component
                .inputs
                .iter()
                .zip(&component_spans.inputs)
                .chain(component.outputs.iter().zip(&component_spans.outputs))
                .map(|(p, s)| (p.name.as_str(), s.name)),
            diags,
        );
        let name = component.name.clone();
        match &mut component.kind {
            ComponentKind::Store {
                database, entity, ..
            } => {
                let at = component_spans.database.unwrap_or(component_spans.name);
                databases.link(database, at, Code::UnknownDatabase, "database", diags);
                let at = component_spans.entity.unwrap_or(component_spans.name);
                entities.link(entity, at, Code::UnknownEntity, "entity", diags);
            }
            ComponentKind::Sink { store: Some(store) } => {
                let at = component_spans.store.unwrap_or(component_spans.name);
                link_store(store, at, &components, &kinds, diags);
            }
            ComponentKind::Api { exposes, .. } => {
                for (i, (exposure, exposure_spans)) in
                    exposes.iter_mut().zip(&component_spans.exposes).enumerate()
                {
                    let before = diags.error_count();
                    entities.link(
                        &mut exposure.entity,
                        exposure_spans.entity,
                        Code::UnknownEntity,
                        "entity",
                        diags,
                    );
                    if diags.error_count() > before {
                        continue;
                    }
                    if exposure.store.name.is_empty() {
                        let holders = stores_of
                            .get(&exposure.entity.name)
                            .map_or(&[][..], Vec::as_slice);
                        let d = if holders.is_empty() {
                            Diagnostic::error(
                                Code::NoStoreForEntity,
                                format!(
                                    "api `{name}` exposes `{}`, but no store holds it",
                                    exposure.entity.name
                                ),
                            )
                            .label(exposure_spans.entity, "not stored anywhere")
                            .help(format!(
                                "add a component `{{ kind: store, database: …, entity: {} }}`",
                                exposure.entity.name
                            ))
                        } else {
                            Diagnostic::error(
                                Code::NoStoreForEntity,
                                format!(
                                    "several stores hold `{}`: {}",
                                    exposure.entity.name,
                                    diag::one_of(holders)
                                ),
                            )
                            .label(exposure_spans.entity, "which store?")
                            .help("name one with `store:`")
                        };
                        diags.push(d);
                        continue;
                    }
                    let at = exposure_spans.store.unwrap_or(exposure_spans.entity);
                    if link_store(&mut exposure.store, at, &components, &kinds, diags) {
                        linked_exposures.push((id, i, at));
                    }
                }
            }
            _ => {}
        }
    }

    for (id, i, at) in linked_exposures {
        let ComponentKind::Api { exposes, .. } = &ir.components[id].kind else {
            continue;
        };
        let exposure = &exposes[i];
        let held = match &ir.components[exposure.store.id()].kind {
            ComponentKind::Store { entity, .. } => entity.name.as_str(),
            _ => "?",
        };
        if held != exposure.entity.name {
            diags.push(
                Diagnostic::error(
                    Code::NoStoreForEntity,
                    format!(
                        "store `{}` holds `{held}`, not `{}`",
                        exposure.store.name, exposure.entity.name
                    ),
                )
                .label(at, "this store")
                .label(spans.component(id).exposes[i].entity, "exposes this entity"),
            );
        }
    }

    // Flow ends: the component, then the port (named, or the only one in that direction).
    let all_components = &ir.components;
    for (id, flow) in ir.flows.iter_mut() {
        let flow_spans = spans.flow(id);
        for (end, span, port_span, output) in [
            (&mut flow.from, flow_spans.from, flow_spans.from_port, true),
            (&mut flow.to, flow_spans.to, flow_spans.to_port, false),
        ] {
            let before = diags.error_count();
            components.link(
                &mut end.component,
                span,
                Code::UnknownComponent,
                "component",
                diags,
            );
            if diags.error_count() > before {
                continue;
            }
            let component = &all_components[end.component.id()];
            let (inputs, outputs, kind) =
                (&component.inputs, &component.outputs, component.kind_name());
            if inputs.is_empty() && outputs.is_empty() {
                diags.push(
                    Diagnostic::error(
                        Code::NoPorts,
                        format!("`{}` is an {kind}: it takes no part in flows", end.component.name),
                    )
                    .label(span, "has no ports")
                    .help("an api reads and writes through stores; connect flows to the store instead"),
                );
                continue;
            }
            let same_way = if output { outputs } else { inputs };
            if let Some(port_span) = port_span {
                let known = inputs.iter().chain(outputs).any(|p| p.name == end.port);
                if !known {
                    let names: Vec<&str> = inputs
                        .iter()
                        .chain(outputs)
                        .map(|p| p.name.as_str())
                        .collect();
                    diags.push(
                        Diagnostic::error(
                            Code::UnknownPort,
                            format!("`{}` has no port `{}`", end.component.name, end.port),
                        )
                        .label(port_span, "no such port")
                        .help(
                            diag::suggest(&end.port, names.iter().copied()).unwrap_or_else(|| {
                                format!("its ports are {}", diag::one_of(&names))
                            }),
                        ),
                    );
                }
            } else if end.port.is_empty() && same_way.len() > 1 {
                let names: Vec<&str> = same_way.iter().map(|p| p.name.as_str()).collect();
                diags.push(
                    Diagnostic::error(
                        Code::AmbiguousPort,
                        format!(
                            "`{}` has several {} ports: {}",
                            end.component.name,
                            if output { "output" } else { "input" },
                            diag::one_of(&names)
                        ),
                    )
                    .label(span, "which port?")
                    .help(format!(
                        "name one, as in `{}.{}`",
                        end.component.name, names[0]
                    )),
                );
            }
            // An end with no port that way is left empty for the flows pass, which explains
            // the direction.
        }
    }

    for (id, service) in ir.services.iter_mut() {
        let service_spans = spans.service(id);
        for (i, component) in service.components.iter_mut().enumerate() {
            let at = service_spans
                .components
                .get(i)
                .copied()
                .unwrap_or(service_spans.name);
            components.link(component, at, Code::UnknownComponent, "component", diags);
        }
    }

    for (id, slo) in ir.slos.iter_mut() {
        let at = spans.slo(id).component;
        components.link(
            &mut slo.component,
            at,
            Code::SloUnknownComponent,
            "component",
            diags,
        );
    }

    ir.spans = spans;
}

/// Links a reference that must name a store; `false` when it does not.
fn link_store(
    store: &mut Ref<crate::ir::Component>,
    at: Span,
    components: &Names<crate::ir::Component>,
    kinds: &[&'static str],
    diags: &mut Diagnostics,
) -> bool {
    let before = diags.error_count();
    components.link(store, at, Code::UnknownComponent, "component", diags);
    if diags.error_count() > before {
        return false;
    }
    let id: ComponentId = store.id();
    let kind = kinds[id.index()];
    if kind != "store" {
        diags.push(
            Diagnostic::error(
                Code::WrongComponentKind,
                format!(
                    "`{}` is {} {kind}, but a store is needed here",
                    store.name,
                    crate::diag::article(kind)
                ),
            )
            .label(at, "not a store"),
        );
        return false;
    }
    true
}
