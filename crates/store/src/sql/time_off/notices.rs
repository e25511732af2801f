//! What the time-off workflow tells people. Each use case in
//! [`super`] calls one of these after its change, in its
//! transaction, so the notices commit with it or not at all. Every
//! recipient is read within the organisation, and the actor is left out.

use std::collections::HashMap;

use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::session::NotificationKind;
use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;

use crate::sql::db::{Executor, Row, placeholders, sql};
use crate::sql::notify::{self, Notice};
use circles_domain::local_time::local_time;

use crate::Result;
use crate::model::{AffectedSession, Reassignment, TimeOff};
use crate::sql::rows::sessions::cancelled_notice;
use crate::sql::rows::statuses::INVITATION_DECLINED;
use crate::sql::rows::statuses::ROLE_ADMIN;
use crate::sql::rows::time_off::{Affected, clients_of, clients_on, load_affected};

/// Where and when a step of the workflow happens, and who took it (left
/// out of its notices).
#[derive(Clone, Copy)]
pub(super) struct Step {
    pub org: OrgId,
    pub now: Timestamp,
    pub actor: Option<PersonId>,
}

/// Who a step's notices go to or name, read in one statement: the
/// organisation's admins, the names of a few people, and the
/// organisation's zone (in which the dates of time off are written).
struct Cast {
    admins: Vec<PersonId>,
    names: HashMap<PersonId, String>,
    zone: TimeZone,
}

impl Cast {
    async fn load<E: Executor>(tx: &mut E, org: OrgId, named: &[PersonId]) -> Result<Cast> {
        let rows = tx
            .fetch_all(
                sql(format!(
                    "SELECT p.id, p.role, a.name, o.timezone FROM people p JOIN accounts a ON a.id = p.account_id \
                     JOIN organisations o ON o.id = p.org_id \
                     WHERE p.org_id = $1 AND (p.role = {ROLE_ADMIN} OR p.id IN ({})) ORDER BY p.id",
                    placeholders(2, named.len())
                ))
                .bind(org)
                .bind_all(named.iter().copied()),
            )
            .await?;
        let mut cast = Cast { admins: Vec::new(), names: HashMap::new(), zone: TimeZone::UTC };
        for row in &rows {
            let person: PersonId = row.id("id")?;
            if row.text("role")? == "admin" {
                cast.admins.push(person);
            }
            cast.names.insert(person, row.text("name")?);
            cast.zone = TimeZone::get(&row.text("timezone")?).unwrap_or(TimeZone::UTC);
        }
        Ok(cast)
    }

    fn name(&self, person: PersonId, otherwise: &'static str) -> &str {
        self.names.get(&person).map_or(otherwise, String::as_str)
    }

    fn range(&self, time_off: &TimeOff) -> String {
        range_text(time_off.starts_at, time_off.ends_at, &self.zone)
    }
}

/// The days of `[from, to)` in `zone` when it runs from midnight to
/// midnight, its times otherwise.
fn range_text(from: Timestamp, to: Timestamp, zone: &TimeZone) -> String {
    let (start, end) = (from.to_zoned(zone.clone()), to.to_zoned(zone.clone()));
    if start.time() == Time::midnight() && end.time() == Time::midnight() {
        let last = end.date().yesterday().unwrap_or(end.date());
        let day = |date: jiff::civil::Date| date.strftime("%a %-d %b %Y").to_string();
        if last <= start.date() {
            format!("on {}", day(start.date()))
        } else {
            format!("from {} to {}", day(start.date()), day(last))
        }
    } else {
        format!("from {} to {}", start.strftime("%a %-d %b %Y %H:%M"), end.strftime("%a %-d %b %Y %H:%M %Z"))
    }
}

/// When a session starts, on its own wall clock.
fn session_when(session: &AffectedSession) -> String {
    let zone = TimeZone::get(&session.timezone).unwrap_or(TimeZone::UTC);
    session.starts_at.to_zoned(zone).strftime("%a %-d %b %Y at %H:%M %Z").to_string()
}

fn sessions(n: i64) -> String {
    if n == 1 { "1 session".to_owned() } else { format!("{n} sessions") }
}

fn kind_text(time_off: &TimeOff) -> String {
    time_off.kind.as_str().to_lowercase()
}

