//! The `promtool test rules` cases that prove each alert: scenarios of input series, and at
//! chosen times whether the alert is firing (with which labels) or quiet.
//!
//! Ratio alerts (burn rates, ceilings) are proven against a model of their windows: after a
//! clean history at least as long as the longest window, the error ratio over a window `W`,
//! `t` after errors start at ratio `r`, is `r · min(t, W) / W`. A pair of windows `(L, S)`
//! with factor `f` on budget `b` therefore starts to hold at `t* = L · f · b / r`. Checks sit
//! well clear of the predicted instants (15% of `t*`, and whole evaluation steps), so the
//! extrapolation of `rate()` cannot move them, yet a changed factor, window or `for` moves
//! the instant past a check:
//!
//! - *steady*: a ratio between the lowest factor and the next one; only the slowest pair can
//!   hold. Quiet at `0.85 t* + for`, firing at `1.15 t* + for`, still firing a step after
//!   the errors stop (when the short window spans five steps or more), quiet once the short
//!   window is clean again.
//! - *burst*: three times the highest factor, for long enough to fire the fastest pair but
//!   too short to bring any other pair's long window to 80% of its threshold. Same checks.
//!   Skipped when no such burst exists: with the workbook's ticket pairs, 10% of the budget
//!   either way, any burst that holds the 1d window also holds the 3d one.

// Durations are milliseconds of at most a year and counts of test steps: far below
// 2^52, so they pass between u64 and f64 exactly.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use super::promql::number;
use serde::Serialize;
use std::collections::BTreeMap;

pub const MINUTE: u64 = 60_000;

/// Segments of `(steps, error ratio)`.
pub type Segments<'a> = &'a [(u64, f64)];
/// Input series for segments of error ratio.
pub type SeriesFor<'a> = &'a dyn Fn(Segments<'_>) -> Vec<Series>;

#[derive(Debug, Serialize)]
pub struct Series {
    pub series: String,
    pub values: String,
}

/// Samples of a counter every step, from 0, increasing by `per_step` for `steps` steps in
/// each segment in turn.
pub fn counter(series: String, segments: &[(u64, f64)]) -> Series {
    let mut items = Vec::new();
    let mut value = 0.0;
    for (i, &(steps, per_step)) in segments.iter().enumerate() {
        if i == 0 {
            items.push(format!("0+{}x{steps}", number(per_step)));
            value = per_step * steps as f64;
        } else if steps > 0 {
            let first = value + per_step;
            items.push(format!(
                "{}+{}x{}",
                number(first),
                number(per_step),
                steps - 1
            ));
            value += per_step * steps as f64;
        }
    }
    Series {
        series,
        values: items.join(" "),
    }
}

/// Samples of a gauge every step: `value` for `steps` steps in each segment in turn (the
/// first segment also gives the sample at 0).
pub fn gauge(series: String, segments: &[(u64, f64)]) -> Series {
    let mut items = Vec::new();
    for (i, &(steps, value)) in segments.iter().enumerate() {
        let count = if i == 0 {
            steps
        } else {
            steps.saturating_sub(1)
        };
        if i == 0 || steps > 0 {
            items.push(format!("{}x{count}", number(value)));
        }
    }
    Series {
        series,
        values: items.join(" "),
    }
}

/// One check: at `at_ms`, the alert fires once for each label set (beyond the rule's own
/// labels), or is quiet when there are none.
#[derive(Debug)]
pub struct Check {
    pub at_ms: u64,
    pub firing: Vec<BTreeMap<String, String>>,
}

#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub series: Vec<Series>,
    pub checks: Vec<Check>,
}

/// The shape of a ratio alert: its pairs of windows `(long, short, factor)` on a budget.
pub struct RatioAlert {
    pub pairs: Vec<(u64, u64, f64)>,
    pub budget: f64,
    pub for_ms: u64,
}

fn floor_to(ms: f64, step: u64) -> u64 {
    (ms / step as f64).floor() as u64 * step
}

fn ceil_to(ms: f64, step: u64) -> u64 {
    (ms / step as f64).ceil() as u64 * step
}

