//! People's names for what a person reads: sessions name their therapists,
//! clients and creator; notices name who did what.

use std::collections::HashMap;

use circles_domain::ids::{GroupId, OrgId, PersonId, SessionId};
use circles_domain::local_time::local_time;

use crate::Result;
use crate::model::Session;
use crate::sql::db::{Executor, Row, placeholders, sql};
use crate::sql::rows::statuses::INVITATION_ACCEPTED;

/// Names by person, for the people one answer mentions.
pub type Names = HashMap<PersonId, String>;

/// The names of `people`, in one statement.
pub async fn load<E: Executor>(tx: &mut E, org: OrgId, people: impl IntoIterator<Item = PersonId>) -> Result<Names> {
    let mut ids: Vec<PersonId> = people.into_iter().collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Names::new());
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT p.id, a.name FROM people p JOIN accounts a ON a.id = p.account_id \
                 WHERE p.org_id = $1 AND p.id IN ({})",
                placeholders(2, ids.len())
            ))
            .bind(org)
            .bind_all(ids.iter().copied())
            // Names are never among the writes a use case defers.
            .independent_of_deferred(),
        )
        .await?;
    rows.iter().map(|r| Ok((r.id("id")?, r.text("name")?))).collect()
}

/// The names of `groups`, in one statement.
pub async fn groups<E: Executor>(
    tx: &mut E,
    org: OrgId,
    groups: impl IntoIterator<Item = GroupId>,
) -> Result<HashMap<GroupId, String>> {
    labelled(tx, org, "SELECT id, name AS label FROM groups", groups).await
}

/// The titles of `sessions`, in one statement.
pub async fn session_titles<E: Executor>(
    tx: &mut E,
    org: OrgId,
    sessions: impl IntoIterator<Item = SessionId>,
) -> Result<HashMap<SessionId, String>> {
    labelled(tx, org, "SELECT id, title AS label FROM sessions", sessions).await
}

/// The `label` of each of `ids` that `select` (a statement over one table
/// of the organisation, without its WHERE) reads.
async fn labelled<E: Executor, I>(
    tx: &mut E,
    org: OrgId,
    select: &str,
    ids: impl IntoIterator<Item = I>,
) -> Result<HashMap<I, String>>
where
    I: Ord + Copy + std::hash::Hash + From<uuid::Uuid> + Into<uuid::Uuid>,
{
    let mut ids: Vec<I> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let query = format!("{select} WHERE org_id = $1 AND id IN ({})", placeholders(2, ids.len()));
    let rows = tx.fetch_all(sql(query).bind(org).bind_all(ids.iter().map(|id| Into::<uuid::Uuid>::into(*id)))).await?;
    rows.iter().map(|r| Ok((r.id("id")?, r.text("label")?))).collect()
}

/// Writes the names in `names` into the session's therapists, seats and creator.
pub fn apply(session: &mut Session, names: &Names) {
    for therapist in &mut session.therapists {
        if let Some(name) = names.get(&therapist.therapist_id) {
            therapist.therapist_name.clone_from(name);
        }
    }
    for seat in &mut session.seats {
        if let Some(name) = names.get(&seat.client_id) {
            seat.client_name.clone_from(name);
        }
    }
    if let Some(name) = session.created_by.and_then(|c| names.get(&c)) {
        session.created_by_name = Some(name.clone());
    }
}

/// When a session starts, on its own clock: `Thu 10 Dec, 18:00 EST`.
pub fn when(session: &Session) -> String {
    local_time(session.starts_at, &session.timezone)
}

/// The name of a therapist on `session`, or `A therapist` if unknown.
pub fn therapist_on(session: &Session, therapist: PersonId) -> String {
    session
        .therapists
        .iter()
        .find(|t| t.therapist_id == therapist && !t.therapist_name.is_empty())
        .map_or_else(|| "A therapist".to_owned(), |t| t.therapist_name.clone())
}

/// Names everyone and every group on freshly written `sessions`, in one
/// statement each.
pub async fn fill<E: Executor>(tx: &mut E, org: OrgId, sessions: &mut [Session]) -> Result<()> {
    let people = sessions.iter().flat_map(|s| {
        s.therapists.iter().map(|t| t.therapist_id).chain(s.seats.iter().map(|x| x.client_id)).chain(s.created_by)
    });
    let names = load(tx, org, people.collect::<Vec<_>>()).await?;
    let unnamed = sessions.iter().filter(|s| s.group_name.is_none()).filter_map(|s| s.group_id);
    let groups = groups(tx, org, unnamed.collect::<Vec<_>>()).await?;
    for session in sessions {
        apply(session, &names);
        if let Some(name) = session.group_id.and_then(|g| groups.get(&g)) {
            session.group_name = Some(name.clone());
        }
    }
    Ok(())
}

/// The therapists who accepted each of `sessions` (of one organisation),
/// with their names, in one statement.
pub async fn accepted_therapists<E: Executor>(
    tx: &mut E,
    org: OrgId,
    sessions: &[SessionId],
) -> Result<HashMap<SessionId, Vec<(PersonId, String)>>> {
    let mut found: HashMap<SessionId, Vec<(PersonId, String)>> = HashMap::new();
    if sessions.is_empty() {
        return Ok(found);
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT t.session_id, t.therapist_id, a.name FROM session_therapists t \
                 JOIN people p ON p.org_id = t.org_id AND p.id = t.therapist_id JOIN accounts a ON a.id = p.account_id \
                 WHERE t.org_id = $1 AND t.status = {INVITATION_ACCEPTED} AND t.session_id IN ({}) \
                 ORDER BY a.name, t.therapist_id",
                placeholders(2, sessions.len())
            ))
            .bind(org)
            .bind_all(sessions.iter().copied()),
        )
        .await?;
    for row in &rows {
        found.entry(row.id("session_id")?).or_default().push((row.id("therapist_id")?, row.text("name")?));
    }
    Ok(found)
}
