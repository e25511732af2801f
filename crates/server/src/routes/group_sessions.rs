//! Group sessions: proposals with therapist invitations (seed 000), member
//! proposals awaiting approval and drop-in sessions (seed 004).

use axum::extract::State;
use circles_domain::Role;
use circles_domain::authz::{Action, GroupRelation};
use circles_domain::group::{GROUP_CAPACITY, GROUP_MINUTES};
use circles_domain::ids::{GroupId, InvitationId, PersonId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::session::{DetailsInput, SessionDetails, SessionKind};
use circles_domain::validation::Validator;
use circles_store::model::{Approval, NewSession, Session, SessionPeople};
use jiff::SignedDuration;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::groups::visible_group;
use super::sessions::{CreateSessionRequest, SessionView, distinct_people, parse_start, parse_timezone};
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path};
use crate::state::AppState;

/// Drop-in sessions last this long unless asked otherwise.
const INSTANT_DEFAULT_MINUTES: i64 = 60;

/// Proposes a group session, or starts a drop-in one now.
pub async fn create(
    state: &AppState,
    member: &Member,
    body: &CreateSessionRequest,
    kind: SessionKind,
) -> ApiResult<Session> {
    let group_id =
        body.group_id.ok_or_else(|| ApiError::field("group_id", "is required for group and instant sessions"))?;
    let (group, relation) = visible_group(state, member, group_id).await?;
    let settings = &group.fields.settings;
    member.authorize(match kind {
        SessionKind::Instant => Action::StartInstant { relation, allow_instant: settings.allow_instant },
        _ => Action::ProposeSession { relation, creation: settings.session_creation },
    })?;
    let now = state.clock.now();
    let mut v = Validator::default();
    let own = DetailsInput {
        title: body.title.as_deref(),
        description: body.description.as_deref(),
        modality: body.modality.as_deref(),
        virtual_link: body.virtual_link.as_deref(),
        location: body.location.as_deref(),
        address: body.address.as_deref(),
    };
    let group_defaults = DetailsInput {
        modality: group.fields.modality.map(|m| m.as_str()),
        virtual_link: group.fields.virtual_link.as_deref(),
        location: group.fields.location.as_deref(),
        address: group.fields.address.as_deref(),
        ..Default::default()
    };
    let details = SessionDetails::parse(&mut v, &own.over(group_defaults), &group.fields.name, true);
    let start = match kind {
        SessionKind::Instant => {
            if !body.starts_at.is_empty() {
                v.reject("starts_at", "an instant session starts now; leave starts_at out");
            }
            Some(now)
        }
        _ => parse_start(&mut v, "starts_at", &body.starts_at, now),
    };
    let minutes = body.duration_minutes.unwrap_or(INSTANT_DEFAULT_MINUTES);
    if body.duration_minutes.is_none() && kind != SessionKind::Instant {
        v.reject("duration_minutes", "is required");
    } else if !GROUP_MINUTES.contains(&minutes) {
        v.reject("duration_minutes", "must be between 15 and 180 minutes");
    }
    let capacity = body.capacity.unwrap_or(settings.default_capacity);
    if !GROUP_CAPACITY.contains(&capacity) {
        v.reject("capacity", "must be between 2 and 50");
    }
    if kind == SessionKind::Group && body.therapist_ids.is_empty() {
        v.reject("therapist_ids", "invite at least one of the group's facilitators");
    }
    // A drop-in session is facilitated unless the group runs peer-led ones;
    // a facilitator who starts one leads it.
    let starter_facilitates = kind == SessionKind::Instant && relation.facilitator && body.therapist_ids.is_empty();
    if kind == SessionKind::Instant
        && body.therapist_ids.is_empty()
        && !starter_facilitates
        && settings.instant_needs_facilitator()
    {
        v.reject("therapist_ids", "name a facilitator of this group: its drop-in sessions are not peer-led");
    }
    if !body.client_ids.is_empty() {
        v.reject("client_ids", "members take seats by joining the session");
    }
    let mut therapists = distinct_people(&mut v, "therapist_ids", &body.therapist_ids);
    if starter_facilitates {
        therapists.push(member.person_id);
    }
    let timezone = parse_timezone(&mut v, body.timezone.as_deref(), &member.org.timezone);
    let interval = start.and_then(|s| Interval::starting_at(s, SignedDuration::from_mins(minutes)));
    if let (Some(slot), Some(zone)) = (interval, &timezone) {
        let zone = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
        match kind {
            SessionKind::Group => settings.check_timing(slot, &zone, now, &mut v, "starts_at"),
            // A drop-in session starts now: no notice, but the group's
            // windows hold unless the group exempts drop-ins from them.
            SessionKind::Instant if !settings.instant_ignores_windows => {
                settings.check_windows(slot, &zone, &mut v, "starts_at")
            }
            _ => {}
        }
    }
    let moderates = member.role == Role::Admin || relation.moderator;
    let approval = if circles_domain::group::proposal_needs_approval(
        kind == SessionKind::Group,
        moderates,
        settings.approval_required,
    ) {
        Approval::Pending
    } else {
        Approval::NotNeeded
    };
    // Whoever starts a drop-in session as a member takes the first seat.
    let clients =
        if kind == SessionKind::Instant && member.role == Role::Client { vec![member.person_id] } else { Vec::new() };
    let input = v.done(|| {
        Some(NewSession {
            kind,
            details: details?,
            interval: interval?,
            timezone: timezone?,
            capacity,
            group_id: Some(group.id),
            therapist_ids: therapists,
            client_ids: clients,
            therapists_must_accept: kind == SessionKind::Group,
            approval,
        })
    })?;
    Ok(state.store.create_session(&member.ctx, member.org_id(), input).await?)
}

