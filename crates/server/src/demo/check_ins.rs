//! The demo's check-ins: mood before and PHQ-9 after every session of its
//! weekly groups, with the answers the members who came gave over the
//! weeks already held — moods rising and PHQ-9 totals easing, member by
//! member with small week-to-week wobbles, the same on every run.

use std::collections::BTreeMap;
use std::sync::Arc;

use circles_domain::checkin::{Builtin, Phase, QuestionnaireRef, WindowOffsets};
use circles_domain::ids::{GroupId, OrgId, PersonId, SessionId};
use circles_store::Store;
use circles_store::model::{AuditCtx, CheckInTarget, NewCheckIn, PastAnswer};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

/// A held session of a group and the members who attended it.
pub(super) struct Held {
    pub session: SessionId,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub attended: Vec<PersonId>,
}

/// Mood (0–10) of member `i` in week `w`: a start between 3 and 5, half a
/// point better each week, give or take one.
fn mood(i: usize, w: usize) -> i64 {
    let wobble = ((i * 5 + w * 3) % 3) as i64 - 1;
    (3 + (i % 3) as i64 + (w / 2) as i64 + wobble).clamp(0, 10)
}

/// PHQ-9 items of member `i` in week `w`: mostly 1s and 2s at first, a
/// point lower every three weeks; item 9 (self-harm) always 0.
fn phq9(i: usize, w: usize) -> BTreeMap<String, serde_json::Value> {
    (0..9)
        .map(|j| {
            let value = if j == 8 {
                0
            } else {
                let base = 1 + ((i + j) % 2) as i64 + i64::from((i + j + w).is_multiple_of(3));
                (base - (w / 3) as i64).clamp(0, 3)
            };
            (format!("q{}", j + 1), json!(value))
        })
        .collect()
}

/// Attaches mood and PHQ-9 to every session of `group` and records the
/// answers of the weeks in `held` (oldest first) whose windows have closed.
pub(super) async fn history(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    group: GroupId,
    facilitator: PersonId,
    held: &[Held],
) -> anyhow::Result<()> {
    let therapist = ctx.acting_as(facilitator);
    let attach = |questionnaire: Builtin, phase: Phase| NewCheckIn {
        questionnaire: QuestionnaireRef::Builtin(questionnaire),
        target: CheckInTarget::Group(group),
        phase,
        offsets: WindowOffsets::default_for(phase),
    };
    let mood_check_in = store.attach_check_in(&therapist, org, attach(Builtin::Mood, Phase::Before)).await?;
    let phq9_check_in = store.attach_check_in(&therapist, org, attach(Builtin::Phq9, Phase::After)).await?;
    let now = Timestamp::now();
    let mut answers = Vec::new();
    for (w, session) in held.iter().enumerate() {
        let phq9_closed =
            phq9_check_in.offsets.window(Phase::After, session.starts_at, session.ends_at).closes_at < now;
        for (i, &member) in session.attended.iter().enumerate() {
            answers.push(PastAnswer {
                session: session.session,
                check_in: mood_check_in.id,
                member,
                answers: BTreeMap::from([("q1".to_owned(), json!(mood(i, w)))]),
                answered_at: session.starts_at - SignedDuration::from_hours(2),
            });
            // The latest week's PHQ-9 may still be open: members answer it live.
            if phq9_closed {
                answers.push(PastAnswer {
                    session: session.session,
                    check_in: phq9_check_in.id,
                    member,
                    answers: phq9(i, w),
                    answered_at: session.ends_at + SignedDuration::from_mins(30),
                });
            }
        }
    }
    store.record_past_answers(&therapist, org, &answers).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moods_rise_and_phq9_totals_ease_over_eight_weeks_without_a_safety_answer() {
        for i in 0..6 {
            let total = |w| phq9(i, w).values().map(|v| v.as_i64().unwrap()).sum::<i64>();
            assert!(mood(i, 7) > mood(i, 0), "member {i}");
            assert!(total(7) < total(0), "member {i}: {} → {}", total(0), total(7));
            assert!((0..8).all(|w| phq9(i, w)["q9"] == 0 && (0..=10).contains(&mood(i, w))));
        }
    }
}
