//! Group results of a check-in: mean, median and distribution per numeric
//! item and of the total. Free text never enters them.
//!
//! Privacy: members see group results only once the window has closed and
//! only when at least `k` members answered (k per organisation). Below k a
//! member learns nothing aggregate, not even how many answered. Staff who
//! may read every answer see the results at any time.

use super::{Answers, ItemKind, Questionnaire, Window, WindowState};
use jiff::Timestamp;

/// The threshold when an organisation has not chosen one.
pub const K_DEFAULT: i64 = 5;
/// The bounds an organisation may choose within: with fewer than three
/// answers, a member who knows their own could work out another's.
pub const K_MIN: i64 = 3;
pub const K_MAX: i64 = 50;

/// One statistic over the answers that have it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    /// How many gave each value, lowest value first.
    pub distribution: Vec<(i32, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupResults {
    pub answered: usize,
    /// Per numeric item, in the questionnaire's order.
    pub items: Vec<(String, Summary)>,
    pub total: Option<Summary>,
}

/// Why a member is shown no group results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withheld {
    /// The window is still open (or not yet open): answers may change.
    WindowOpen,
    /// Fewer than k members answered.
    TooFew,
}

impl Withheld {
    pub fn reason(self) -> &'static str {
        match self {
            Withheld::WindowOpen => "group results are shown once the answer window has closed",
            Withheld::TooFew => "too few members answered for group results to keep answers private",
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Summary of `values`, with `scale` listing every possible value (so a
/// value nobody gave shows as zero); `None` when there are no values.
pub fn summarise(mut values: Vec<i32>, scale: Option<Vec<i32>>) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    let mean = values.iter().map(|v| f64::from(*v)).sum::<f64>() / n as f64;
    let median = if n % 2 == 1 {
        f64::from(values[n / 2])
    } else {
        (f64::from(values[n / 2 - 1]) + f64::from(values[n / 2])) / 2.0
    };
    let mut points = scale.unwrap_or_else(|| values.clone());
    points.sort_unstable();
    points.dedup();
    let distribution = points.into_iter().map(|p| (p, values.iter().filter(|v| **v == p).count())).collect();
    Some(Summary { count: n, mean: round1(mean), median: round1(median), distribution })
}

/// Group results over every response, whoever may see them.
pub fn group_results(q: &Questionnaire, responses: &[Answers]) -> GroupResults {
    let items = q
        .items
        .iter()
        .filter_map(|item| {
            let scale = match &item.kind {
                ItemKind::Scale { min, max, .. } => (*min..=*max).collect(),
                ItemKind::Choice { options } => options.iter().map(|o| o.value).collect(),
                ItemKind::Text { .. } => return None,
            };
            let values = responses.iter().filter_map(|r| r.values.get(&item.key).copied()).collect();
            summarise(values, Some(scale)).map(|s| (item.key.clone(), s))
        })
        .collect();
    let total = summarise(responses.iter().filter_map(|r| q.score(r).total).collect(), None);
    GroupResults { answered: responses.len(), items, total }
}

/// Group results as a member may see them: after the window has closed and
/// from at least `k` responses.
pub fn for_member(
    q: &Questionnaire,
    responses: &[Answers],
    k: i64,
    window: &Window,
    now: Timestamp,
) -> Result<GroupResults, Withheld> {
    if window.state(now) != WindowState::Closed {
        return Err(Withheld::WindowOpen);
    }
    if (responses.len() as i64) < k.max(K_MIN) {
        return Err(Withheld::TooFew);
    }
    Ok(group_results(q, responses))
}
