//! The flow graph: no cycles, every source's data reaches a store or a sink, nothing stands
//! unused. Records the order of components from producers to consumers.

use super::Facts;
use super::order::{is_cycle, stable_order, strongly_connected};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::{ComponentKind, FieldType, Ir};
use rustc_hash::FxHashSet;
use std::collections::VecDeque;

pub fn run(ir: &Ir, facts: &mut Facts, diags: &mut Diagnostics) {
    let n = ir.components.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut in_flow = vec![false; n];
    for flow in ir.flows.values() {
        let (from, to) = (
            flow.from.component.id().index(),
            flow.to.component.id().index(),
        );
        succ[from].push(to);
        preds[to].push(from);
        in_flow[from] = true;
        in_flow[to] = true;
    }
    let components: Vec<_> = ir.components.values().collect();

    let mut cyclic = vec![false; n];
    for cycle in strongly_connected(n, &succ) {
        if !is_cycle(&cycle, &succ) {
            continue;
        }
        for &c in &cycle {
            cyclic[c] = true;
        }
        let members: FxHashSet<usize> = cycle.iter().copied().collect();
        // Point at one flow of the cycle, and spell the loop out.
        let flow = ir.flows.iter().find(|(_, f)| {
            members.contains(&f.from.component.id().index())
                && members.contains(&f.to.component.id().index())
        });
        let path = cycle_path(cycle[0], &succ, &members)
            .iter()
            .map(|&c| components[c].name.as_str())
            .collect::<Vec<_>>()
            .join(" -> ");
        let mut d = Diagnostic::error(
            Code::FlowCycle,
            format!("the flows form a cycle: {path}"),
        )
        .help("messages would go round for ever and back-pressure could deadlock; break the cycle");
        if let Some((id, _)) = flow {
            d = d.label(ir.spans.flow(id).whole, "part of the cycle");
        }
        diags.push(d);
    }

    // What the API and sinks use outside of flows.
    let mut used_store = vec![false; n];
    for component in ir.components.values() {
        match &component.kind {
            ComponentKind::Api { exposes, .. } => {
                for e in exposes {
                    used_store[e.store.id().index()] = true;
                }
            }
            ComponentKind::Sink { store: Some(s) } => used_store[s.id().index()] = true,
            _ => {}
        }
    }

    // What reaches a store or a sink: searched once, backwards from every store and sink.
    let mut reaches_end = vec![false; n];
    let mut queue: VecDeque<usize> = components
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            matches!(
                c.kind,
                ComponentKind::Store { .. } | ComponentKind::Sink { .. }
            )
        })
        .map(|(i, _)| i)
        .collect();
    for &i in &queue {
        reaches_end[i] = true;
    }
    while let Some(c) = queue.pop_front() {
        for &p in &preds[c] {
            if !reaches_end[p] {
                reaches_end[p] = true;
                queue.push_back(p);
            }
        }
    }

    for (id, component) in ir.components.iter() {
        let i = id.index();
        let spans = ir.spans.component(id);
        match component.kind {
            ComponentKind::Store { .. } if !in_flow[i] && !used_store[i] => diags.push(
                Diagnostic::warning(
                    Code::OrphanComponent,
                    format!(
                        "store `{}` receives no flow and no API or sink uses it",
                        component.name
                    ),
                )
                .label(spans.name, "unused"),
            ),
            ComponentKind::Source { .. } if !reaches_end[i] => {
                if let Some(dead_end) = dead_end(i, &succ, &cyclic) {
                    let mut d = Diagnostic::error(
                        Code::SourceGoesNowhere,
                        format!(
                            "data from {} `{}` reaches no store or sink",
                            component.kind_name(),
                            component.name
                        ),
                    )
                    .label(spans.name, "goes nowhere");
                    if dead_end != i {
                        d = d.note(format!(
                            "it ends at `{}`, whose outputs are not connected",
                            components[dead_end].name
                        ));
                    }
                    diags.push(d.help("connect it to a store or a sink with a flow"));
                }
            }
            _ => {}
        }
    }

    let mut used_entity = vec![false; ir.entities.len()];
    for component in ir.components.values() {
        for port in component.inputs.iter().chain(&component.outputs) {
            used_entity[port.entity.id().index()] = true;
        }
        match &component.kind {
            ComponentKind::Store { entity, .. } => used_entity[entity.id().index()] = true,
            ComponentKind::Api { exposes, .. } => {
                for e in exposes {
                    used_entity[e.entity.id().index()] = true;
                }
            }
            _ => {}
        }
    }
    for entity in ir.entities.values() {
        for field in &entity.fields {
            let mut ty = &field.ty;
            while let FieldType::List { item } = ty {
                ty = item;
            }
            if let FieldType::Ref { entity: target } = ty {
                used_entity[target.id().index()] = true;
            }
        }
    }
    for (id, entity) in ir.entities.iter() {
        if !used_entity[id.index()] {
            diags.push(
                Diagnostic::warning(
                    Code::UnusedEntity,
                    format!(
                        "entity `{}` is not stored, exposed, referenced or carried by a flow",
                        entity.name
                    ),
                )
                .label(ir.spans.entity(id).name, "unused"),
            );
        }
    }

    facts.component_order = stable_order(n, &preds)
        .into_iter()
        .flatten()
        .map(|i| components[i].name.clone())
        .collect();
}

/// Where data from `start`, which reaches no store or sink, dies: the last component
/// reached. `None` when a cycle is on the way; the cycle is reported instead.
fn dead_end(start: usize, succ: &[Vec<usize>], cyclic: &[bool]) -> Option<usize> {
    let mut seen = vec![false; succ.len()];
    let mut queue = VecDeque::from([start]);
    seen[start] = true;
    let mut last = start;
    while let Some(c) = queue.pop_front() {
        if cyclic[c] {
            return None;
        }
        last = c;
        for &next in &succ[c] {
            if !seen[next] {
                seen[next] = true;
                queue.push_back(next);
            }
        }
    }
    Some(last)
}

/// A path from `start` back to itself inside `members` (a cycle's nodes).
fn cycle_path(start: usize, succ: &[Vec<usize>], members: &FxHashSet<usize>) -> Vec<usize> {
    let mut parent: Vec<Option<usize>> = vec![None; succ.len()];
    let mut queue = VecDeque::from([start]);
    while let Some(c) = queue.pop_front() {
        for &next in &succ[c] {
            if !members.contains(&next) {
                continue;
            }
            if next == start {
                let mut chain = Vec::new();
                let mut at = c;
                while at != start {
                    chain.push(at);
                    at = parent[at].unwrap_or(start);
                }
                chain.reverse();
                let mut path = vec![start];
                path.extend(chain);
                path.push(start);
                return path;
            }
            if parent[next].is_none() {
                parent[next] = Some(c);
                queue.push_back(next);
            }
        }
    }
    vec![start, start]
}