fn notice(kind: NotificationKind, title: &'static str, body: String) -> Notice<'static> {
    Notice { kind, title, body, session: None, group: None }
}

/// A notice about one session, linked to it (and to its group).
fn about(session: &AffectedSession, kind: NotificationKind, title: &'static str, body: String) -> Notice<'static> {
    Notice { kind, title, body, session: Some(session.session_id), group: session.group_id }
}

/// A new request: the admins are asked to decide; the therapist is told
/// when someone else asked on their behalf.
pub(super) async fn requested<E: Executor>(tx: &mut E, step: Step, time_off: &TimeOff) -> Result<()> {
    let therapist = time_off.therapist_id;
    let cast = Cast::load(tx, step.org, &[therapist]).await?;
    let (range, kind, affected) = (cast.range(time_off), kind_text(time_off), sessions(time_off.affected_sessions));
    let mut notices = vec![(
        cast.admins.clone(),
        notice(
            NotificationKind::TimeOffRequested,
            "A time-off request needs your decision",
            format!(
                "{} asks for time off ({kind}) {range}; {affected} in the range.",
                cast.name(therapist, "A therapist")
            ),
        ),
    )];
    if step.actor != Some(therapist) {
        notices.push((
            vec![therapist],
            notice(
                NotificationKind::TimeOffRequested,
                "Time off was requested for you",
                format!("Time off ({kind}) {range} awaits a decision; {affected} in the range."),
            ),
        ));
    }
    notify::push_all(tx, step.org, step.now, step.actor, &notices).await
}

/// An approval: the therapist and any coverage therapist are told; the
/// clients of sessions still in the range hear their therapist is away;
/// the admins hear when an automatic reassignment clashed.
pub(super) async fn approved<E: Executor>(
    tx: &mut E,
    step: Step,
    time_off: &TimeOff,
    reassignment: Option<&Reassignment>,
) -> Result<()> {
    let (therapist, coverage) = (time_off.therapist_id, time_off.coverage_therapist_id);
    let named: Vec<PersonId> = [therapist].into_iter().chain(coverage).collect();
    let cast = Cast::load(tx, step.org, &named).await?;
    let (range, away) = (cast.range(time_off), cast.name(therapist, "A therapist"));
    let covered_by = coverage.map(|c| format!(" {} covers for you.", cast.name(c, "A colleague"))).unwrap_or_default();
    let mut notices = vec![(
        vec![therapist],
        notice(
            NotificationKind::TimeOffApproved,
            "Your time off was approved",
            format!("Your time off ({}) {range} is approved.{covered_by}", kind_text(time_off)),
        ),
    )];
    if let Some(coverage) = coverage {
        notices.push((
            vec![coverage],
            notice(
                NotificationKind::CoverageAssigned,
                "You are covering for a colleague",
                format!("{away} is away {range}; you are named as their cover."),
            ),
        ));
    }
    if let Some(clashed) = reassignment.filter(|r| !r.conflicts.is_empty()) {
        notices.push((
            cast.admins.clone(),
            notice(
                NotificationKind::CoverageNeeded,
                "Cover is still needed",
                format!(
                    "{away}'s time off {range} is approved, but {} is busy during some of its sessions, so nothing \
                     was moved; {} still need cover.",
                    cast.name(clashed.coverage_therapist_id, "the coverage therapist"),
                    sessions(time_off.affected_sessions)
                ),
            ),
        ));
    }
    // Whatever was not moved is still the absent therapist's: its clients hear.
    if time_off.affected_sessions > 0 {
        let affected = load_affected(tx, step.org, time_off.id, step.now).await?;
        let ids: Vec<SessionId> = affected.iter().map(|a| a.session.session_id).collect();
        let clients = clients_of(tx, step.org, &ids).await?;
        for a in &affected {
            let s = &a.session;
            let body = format!(
                "Your therapist is away {range}. {} on {} may move to another therapist or be cancelled; you will be \
                 told which.",
                s.title,
                session_when(s)
            );
            let notice = about(s, NotificationKind::TherapistAway, "Your therapist will be away", body);
            notices.push((clients_on(&clients, s.session_id), notice));
        }
    }
    notify::push_all(tx, step.org, step.now, step.actor, &notices).await
}

/// A denial: the therapist hears why.
pub(super) async fn denied<E: Executor>(tx: &mut E, step: Step, time_off: &TimeOff) -> Result<()> {
    let cast = Cast::load(tx, step.org, &[time_off.therapist_id]).await?;
    let reason = time_off.decision_reason.as_deref().unwrap_or_default();
    let denied = notice(
        NotificationKind::TimeOffDenied,
        "Your time-off request was denied",
        format!("Your time off ({}) {} was denied: {reason}", kind_text(time_off), cast.range(time_off)),
    );
    notify::push(tx, step.org, step.now, [time_off.therapist_id], step.actor, &denied).await
}

/// A withdrawal: the admins hear when the therapist withdrew; the
/// therapist hears when someone else did.
pub(super) async fn withdrawn<E: Executor>(tx: &mut E, step: Step, time_off: &TimeOff) -> Result<()> {
    let therapist = time_off.therapist_id;
    let cast = Cast::load(tx, step.org, &[therapist]).await?;
    let (range, kind) = (cast.range(time_off), kind_text(time_off));
    let (told, notice) = if step.actor == Some(therapist) {
        let body =
            format!("{} withdrew their request for time off ({kind}) {range}.", cast.name(therapist, "A therapist"));
        (cast.admins.clone(), notice(NotificationKind::TimeOffCancelled, "A time-off request was withdrawn", body))
    } else {
        let body = format!("Your request for time off ({kind}) {range} was withdrawn.");
        (vec![therapist], notice(NotificationKind::TimeOffCancelled, "Your time-off request was withdrawn", body))
    };
    notify::push(tx, step.org, step.now, told, step.actor, &notice).await
}

/// Sessions moved from `away` to `coverage`: for each, its clients, the
/// coverage therapist and the absent therapist are told.
pub(super) async fn reassigned<E: Executor>(
    tx: &mut E,
    step: Step,
    (away, coverage): (PersonId, PersonId),
    moved: &[Affected],
    clients: &[(SessionId, PersonId)],
) -> Result<()> {
    let cast = Cast::load(tx, step.org, &[away, coverage]).await?;
    let (away_name, cover_name) = (cast.name(away, "a colleague"), cast.name(coverage, "a covering therapist"));
    let reassigned = NotificationKind::SessionReassigned;
    let mut notices = Vec::new();
    for a in moved {
        let (s, when) = (&a.session, session_when(&a.session));
        let title = &s.title;
        notices.extend([
            (
                clients_on(clients, s.session_id),
                about(
                    s,
                    reassigned,
                    "Your session has a new therapist",
                    format!("{title} on {when} is now with {cover_name}."),
                ),
            ),
            (
                vec![coverage],
                about(
                    s,
                    reassigned,
                    "A session was reassigned to you",
                    format!("{title} on {when}, covering for {away_name}."),
                ),
            ),
            (
                vec![away],
                about(
                    s,
                    reassigned,
                    "Your session was reassigned",
                    format!("{title} on {when} is now with {cover_name} while you are away."),
                ),
            ),
        ]);
    }
    notify::push_all(tx, step.org, step.now, step.actor, &notices).await
}

/// Affected sessions cancelled: each one's clients and its other
/// therapists get the notice any cancelled session sends.
pub(super) async fn cancelled<E: Executor>(
    tx: &mut E,
    step: Step,
    away: PersonId,
    cancelled: &[Affected],
    clients: &[(SessionId, PersonId)],
    reason: &str,
) -> Result<()> {
    if cancelled.is_empty() {
        return Ok(());
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT session_id, therapist_id FROM session_therapists WHERE org_id = $1 AND therapist_id <> $2 \
                 AND status <> {INVITATION_DECLINED} AND session_id IN ({})",
                placeholders(3, cancelled.len())
            ))
            .bind(step.org)
            .bind(away)
            .bind_all(cancelled.iter().map(|a| a.session.session_id)),
        )
        .await?;
    let co_therapists: Vec<(SessionId, PersonId)> =
        rows.iter().map(|r| Ok((r.id("session_id")?, r.id("therapist_id")?))).collect::<Result<_>>()?;
    let notices: Vec<_> = cancelled
        .iter()
        .map(|a| {
            let s = &a.session;
            let mut told = clients_on(clients, s.session_id);
            told.extend(co_therapists.iter().filter(|(on, _)| *on == s.session_id).map(|(_, t)| *t));
            (told, cancelled_notice(&s.title, local_time(s.starts_at, &s.timezone), reason, s.session_id, s.group_id))
        })
        .collect();
    notify::push_all(tx, step.org, step.now, step.actor, &notices).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_days_read_as_dates_and_parts_of_days_as_times() {
        let zone = TimeZone::get("America/New_York").unwrap();
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        assert_eq!(
            range_text(at("2027-03-02T05:00:00Z"), at("2027-03-07T05:00:00Z"), &zone),
            "from Tue 2 Mar 2027 to Sat 6 Mar 2027"
        );
        assert_eq!(range_text(at("2027-03-02T05:00:00Z"), at("2027-03-03T05:00:00Z"), &zone), "on Tue 2 Mar 2027");
        assert_eq!(
            range_text(at("2027-03-02T00:00:00Z"), at("2027-03-07T00:00:00Z"), &zone),
            "from Mon 1 Mar 2027 19:00 to Sat 6 Mar 2027 19:00 EST"
        );
    }
}
