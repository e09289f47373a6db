//! Graph helpers the passes share: strongly connected components and a stable topological
//! order, both deterministic and linear in the size of the graph.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The strongly connected components of a graph on nodes `0..n` with successor lists `succ`,
/// each sorted. Iterative Tarjan, so deep graphs cannot overflow the stack.
pub fn strongly_connected(n: usize, succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNVISITED: usize = usize::MAX;
    let mut index = vec![UNVISITED; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut call: Vec<(usize, usize)> = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != UNVISITED {
            continue;
        }
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        call.push((root, 0));
        while let Some(&(v, edge)) = call.last() {
            if let Some(&w) = succ[v].get(edge) {
                if let Some(top) = call.last_mut() {
                    top.1 += 1;
                }
                if index[w] == UNVISITED {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort_unstable();
                out.push(component);
            }
        }
    }
    out
}

/// Whether a component is a cycle: several nodes, or one node with an edge to itself.
pub fn is_cycle(component: &[usize], succ: &[Vec<usize>]) -> bool {
    match component {
        [one] => succ[*one].contains(one),
        _ => component.len() > 1,
    }
}

/// Groups of nodes in an order where every node comes after the nodes it has edges to
/// (`succ[a]` holds what must come before `a`), nodes of a cycle sharing one group. Among
/// groups free to go next, the one holding the lowest node goes first, so the order is the
/// declaration order wherever the edges allow it.
pub fn stable_order(n: usize, succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut components = strongly_connected(n, succ);
    let mut component_of = vec![0; n];
    for (c, nodes) in components.iter().enumerate() {
        for &node in nodes {
            component_of[node] = c;
        }
    }
    // In the condensation, an edge runs from what must come first to what depends on it.
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); components.len()];
    let mut waiting_on = vec![0usize; components.len()];
    for (a, befores) in succ.iter().enumerate() {
        for &b in befores {
            let (ca, cb) = (component_of[a], component_of[b]);
            if ca != cb {
                dependents[cb].push(ca);
                waiting_on[ca] += 1;
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(usize, usize)>> = components
        .iter()
        .enumerate()
        .filter(|(c, _)| waiting_on[*c] == 0)
        .map(|(c, nodes)| Reverse((nodes[0], c)))
        .collect();
    let mut order = Vec::with_capacity(components.len());
    while let Some(Reverse((_, c))) = ready.pop() {
        order.push(std::mem::take(&mut components[c]));
        for &d in &dependents[c] {
            waiting_on[d] -= 1;
            if waiting_on[d] == 0 {
                ready.push(Reverse((components[d][0], d)));
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycles_and_orders_stably() {
        // 0 needs 2; 1 needs nothing; 2 needs 1; 3 and 4 need each other.
        let succ = vec![vec![2], vec![], vec![1], vec![4], vec![3]];
        let order = stable_order(5, &succ);
        assert_eq!(order, vec![vec![1], vec![2], vec![0], vec![3, 4]]);
        let sccs = strongly_connected(5, &succ);
        assert_eq!(sccs.iter().filter(|c| is_cycle(c, &succ)).count(), 1);
    }

    #[test]
    fn deep_chains_do_not_overflow() {
        let n = 200_000;
        let succ: Vec<Vec<usize>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![] })
            .collect();
        let order = stable_order(n, &succ);
        assert_eq!(order.len(), n);
        assert_eq!(order[0], vec![n - 1]);
    }
}
