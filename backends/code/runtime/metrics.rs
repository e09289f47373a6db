//! The metric catalogue of the spec, in the Prometheus text format. Only the catalogue's
//! metrics exist; every series the service can produce is made at start-up with value 0, so
//! that `increase()` sees its first event.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric of the catalogue.
#[derive(Debug)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    pub buckets: &'static [f64],
    /// Each bucket's `le` label, as the catalogue spells it.
    pub le: &'static [&'static str],
}

enum Series {
    Value(f64),
    Histogram {
        counts: Vec<u64>,
        sum: f64,
        count: u64,
    },
}

/// Every series of one service's metrics.
pub struct Registry {
    defs: &'static [MetricDef],
    series: Vec<Mutex<BTreeMap<Vec<String>, Series>>>,
}

fn key(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|l| (*l).to_owned()).collect()
}

impl Registry {
    pub fn new(defs: &'static [MetricDef]) -> Registry {
        let registry = Registry {
            defs,
            series: defs.iter().map(|_| Mutex::new(BTreeMap::new())).collect(),
        };
        // A metric without labels has one series, there from the start.
        for def in defs.iter().filter(|d| d.labels.is_empty()) {
            registry.ensure(def.name, &[]);
        }
        registry
    }

    fn with<R>(
        &self,
        name: &str,
        labels: &[&str],
        f: impl FnOnce(&MetricDef, &mut Series) -> R,
    ) -> Option<R> {
        let i = self.defs.iter().position(|d| d.name == name)?;
        let def = &self.defs[i];
        debug_assert_eq!(def.labels.len(), labels.len(), "labels of {name}");
        let mut map = self.series[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let series = map.entry(key(labels)).or_insert_with(|| match def.kind {
            Kind::Histogram => Series::Histogram {
                counts: vec![0; def.buckets.len()],
                sum: 0.0,
                count: 0,
            },
            _ => Series::Value(0.0),
        });
        Some(f(def, series))
    }

    /// Makes the series at 0 if it does not exist.
    pub fn ensure(&self, name: &str, labels: &[&str]) {
        self.with(name, labels, |_, _| ());
    }

    pub fn inc(&self, name: &str, labels: &[&str]) {
        self.add(name, labels, 1.0);
    }

    pub fn add(&self, name: &str, labels: &[&str], by: f64) {
        self.with(name, labels, |_, s| {
            if let Series::Value(v) = s {
                *v += by;
            }
        });
    }

    pub fn set(&self, name: &str, labels: &[&str], to: f64) {
        self.with(name, labels, |_, s| {
            if let Series::Value(v) = s {
                *v = to;
            }
        });
    }

    pub fn observe(&self, name: &str, labels: &[&str], value: f64) {
        self.with(name, labels, |def, s| {
            if let Series::Histogram { counts, sum, count } = s {
                if let Some(i) = def.buckets.iter().position(|b| value <= *b) {
                    counts[i] += 1;
                }
                *sum += value;
                *count += 1;
            }
        });
    }

    /// The exposition: metrics in catalogue order, series in label order.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        for (def, series) in self.defs.iter().zip(&self.series) {
            let kind = match def.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(
                out,
                "# HELP {} {}",
                def.name,
                def.help.replace('\\', "\\\\").replace('\n', "\\n")
            );
            let _ = writeln!(out, "# TYPE {} {kind}", def.name);
            let map = series
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (values, s) in map.iter() {
                let labels = label_text(def.labels, values);
                match s {
                    Series::Value(v) => {
                        let _ = writeln!(out, "{}{} {}", def.name, braces(&labels), number(*v));
                    }
                    Series::Histogram { counts, sum, count } => {
                        let mut cumulative = 0;
                        for (le, n) in def.le.iter().zip(counts) {
                            cumulative += n;
                            let _ = writeln!(
                                out,
                                "{}_bucket{{{}le=\"{le}\"}} {cumulative}",
                                def.name,
                                with_comma(&labels)
                            );
                        }
                        let _ = writeln!(
                            out,
                            "{}_bucket{{{}le=\"+Inf\"}} {count}",
                            def.name,
                            with_comma(&labels)
                        );
                        let _ =
                            writeln!(out, "{}_sum{} {}", def.name, braces(&labels), number(*sum));
                        let _ = writeln!(out, "{}_count{} {count}", def.name, braces(&labels));
                    }
                }
            }
        }
        out
    }
}

fn label_text(names: &[&str], values: &[String]) -> String {
    names
        .iter()
        .zip(values)
        .map(|(n, v)| {
            format!(
                "{n}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

fn with_comma(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{labels},")
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}
