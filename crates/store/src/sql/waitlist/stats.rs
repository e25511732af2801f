//! Waitlist statistics: how long clients wait to be matched, what became of
//! offers, and how many freed seats and slots were refilled and how fast —
//! for the organisation, per group and per therapist.

use std::collections::BTreeMap;

use circles_domain::ids::{GroupId, OrgId, PersonId};
use circles_domain::waitlist::{EntryStatus, OfferStatus};
use jiff::Timestamp;

use crate::Result;
use crate::model::{WaitlistCounts, WaitlistStats};
use crate::sql::db::{Executor, Row, sql};
use crate::sql::rows::statuses::ROLE_THERAPIST;

#[derive(Default)]
struct Tally {
    counts: WaitlistCounts,
    match_seconds: Vec<f64>,
    refill_seconds: Vec<f64>,
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| (values.iter().sum::<f64>() / values.len() as f64).round())
}

impl Tally {
    fn finish(mut self) -> WaitlistCounts {
        self.counts.mean_seconds_to_match = mean(&self.match_seconds);
        self.counts.mean_seconds_to_refill = mean(&self.refill_seconds);
        self.counts
    }
}

/// Where a row belongs besides the organisation.
#[derive(Clone, Copy)]
struct Keys {
    group: Option<GroupId>,
    therapist: Option<PersonId>,
}

struct Tallies {
    org: Tally,
    groups: BTreeMap<GroupId, Tally>,
    therapists: BTreeMap<PersonId, Tally>,
}

impl Tallies {
    fn each(&mut self, keys: Keys, f: impl Fn(&mut Tally)) {
        f(&mut self.org);
        if let Some(g) = keys.group {
            f(self.groups.entry(g).or_default());
        }
        if let Some(t) = keys.therapist {
            f(self.therapists.entry(t).or_default());
        }
    }
}

fn seconds(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64()
}

pub async fn stats<E: Executor>(tx: &mut E, org: OrgId, now: Timestamp) -> Result<WaitlistStats> {
    let mut t = Tallies { org: Tally::default(), groups: BTreeMap::new(), therapists: BTreeMap::new() };
    let entries = tx
        .fetch_all(
            sql("SELECT e.status, e.added_at, e.matched_at, COALESCE(e.group_id, s.group_id) AS group_id, e.therapist_id \
                 FROM waitlist_entries e LEFT JOIN sessions s ON s.org_id = e.org_id AND s.id = e.session_id \
                 WHERE e.org_id = $1")
            .bind(org),
        )
        .await?;
    for r in &entries {
        let keys = Keys { group: r.opt_id("group_id")?, therapist: r.opt_id("therapist_id")? };
        let status: EntryStatus = r.parsed("status")?;
        let waited = match (status, r.opt_time("matched_at")?) {
            (EntryStatus::Matched, Some(at)) => Some(seconds(r.time("added_at")?, at)),
            _ => None,
        };
        t.each(keys, |x| {
            if status.is_waiting() {
                x.counts.waiting += 1;
            }
            if let Some(s) = waited {
                x.counts.matched += 1;
                x.match_seconds.push(s);
            }
        });
    }
    let offers = tx
        .fetch_all(
            sql("SELECT f.status, f.expires_at, o.group_id, o.therapist_id FROM waitlist_offers f \
                 JOIN waitlist_openings o ON o.org_id = f.org_id AND o.id = f.opening_id WHERE f.org_id = $1")
            .bind(org),
        )
        .await?;
    for r in &offers {
        let keys = Keys { group: r.opt_id("group_id")?, therapist: r.opt_id("therapist_id")? };
        let stored: OfferStatus = r.parsed("status")?;
        let status = stored.at(r.time("expires_at")?, now);
        t.each(keys, |x| {
            x.counts.offers_sent += 1;
            match status {
                OfferStatus::Accepted => x.counts.offers_accepted += 1,
                OfferStatus::Declined => x.counts.offers_declined += 1,
                OfferStatus::Expired => x.counts.offers_expired += 1,
                OfferStatus::Withdrawn => x.counts.offers_withdrawn += 1,
                OfferStatus::Live => {}
            }
        });
    }
    let openings = tx
        .fetch_all(
            sql("SELECT status, cause, created_at, closed_at, group_id, therapist_id FROM waitlist_openings \
                 WHERE org_id = $1 AND cause <> 'staff_offer'")
            .bind(org),
        )
        .await?;
    for r in &openings {
        let keys = Keys { group: r.opt_id("group_id")?, therapist: r.opt_id("therapist_id")? };
        let refill = match (r.text("status")?.as_str(), r.opt_time("closed_at")?) {
            ("FILLED", Some(at)) => Some(seconds(r.time("created_at")?, at)),
            _ => None,
        };
        t.each(keys, |x| {
            x.counts.freed += 1;
            if let Some(s) = refill {
                x.counts.refilled += 1;
                x.refill_seconds.push(s);
            }
        });
    }
    let group_names = names(tx, org, "SELECT id, name FROM groups WHERE org_id = $1").await?;
    let people_names = names(
        tx,
        org,
        &format!(
            "SELECT p.id, a.name FROM people p JOIN accounts a ON a.id = p.account_id \
             WHERE p.org_id = $1 AND p.role = {ROLE_THERAPIST}"
        ),
    )
    .await?;
    Ok(WaitlistStats {
        organisation: t.org.finish(),
        groups: t
            .groups
            .into_iter()
            .map(|(g, x)| (g, group_names.get(&g.0).cloned().unwrap_or_default(), x.finish()))
            .collect(),
        therapists: t
            .therapists
            .into_iter()
            .map(|(p, x)| (p, people_names.get(&p.0).cloned().unwrap_or_default(), x.finish()))
            .collect(),
    })
}

async fn names<E: Executor>(tx: &mut E, org: OrgId, query: &str) -> Result<BTreeMap<uuid::Uuid, String>> {
    let rows = tx.fetch_all(sql(query.to_owned()).bind(org)).await?;
    rows.iter().map(|r| Ok((r.uuid("id")?, r.text("name")?))).collect()
}
