//! Evaluation metrics, identical to `shared/eval/score.py` (same keys, same order, same rounding).

use crate::level::Level;
use std::collections::HashMap;

/// The metrics `score.py` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Gold items.
    pub n: usize,
    /// Gold ids without a prediction (counted as `none`).
    pub missing: usize,
    /// Recall of "any level above none".
    pub any_risk_recall: Option<f64>,
    /// Precision of "any level above none".
    pub any_risk_precision: Option<f64>,
    /// Recall of `high`.
    pub high_recall: Option<f64>,
    /// Precision of `high`.
    pub high_precision: Option<f64>,
    /// Share of truly risky items predicted at a lower level.
    pub under_triage: Option<f64>,
    /// Exact-level accuracy.
    pub exact: Option<f64>,
    /// Mean F1 over the four levels.
    pub macro_f1: f64,
}

/// Python's `round(x, 3)`: correctly rounded, ties to even on the exact binary value.
fn round3(x: f64) -> f64 {
    format!("{x:.3}").parse().unwrap_or(x)
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| round3(a as f64 / b as f64))
}

/// Computes the metrics for `gold` (id, level) against `pred` (id → level string, as read from
/// the prediction file; unknown strings count as `none`, like `score.py`).
pub fn metrics(gold: &[(String, Level)], pred: &HashMap<String, String>) -> Metrics {
    let lv = |s: &str| Level::parse(s).filter(|l| l.as_str() == s).unwrap_or(Level::None);
    let n = gold.len();
    let missing = gold.iter().filter(|(id, _)| !pred.contains_key(id)).count();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    let (mut htp, mut hfp, mut hfn) = (0, 0, 0);
    let (mut exact, mut under, mut risky) = (0, 0, 0);
    let mut per = [[0usize; 3]; 4];
    for (id, t) in gold {
        let t = *t;
        let p = pred.get(id).map_or(Level::None, |s| lv(s));
        exact += usize::from(t == p);
        if t >= Level::Low {
            risky += 1;
            under += usize::from(p < t);
        }
        if t >= Level::Low && p >= Level::Low {
            tp += 1;
        } else if p >= Level::Low {
            fp += 1;
        } else if t >= Level::Low {
            fn_ += 1;
        }
        if t == Level::High && p == Level::High {
            htp += 1;
        } else if p == Level::High {
            hfp += 1;
        } else if t == Level::High {
            hfn += 1;
        }
        for (i, l) in Level::ALL.into_iter().enumerate() {
            if t == l && p == l {
                per[i][0] += 1;
            } else if p == l {
                per[i][1] += 1;
            } else if t == l {
                per[i][2] += 1;
            }
        }
    }
    let mut f1_sum = 0.0f64;
    for [a, b, c] in per {
        let (a, b, c) = (a as f64, b as f64, c as f64);
        let pr = if a + b > 0.0 { a / (a + b) } else { 0.0 };
        let rc = if a + c > 0.0 { a / (a + c) } else { 0.0 };
        f1_sum += if pr + rc > 0.0 { 2.0 * pr * rc / (pr + rc) } else { 0.0 };
    }
    Metrics {
        n,
        missing,
        any_risk_recall: ratio(tp, tp + fn_),
        any_risk_precision: ratio(tp, tp + fp),
        high_recall: ratio(htp, htp + hfn),
        high_precision: ratio(htp, htp + hfp),
        under_triage: ratio(under, risky),
        exact: ratio(exact, n),
        macro_f1: round3(f1_sum / 4.0),
    }
}

/// A float as Python's `json.dumps` prints it (`1.0`, `0.953`).
fn py_float(x: f64) -> String {
    let s = format!("{x}");
    if s.contains(['.', 'e', 'E']) || !x.is_finite() { s } else { format!("{s}.0") }
}

fn py_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "null".to_owned(), py_float)
}

impl Metrics {
    /// The JSON object exactly as `score.py` prints it.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"n\": {}, \"missing\": {}, \"any_risk_recall\": {}, \"any_risk_precision\": {}, \"high_recall\": {}, \"high_precision\": {}, \"under_triage\": {}, \"exact\": {}, \"macro_f1\": {}}}",
            self.n,
            self.missing,
            py_opt(self.any_risk_recall),
            py_opt(self.any_risk_precision),
            py_opt(self.high_recall),
            py_opt(self.high_precision),
            py_opt(self.under_triage),
            py_opt(self.exact),
            py_float(self.macro_f1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_rounding_and_printing() {
        assert_eq!(round3(0.0625), 0.062);
        assert_eq!(round3(2.0 / 3.0), 0.667);
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.5), "0.5");
        assert_eq!(py_float(0.953), "0.953");
    }

    #[test]
    fn small_example() {
        let gold = vec![("a".to_owned(), Level::High), ("b".to_owned(), Level::None), ("c".to_owned(), Level::Low)];
        let pred: HashMap<String, String> =
            [("a", "high"), ("b", "low")].into_iter().map(|(a, b)| (a.to_owned(), b.to_owned())).collect();
        let m = metrics(&gold, &pred);
        assert_eq!(
            m.to_json(),
            "{\"n\": 3, \"missing\": 1, \"any_risk_recall\": 0.5, \"any_risk_precision\": 0.5, \"high_recall\": 1.0, \"high_precision\": 1.0, \"under_triage\": 0.5, \"exact\": 0.333, \"macro_f1\": 0.25}"
        );
    }
}
