//! What a scheduling 409 says to the person reading it: who is busy (by
//! name), with what (a session's title and its therapist), and when, on the
//! session's own clock (or the organisation's, for holds and time off) —
//! never only ids and UTC instants.

use std::collections::HashMap;

use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::local_time::local_time;
use circles_domain::session::{InvitationStatus, SessionKind};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::names;
use crate::sql::db::{Executor, Row, placeholders, sql};
use crate::{Result, StoreError};

/// What one clashing session shows: its title, kind, zone and first accepted therapist.
struct SessionWords {
    title: String,
    kind: String,
    timezone: String,
    therapist: Option<String>,
    therapist_id: Option<PersonId>,
}

/// Adds `person_name`, `starts_at_local`, `ends_at_local` and, for a session
/// in the way, `session_title` and `therapist_name` to each clash of a
/// `scheduling_conflict`, and says the first clash in words in its detail.
/// Any other error is left as it is.
pub(crate) async fn describe<E: Executor>(tx: &mut E, org: OrgId, error: &mut StoreError) -> Result<()> {
    let StoreError::Conflict(conflict) = error else { return Ok(()) };
    let org_zone =
        tx.fetch_one(sql("SELECT timezone FROM organisations WHERE id = $1").bind(org)).await?.text("timezone")?;
    localise_times(&mut conflict.details, &org_zone);
    let in_the_way = conflict.clash_sessions.clone();
    let Some(Value::Array(clashes)) = conflict.details.get_mut("conflicts") else { return Ok(()) };
    let id = |c: &Value, key: &str| c.get(key).and_then(Value::as_str).and_then(|s| s.parse::<uuid::Uuid>().ok());
    let people: Vec<PersonId> = clashes.iter().filter_map(|c| id(c, "person_id")).map(PersonId).collect();
    let sessions: Vec<SessionId> = in_the_way.iter().flatten().copied().collect();
    let names = names::load(tx, org, people).await?;
    let words = session_words(tx, org, &sessions).await?;
    let mut first_words = None;
    for (i, clash) in clashes.iter_mut().enumerate() {
        let person = id(clash, "person_id").map(PersonId);
        let session = in_the_way.get(i).copied().flatten().and_then(|s| words.get(&s));
        let zone = session.map_or(org_zone.as_str(), |s| s.timezone.as_str());
        let at = |key: &str| clash.get(key).and_then(Value::as_str).and_then(|t| t.parse::<Timestamp>().ok());
        let (Some(start), Some(end)) = (at("starts_at"), at("ends_at")) else { continue };
        let name = person.and_then(|p| names.get(&p)).cloned().unwrap_or_else(|| "Someone".into());
        let private = person.is_some()
            && session.is_some_and(|s| s.kind == SessionKind::OneOnOne.as_str() && s.therapist_id == person);
        let what = match session {
            // A therapist's one-on-one appointments stay private: only that one is busy.
            Some(_) if private => "another appointment".to_owned(),
            Some(s) => match &s.therapist {
                Some(therapist) => format!("{} with {therapist}", s.title),
                None => s.title.clone(),
            },
            None => match clash.get("kind").and_then(Value::as_str) {
                Some("time_off") => "time off".to_owned(),
                Some("hold") => "a held slot".to_owned(),
                _ => "another booking".to_owned(),
            },
        };
        let starts_local = local_time(start, zone);
        first_words.get_or_insert_with(|| format!("{name} is busy then: {what}, {starts_local}"));
        let extra = clash.as_object_mut().expect("a clash is an object");
        extra.insert("person_name".into(), json!(name));
        extra.insert("starts_at_local".into(), json!(starts_local));
        extra.insert("ends_at_local".into(), json!(local_time(end, zone)));
        if let Some(s) = session.filter(|_| !private) {
            extra.insert("session_title".into(), json!(s.title));
            extra.insert("therapist_name".into(), json!(s.therapist));
        }
    }
    if let Some(words) = first_words {
        conflict.message = match clashes.len() {
            1 => words,
            n => format!("{words} (and {} more)", n - 1),
        };
    }
    Ok(())
}

/// Puts `retry_hints_local` beside a refusal's `retry_hints`, and
/// `start_local`/`end_local` into the `slot` it refused, on `zone`'s clock.
fn localise_times(details: &mut serde_json::Map<String, Value>, zone: &str) {
    let local = |v: &Value| v.as_str().and_then(|t| t.parse::<Timestamp>().ok()).map(|t| local_time(t, zone));
    if let Some(Value::Array(hints)) = details.get("retry_hints") {
        let words: Vec<String> = hints.iter().filter_map(local).collect();
        details.insert("retry_hints_local".into(), json!(words));
    }
    if let Some(Value::Object(slot)) = details.get_mut("slot") {
        for key in ["start", "end"] {
            if let Some(words) = slot.get(key).and_then(local) {
                slot.insert(format!("{key}_local"), json!(words));
            }
        }
    }
}

/// Titles, zones and first accepted therapists of `sessions`, in one statement.
async fn session_words<E: Executor>(
    tx: &mut E,
    org: OrgId,
    sessions: &[SessionId],
) -> Result<HashMap<SessionId, SessionWords>> {
    if sessions.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT s.id, s.title, s.kind, s.timezone, \
                 (SELECT a.name FROM session_therapists t JOIN people p ON p.org_id = t.org_id AND p.id = t.therapist_id \
                  JOIN accounts a ON a.id = p.account_id WHERE t.org_id = s.org_id AND t.session_id = s.id \
                  AND t.status = $2 ORDER BY t.invited_at LIMIT 1) AS therapist_name, \
                 (SELECT t.therapist_id FROM session_therapists t WHERE t.org_id = s.org_id AND t.session_id = s.id \
                  AND t.status = $2 ORDER BY t.invited_at LIMIT 1) AS therapist_id \
                 FROM sessions s WHERE s.org_id = $1 AND s.id IN ({})",
                placeholders(3, sessions.len())
            ))
            .bind(org)
            .bind(InvitationStatus::Accepted.as_str())
            .bind_all(sessions.iter().copied()),
        )
        .await?;
    rows.iter()
        .map(|r| {
            let words = SessionWords {
                title: r.text("title")?,
                kind: r.text("kind")?,
                timezone: r.text("timezone")?,
                therapist: r.opt_text("therapist_name")?,
                therapist_id: r.opt_id("therapist_id")?,
            };
            Ok((r.id("id")?, words))
        })
        .collect()
}
