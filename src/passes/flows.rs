//! Ports and flows: each flow runs from an output to an input carrying one entity type; ports
//! that must be connected are; no flow is written twice.
//!
//! Required ports: a source's outputs, a transformer's inputs, a sink's inputs. A store's input
//! is optional: a store may be filled only through an API. A transformer with some outputs
//! unconnected gets a warning (what it sends there is dropped); one with none connected is the
//! graph pass's business, since then its input data reaches no store or sink.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::{Component, ComponentKind, DEAD_LETTER_PORT, Ir, Port, PortRef};
use rustc_hash::{FxHashMap, FxHashSet};

fn find_port<'a>(component: &'a Component, name: &str, output: bool) -> Option<&'a Port> {
    port_index(component, name, output).map(|i| {
        if output {
            &component.outputs[i]
        } else {
            &component.inputs[i]
        }
    })
}

/// The position of the named port among the component's outputs (or inputs).
fn port_index(component: &Component, name: &str, output: bool) -> Option<usize> {
    let ports = if output {
        &component.outputs
    } else {
        &component.inputs
    };
    ports.iter().position(|p| p.name == name)
}

fn direction_problem(
    end: &PortRef,
    component: &Component,
    output: bool,
) -> Option<(String, String)> {
    let kind = component.kind_name();
    if end.port.is_empty() {
        let (role, does) = if output {
            (
                "producer",
                match component.kind {
                    ComponentKind::Store { .. } | ComponentKind::Sink { .. } => "only consumes",
                    _ => "has no output",
                },
            )
        } else {
            (
                "consumer",
                match component.kind {
                    ComponentKind::Source { .. } => "only emits",
                    _ => "has no input",
                },
            )
        };
        return Some((
            format!(
                "`{}` is {} {kind} and {does}, so it cannot be the {role} of a flow",
                component.name,
                crate::diag::article(kind)
            ),
            if output {
                "flows start at a source or a transformer".into()
            } else {
                "flows end at a transformer, a store or a sink".into()
            },
        ));
    }
    if find_port(component, &end.port, output).is_some() {
        return None;
    }
    let (is, should) = if output {
        ("an input", "an output")
    } else {
        ("an output", "an input")
    };
    Some((
        format!("`{}.{}` is {is} port, but this end of a flow needs {should}", component.name, end.port),
        "a flow runs from the producer's output to the consumer's input: `producer.out -> consumer.in`".into(),
    ))
}