/// Who is on the session and how the member relates to its group.
pub async fn standing(state: &AppState, member: &Member, id: SessionId) -> ApiResult<(SessionPeople, GroupRelation)> {
    let people = state.store.session_people(member.org_id(), id).await?;
    let relation = match people.group_id {
        Some(group) => state.store.group_standing(member.org_id(), group, member.person_id).await?.relation,
        None => GroupRelation::default(),
    };
    Ok((people, relation))
}

/// The session's group, for moderation; 409 for a one-on-one session.
async fn moderated(state: &AppState, member: &Member, id: SessionId) -> ApiResult<(SessionPeople, GroupId)> {
    let (people, relation) = standing(state, member, id).await?;
    let visible = people.includes(member.person_id) || relation.moderator || relation.facilitator || relation.member;
    member.authorize(Action::ViewSession { participant: visible })?;
    member.authorize(Action::ManageGroup { relation })?;
    let group = people.group_id.ok_or_else(|| {
        ApiError::conflict("not_a_group_session", "one-on-one sessions have no invitations to manage")
    })?;
    Ok((people, group))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub therapist_id: Uuid,
    /// A declined invitation this one replaces (it is removed).
    pub replaces_invitation_id: Option<Uuid>,
}

/// Invites another of the group's facilitators to a proposed session —
/// typically a replacement for one who declined.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/invitations", tag = "invitations",
    request_body = InviteRequest, params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<InviteRequest>,
) -> ApiResult<axum::Json<SessionView>> {
    let id = SessionId(session_id);
    moderated(&state, &member, id).await?;
    let replaces = body.replaces_invitation_id.map(InvitationId);
    let session =
        state.store.invite_therapist(&member.ctx, member.org_id(), id, PersonId(body.therapist_id), replaces).await?;
    Ok(axum::Json(session.into()))
}

/// Withdraws an invitation from a proposed session (freeing the therapist's
/// time if they had accepted); if every remaining invitation is accepted,
/// the session is scheduled.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/invitations/{invitation_id}", tag = "invitations",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id, invitation_id)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<axum::Json<SessionView>> {
    let id = SessionId(session_id);
    moderated(&state, &member, id).await?;
    let session =
        state.store.withdraw_invitation(&member.ctx, member.org_id(), id, InvitationId(invitation_id)).await?;
    Ok(axum::Json(session.into()))
}

/// A therapist withdraws from a group session they accepted, before it
/// starts. Their time is free; a scheduled session left without an accepted
/// therapist is proposed again; the group's moderators are told.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/withdraw", tag = "invitations",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not_accepted or withdrawal_closed")),
    security(("bearer" = [])))]
pub async fn withdraw_self(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SessionView>> {
    let id = SessionId(session_id);
    let (people, relation) = standing(&state, &member, id).await?;
    let visible = people.includes(member.person_id) || relation.moderator || relation.facilitator || relation.member;
    member.authorize(Action::ViewSession { participant: visible })?;
    let accepted = people.accepted_therapist(member.person_id);
    member.authorize(Action::WithdrawFacilitation { accepted })?;
    let session = state.store.withdraw_facilitation(&member.ctx, member.org_id(), id, member.person_id).await?;
    Ok(axum::Json(session.into()))
}

/// Approves a member's proposal: its therapists are invited.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/approve", tag = "invitations",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SessionView>> {
    let id = SessionId(session_id);
    moderated(&state, &member, id).await?;
    Ok(axum::Json(state.store.approve_proposal(&member.ctx, member.org_id(), id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    #[schema(min_length = 1, format = "text-line", max_length = 1000)]
    pub reason: String,
}

/// Turns a member's proposal down; it is cancelled and the proposer told why.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/reject", tag = "invitations",
    request_body = RejectRequest, params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn reject(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<RejectRequest>,
) -> ApiResult<axum::Json<SessionView>> {
    let reason = circles_domain::input::Label::parse(&body.reason, 1_000).map_err(|r| ApiError::field("reason", r))?;
    let id = SessionId(session_id);
    moderated(&state, &member, id).await?;
    let session = state.store.reject_proposal(&member.ctx, member.org_id(), id, reason.into_string()).await?;
    Ok(axum::Json(session.into()))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(invite))
        .routes(utoipa_axum::routes!(withdraw))
        .routes(utoipa_axum::routes!(approve))
        .routes(utoipa_axum::routes!(reject))
        .routes(utoipa_axum::routes!(withdraw_self))
}