/// Scenarios for a ratio alert. `series_with` gives the input series for segments of
/// `(steps, error ratio)`; `labels` are the labels the firing alert carries beyond the
/// rule's.
pub fn ratio_scenarios(
    alert: &RatioAlert,
    step: u64,
    labels: &BTreeMap<String, String>,
    series_with: SeriesFor<'_>,
) -> Vec<Scenario> {
    let b = alert.budget;
    let mut pairs = alert.pairs.clone();
    pairs.sort_by(|x, y| x.2.total_cmp(&y.2));
    let longest = pairs.iter().map(|p| p.0).max().unwrap_or(0);
    let history = ceil_to(longest as f64, step) + step;
    let mut out = Vec::new();

    // Steady: only the slowest pair can hold.
    let (long, short, f) = pairs[0];
    let ceiling = pairs.get(1).map_or(1.0, |p| (p.2 * b).min(1.0));
    let mut r = match pairs.get(1) {
        Some(next) => (f * next.2).sqrt() * b,
        None => 2.0 * f * b,
    };
    if r >= ceiling * 0.85 {
        r = f64::midpoint(f * b, ceiling);
    }
    if r > f * b * 1.2 && r < ceiling * 0.9 || pairs.len() == 1 && r > f * b * 1.2 && r <= 1.0 {
        out.push(scenario(
            format!(
                "a steady error ratio of {} (the {}× pair)",
                number(r),
                number(f)
            ),
            (long, short, f),
            r,
            None,
            alert.for_ms,
            b,
            step,
            history,
            labels,
            series_with,
        ));
    }

    // Burst: only the fastest pair can hold.
    if pairs.len() > 1 {
        let (long, short, f) = *pairs.last().expect("two pairs");
        let r = (3.0 * f * b).min(1.0);
        let t_star = long as f64 * f * b / r;
        let shortest = ceil_to(1.15 * t_star + alert.for_ms as f64, step) + 3 * step;
        let longest_allowed = pairs[..pairs.len() - 1]
            .iter()
            .map(|p| 0.8 * p.2 * b * p.0 as f64 / r)
            .fold(f64::INFINITY, f64::min);
        if (shortest as f64) < longest_allowed && r > f * b * 1.2 {
            out.push(scenario(
                format!(
                    "a burst at an error ratio of {} (the {}× pair)",
                    number(r),
                    number(f)
                ),
                (long, short, f),
                r,
                Some(shortest),
                alert.for_ms,
                b,
                step,
                history,
                labels,
                series_with,
            ));
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn scenario(
    name: String,
    (long, short, f): (u64, u64, f64),
    r: f64,
    burst: Option<u64>,
    for_ms: u64,
    b: f64,
    step: u64,
    history: u64,
    labels: &BTreeMap<String, String>,
    series_with: SeriesFor<'_>,
) -> Scenario {
    let t0 = history;
    let t_star = long as f64 * f * b / r;
    let quiet_at = t0 + floor_to(0.85 * t_star + for_ms as f64, step);
    let fire_at = t0 + ceil_to(1.15 * t_star + for_ms as f64, step) + step;
    let errors_end = match burst {
        Some(d) => t0 + d,
        None => fire_at + step,
    };
    let mut checks = vec![
        Check {
            at_ms: quiet_at.max(t0),
            firing: vec![],
        },
        Check {
            at_ms: fire_at,
            firing: vec![labels.clone()],
        },
    ];
    if short >= 5 * step {
        checks.push(Check {
            at_ms: errors_end + step,
            firing: vec![labels.clone()],
        });
    }
    let clean = errors_end + ceil_to(short as f64, step) + 2 * step;
    checks.push(Check {
        at_ms: clean,
        firing: vec![],
    });
    let end = clean + step;
    let segments = [
        (t0 / step, 0.0),
        ((errors_end - t0) / step, r),
        ((end - errors_end) / step, 0.0),
    ];
    Scenario {
        name,
        series: series_with(&segments),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_across_segments() {
        let s = counter("x".into(), &[(3, 1.0), (2, 5.0), (2, 0.0)]);
        // 0 1 2 3 | 8 13 | 13 13
        assert_eq!(s.values, "0+1x3 8+5x1 13+0x1");
        let g = gauge("y".into(), &[(2, 1.0), (3, 0.5)]);
        // 1 1 1 | 0.5 0.5 0.5
        assert_eq!(g.values, "1x2 0.5x2");
    }

    #[test]
    fn page_pairs_get_a_steady_and_a_burst_scenario() {
        let alert = RatioAlert {
            pairs: vec![
                (60 * MINUTE, 5 * MINUTE, 14.4),
                (360 * MINUTE, 30 * MINUTE, 6.0),
            ],
            budget: 0.001,
            for_ms: 2 * MINUTE,
        };
        let found = ratio_scenarios(&alert, MINUTE, &BTreeMap::new(), &|_| vec![]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].name.contains("the 6× pair"));
        assert!(found[1].name.contains("the 14.4× pair"));
        // The burst fires the 1h pair at 20 minutes (+ `for`), within 15%.
        let fire = &found[1].checks[1];
        assert_eq!(fire.at_ms, (361 + 26) * MINUTE);
    }

    #[test]
    fn ticket_pairs_of_equal_budget_share_get_no_burst() {
        let alert = RatioAlert {
            pairs: vec![
                (1440 * MINUTE, 120 * MINUTE, 3.0),
                (4320 * MINUTE, 360 * MINUTE, 1.0),
            ],
            budget: 0.001,
            for_ms: 15 * MINUTE,
        };
        let found = ratio_scenarios(&alert, 10 * MINUTE, &BTreeMap::new(), &|_| vec![]);
        assert_eq!(found.len(), 1);
        assert!(found[0].name.contains("the 1× pair"));
    }
}