pub fn run(ir: &Ir, diags: &mut Diagnostics) {
    // Ports by (component, is output, port position): no names are copied per flow.
    let mut connected: FxHashSet<(usize, bool, usize)> = FxHashSet::default();
    let mut seen: FxHashMap<(usize, usize, usize, usize), crate::source::Span> =
        FxHashMap::default();

    for (id, flow) in ir.flows.iter() {
        let spans = ir.spans.flow(id);
        let (Some(from_id), Some(to_id)) =
            (flow.from.component.try_id(), flow.to.component.try_id())
        else {
            continue;
        };
        let from = &ir.components[from_id];
        let to = &ir.components[to_id];

        let mut ok = true;
        for (end, component, output, span) in [
            (
                &flow.from,
                from,
                true,
                spans.from_port.unwrap_or(spans.from),
            ),
            (&flow.to, to, false, spans.to_port.unwrap_or(spans.to)),
        ] {
            match direction_problem(end, component, output) {
                Some((message, help)) => {
                    diags.push(
                        Diagnostic::error(Code::FlowDirection, message)
                            .label(span, "wrong way")
                            .help(help),
                    );
                    ok = false;
                }
                // A good end counts as connected even when the other end is wrong, so that
                // one mistake is not reported again as an unconnected port.
                None => {
                    let index = if output {
                        from_id.index()
                    } else {
                        to_id.index()
                    };
                    if let Some(port) = port_index(component, &end.port, output) {
                        connected.insert((index, output, port));
                    }
                }
            }
        }
        if !ok {
            continue;
        }

        let (Some(from_port), Some(to_port)) = (
            port_index(from, &flow.from.port, true),
            port_index(to, &flow.to.port, false),
        ) else {
            continue;
        };
        let key = (from_id.index(), from_port, to_id.index(), to_port);
        if let Some(first) = seen.get(&key) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateFlow,
                    format!(
                        "the flow `{}.{} -> {}.{}` is written twice",
                        from.name, flow.from.port, to.name, flow.to.port
                    ),
                )
                .label(spans.to, "again here")
                .label(*first, "first here"),
            );
            continue;
        }
        seen.insert(key, spans.to);

        let (Some(out_port), Some(in_port)) = (
            find_port(from, &flow.from.port, true),
            find_port(to, &flow.to.port, false),
        ) else {
            continue;
        };
        let (sent, got) = (&out_port.entity.name, &in_port.entity.name);
        if sent != got {
            // A dead-letter flow carries what its producer failed on, not what it emits.
            let (message, verb, help) = if flow.from.port == DEAD_LETTER_PORT {
                (
                    format!(
                        "the dead-letter sink of `{}` gets the `{sent}` it fails on, but `{}` consumes `{got}`",
                        from.name, to.name
                    ),
                    "consumes",
                    format!("name a sink that consumes `{sent}`"),
                )
            } else {
                (
                    format!(
                        "`{}` emits `{sent}` but `{}` consumes `{got}`",
                        from.name, to.name
                    ),
                    "emits",
                    format!("put a transformer from `{sent}` to `{got}` between them"),
                )
            };
            diags.push(
                Diagnostic::error(Code::FlowTypeMismatch, message)
                    .label(spans.from, format!("{verb} `{sent}`"))
                    .label(spans.to, format!("consumes `{got}`"))
                    .help(help),
            );
        }
    }

    // A sink appends what it consumes to its store, so the store must hold that entity.
    for (id, component) in ir.components.iter() {
        let ComponentKind::Sink { store: Some(store) } = &component.kind else {
            continue;
        };
        let Some(ComponentKind::Store { entity, .. }) =
            store.try_id().map(|s| &ir.components[s].kind)
        else {
            continue;
        };
        if !component
            .inputs
            .iter()
            .any(|p| p.entity.name == entity.name)
        {
            let spans = ir.spans.component(id);
            let consumed: Vec<&str> = component
                .inputs
                .iter()
                .map(|p| p.entity.name.as_str())
                .collect();
            diags.push(
                Diagnostic::error(
                    Code::FlowTypeMismatch,
                    format!(
                        "sink `{}` consumes {} but appends to store `{}`, which holds `{}`",
                        component.name,
                        crate::diag::one_of(&consumed),
                        store.name,
                        entity.name
                    ),
                )
                .label(
                    spans.store.unwrap_or(spans.name),
                    format!("holds `{}`", entity.name),
                )
                .help(format!(
                    "point `store:` at a store of {}",
                    crate::diag::one_of(&consumed)
                )),
            );
        }
    }

    for (id, component) in ir.components.iter() {
        let spans = ir.spans.component(id);
        let is_connected =
            |output: bool, port: usize| connected.contains(&(id.index(), output, port));
        // A transformer's outputs: a warning for each unconnected one, unless none is.
        let partial_outputs = matches!(component.kind, ComponentKind::Transformer)
            && (0..component.outputs.len()).any(|p| is_connected(true, p));
        let (inputs_required, outputs_checked) = match component.kind {
            ComponentKind::Source { .. } => (false, true),
            ComponentKind::Transformer => (true, partial_outputs),
            ComponentKind::Sink { .. } => (true, false),
            ComponentKind::Store { .. } | ComponentKind::Api { .. } => (false, false),
        };
        for (ports, port_spans, output, checked) in [
            (&component.inputs, &spans.inputs, false, inputs_required),
            (&component.outputs, &spans.outputs, true, outputs_checked),
        ] {
            if !checked {
                continue;
            }
            for (i, (port, port_span)) in ports.iter().zip(port_spans).enumerate() {
                if is_connected(output, i) {
                    continue;
                }
                let transformer_output =
                    output && matches!(component.kind, ComponentKind::Transformer);
                let (what, example) = if output {
                    ("output", format!("{}.{} -> …", component.name, port.name))
                } else {
                    ("input", format!("… -> {}.{}", component.name, port.name))
                };
                let message = format!(
                    "{} `{}` has an unconnected {what} port `{}`",
                    component.kind_name(),
                    component.name,
                    port.name
                );
                let d = if transformer_output {
                    Diagnostic::warning(Code::DanglingPort, message)
                        .note("messages sent to this port are dropped (and counted)")
                } else {
                    Diagnostic::error(Code::DanglingPort, message)
                };
                diags.push(
                    d.label(port_span.name, "no flow here")
                        .help(format!("add a flow `{example}`")),
                );
            }
        }
    }
}
