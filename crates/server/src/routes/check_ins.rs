//! Check-in questionnaires and where they are attached: the organisation's
//! questionnaires (built in and its own), attaching one to a session or to
//! every session of a group, a session's check-ins, and the caller's open
//! ones. A group's check-in applies to each of its sessions as they are
//! read (no copy is made per session), so sessions generated later have it
//! too. Answers and results are in `check_in_answers.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::checkin::access::{Standing, may_attach_to_group, may_write_questionnaires, standing};
use circles_domain::checkin::{CustomInput, ItemInput, OptionInput, Phase, QuestionnaireRef, WindowOffsets};
use circles_domain::ids::{CheckInId, GroupId, QuestionnaireId, SessionId};
use circles_domain::validation::Validator;
use circles_store::model::{CheckInTarget, NewCheckIn, SessionCheckIn};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::check_in_views::{CheckInView, QuestionnaireView, SessionCheckInView};
use super::group_sessions::standing as session_standing;
use super::page::{Page, PageQuery, RankedQuery, page_at, page_mapped, time_cursor};
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

/// What a questionnaire reference looks like: a built-in's key or an id.
pub const QUESTIONNAIRE_ID: &str =
    "^(mood|phq9|gad7|session_rating|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$";

/// The organisation's questionnaires: the built-in ones (mood 0–10, PHQ-9,
/// GAD-7, session rating), then its own by title, then id. The built-ins
/// lead a list of the organisation's own, so it pages by position in it,
/// 100 to a page unless `limit` asks otherwise.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/questionnaires", tag = "check-ins",
    params(("org_id" = Uuid, Path), RankedQuery),
    responses((status = 200, body = Page<QuestionnaireView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_questionnaires(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<RankedQuery>,
) -> ApiResult<axum::Json<Page<QuestionnaireView>>> {
    let (start, limit) = query.window(RankedQuery::MAX)?;
    let all = state.store.questionnaires(member.org_id()).await?;
    Ok(axum::Json(page_at(all, start, limit, QuestionnaireView::from)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceBody {
    #[schema(format = "text-line", max_length = 300)]
    pub label: String,
    /// The number answering this option sends and scores (−100 to 100;
    /// distinct within the item).
    #[schema(minimum = -100, maximum = 100)]
    pub value: i32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    #[schema(format = "text-line", max_length = 300)]
    pub prompt: String,
    /// `scale` (a whole number from `min` to `max`), `choice` (one of
    /// `options`) or `text` (short free text, never scored or aggregated).
    pub kind: String,
    /// Defaults to true.
    pub required: Option<bool>,
    /// A scale's lowest value (default 0); `max` must be above it, both within ±100.
    #[schema(minimum = -100, maximum = 100)]
    pub min: Option<i32>,
    /// A scale's highest value (default 10).
    #[schema(minimum = -100, maximum = 100)]
    pub max: Option<i32>,
    #[schema(format = "text-line-or-blank", max_length = 300)]
    pub min_label: Option<String>,
    #[schema(format = "text-line-or-blank", max_length = 300)]
    pub max_label: Option<String>,
    /// A choice item's options: 2 to 12, labels and values distinct.
    #[schema(min_items = 2, max_items = 12)]
    pub options: Option<Vec<ChoiceBody>>,
    /// A text item's longest answer, 1 to 500 characters (default 500).
    #[schema(minimum = 1, maximum = 500)]
    pub max_chars: Option<usize>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQuestionnaireRequest {
    #[schema(format = "text-line", max_length = 120)]
    pub title: String,
    #[schema(format = "free-text", max_length = 1000)]
    pub instructions: Option<String>,
    /// 1 to 30 items, keyed `q1`, `q2`, … in this order.
    #[schema(min_items = 1, max_items = 30)]
    pub items: Vec<ItemBody>,
    /// Whether a rising total is good news, for trends (default true).
    pub higher_is_better: Option<bool>,
}

impl CreateQuestionnaireRequest {
    fn input(self) -> CustomInput {
        let items = self
            .items
            .into_iter()
            .map(|i| ItemInput {
                prompt: i.prompt,
                kind: i.kind,
                required: i.required,
                min: i.min,
                max: i.max,
                min_label: i.min_label,
                max_label: i.max_label,
                options: i
                    .options
                    .map(|o| o.into_iter().map(|c| OptionInput { label: c.label, value: c.value }).collect()),
                max_chars: i.max_chars,
            })
            .collect();
        CustomInput {
            title: self.title,
            instructions: self.instructions,
            items,
            higher_is_better: self.higher_is_better,
        }
    }
}

/// Adds an organisation's own questionnaire (staff only). Its items are
/// scale, choice and short-text questions; it has no severity bands.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/questionnaires", tag = "check-ins",
    request_body = CreateQuestionnaireRequest, params(("org_id" = Uuid, Path)),
    responses((status = 201, body = QuestionnaireView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_questionnaire(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<CreateQuestionnaireRequest>,
) -> ApiResult<(StatusCode, axum::Json<QuestionnaireView>)> {
    if !may_write_questionnaires(member.role) {
        return Err(ApiError::forbidden("only staff write questionnaires"));
    }
    let q = body.input().parse(QuestionnaireId::new()).map_err(ApiError::invalid)?;
    state.store.create_questionnaire(&member.ctx, member.org_id(), &q).await?;
    Ok((StatusCode::CREATED, axum::Json(q.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachRequest {
    /// A built-in's key (`mood`, `phq9`, `gad7`, `session_rating`) or one
    /// of the organisation's questionnaires' id.
    #[schema(
        pattern = "^(mood|phq9|gad7|session_rating|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    )]
    pub questionnaire_id: String,
    /// `BEFORE` the session (window around its start) or `AFTER` it
    /// (around its end).
    pub phase: String,
    /// Minutes from the anchor when answers open, −10080 to 10080 (default
    /// −1440 before, −10 after).
    #[schema(minimum = -10080, maximum = 10080)]
    pub opens_minutes: Option<i64>,
    /// Minutes from the anchor when answers close; later than
    /// `opens_minutes` (default 15 before, 1440 after).
    #[schema(minimum = -10080, maximum = 10080)]
    pub closes_minutes: Option<i64>,
}

impl AttachRequest {
    fn parse(&self, target: CheckInTarget) -> ApiResult<NewCheckIn> {
        let mut v = Validator::default();
        let questionnaire = v.check("questionnaire_id", QuestionnaireRef::parse(&self.questionnaire_id));
        let phase = v.check("phase", self.phase.parse::<Phase>());
        let offsets = phase.and_then(|p| match WindowOffsets::parse(p, self.opens_minutes, self.closes_minutes) {
            Ok(o) => Some(o),
            Err(invalid) => {
                invalid.0.into_iter().for_each(|e| v.reject(&e.field, e.reason));
                None
            }
        });
        v.done(|| Some(NewCheckIn { questionnaire: questionnaire?, target, phase: phase?, offsets: offsets? }))
            .map_err(ApiError::invalid)
    }
}

/// How the caller stands towards a session's check-ins (403 for outsiders).
pub async fn session_role(state: &AppState, member: &Member, id: SessionId) -> ApiResult<Standing> {
    let (people, relation) = session_standing(state, member, id).await?;
    let therapist = people.accepted_therapist(member.person_id);
    match standing(member.role, therapist, relation, people.clients.contains(&member.person_id)) {
        Standing::Outsider => Err(ApiError::forbidden("you are not on this session")),
        known => Ok(known),
    }
}

/// Attaches a questionnaire to one session (its clinicians only).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins", tag = "check-ins",
    request_body = AttachRequest, params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 201, body = CheckInView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn attach_to_session(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<AttachRequest>,
) -> ApiResult<(StatusCode, axum::Json<CheckInView>)> {
    let id = SessionId(session_id);
    if session_role(&state, &member, id).await? != Standing::Clinician {
        return Err(ApiError::forbidden("only the session's clinicians attach check-ins"));
    }
    let new = body.parse(CheckInTarget::Session(id))?;
    let made = state.store.attach_check_in(&member.ctx, member.org_id(), new).await?;
    Ok((StatusCode::CREATED, axum::Json(CheckInView::of(made, &member.org.timezone))))
}

/// Attaches a questionnaire to every session of a group, those to come and
/// those already planned (its admins, moderators and facilitators).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/groups/{group_id}/check-ins", tag = "check-ins",
    request_body = AttachRequest, params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path)),
    responses((status = 201, body = CheckInView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn attach_to_group(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<AttachRequest>,
) -> ApiResult<(StatusCode, axum::Json<CheckInView>)> {
    let group = GroupId(group_id);
    let relation = state.store.group_standing(member.org_id(), group, member.person_id).await?.relation;
    if !may_attach_to_group(member.role, relation) {
        return Err(ApiError::forbidden("only the group's admins, moderators and facilitators attach check-ins"));
    }
    let new = body.parse(CheckInTarget::Group(group))?;
    let made = state.store.attach_check_in(&member.ctx, member.org_id(), new).await?;
    Ok((StatusCode::CREATED, axum::Json(CheckInView::of(made, &member.org.timezone))))
}

/// The session's check-ins (its own and its group's), oldest first (then
/// by id), each with its window and whether the caller answered it: for its
/// members and clinicians.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins", tag = "check-ins",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<SessionCheckInView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn session_check_ins(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<SessionCheckInView>>> {
    let (limit, page) = query.keyset::<CheckInId>()?;
    let id = SessionId(session_id);
    session_role(&state, &member, id).await?;
    let listed = state.store.session_check_ins_page(member.org_id(), id, member.person_id, page).await?;
    let now = state.clock.now();
    let cursor = |c: &SessionCheckIn| time_cursor(c.check_in.created_at, c.check_in.id.0);
    Ok(axum::Json(page_mapped(listed, limit, cursor, |c| SessionCheckInView::of(c, &member.org.timezone, now))))
}

/// Check-ins open for the caller to answer now, in sessions where they hold
/// a seat: by the session's start (then its id), then as the session lists
/// them. Which are open is decided as the list is read, so it pages by
/// position in it, 100 to a page unless `limit` asks otherwise.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/me/check-ins", tag = "check-ins",
    params(("org_id" = Uuid, Path), RankedQuery),
    responses((status = 200, body = Page<SessionCheckInView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn my_open_check_ins(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<RankedQuery>,
) -> ApiResult<axum::Json<Page<SessionCheckInView>>> {
    let (start, limit) = query.window(RankedQuery::MAX)?;
    let open = state.store.open_check_ins(member.org_id(), member.person_id).await?;
    let now = state.clock.now();
    Ok(axum::Json(page_at(open, start, limit, |c| SessionCheckInView::of(c, &member.org.timezone, now))))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list_questionnaires, create_questionnaire))
        .routes(utoipa_axum::routes!(attach_to_session, session_check_ins))
        .routes(utoipa_axum::routes!(attach_to_group))
        .routes(utoipa_axum::routes!(my_open_check_ins))
}

#[cfg(test)]
mod tests {
    use circles_domain::checkin::Builtin;
    use regex::Regex;

    #[test]
    fn the_documented_questionnaire_pattern_takes_every_builtin_and_an_id() {
        let pattern = Regex::new(super::QUESTIONNAIRE_ID).unwrap();
        for b in Builtin::ALL {
            assert!(pattern.is_match(b.wire()), "{b}");
        }
        assert!(pattern.is_match(&uuid::Uuid::now_v7().to_string()));
        assert!(!pattern.is_match("phq10"));
    }
}
