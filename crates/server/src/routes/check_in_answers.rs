//! Answers to check-ins and what is made of them: a member answers within
//! the window; the session's clinicians read every member's answers, total,
//! band and trend, a member only their own; group results (mean, median,
//! distribution) reach members only after the window closes and from at
//! least k answers, each beside the member's own value; a member's trend.

use std::collections::BTreeMap;

use axum::extract::State;
use circles_domain::checkin::QuestionnaireRef;
use circles_domain::checkin::access::Standing;
use circles_domain::checkin::aggregate::{for_member, group_results};
use circles_domain::ids::{CheckInId, SessionId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::check_in_views::{AnswersView, MyTrendView, ResponseView, ResultsView, SessionCheckInView};
use super::check_ins::session_role;
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// Item key (`q1`, `q2`, …) → a whole number for scale and choice
    /// items (in the item's range, or one of its options' values), text for
    /// text items (at most the item's `max_chars`). Every required item is
    /// answered; answering again within the window replaces the answers.
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// The caller answers a check-in of a session where they hold a seat,
/// within its window.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins/{check_in_id}/answers",
    tag = "check-ins", request_body = AnswerRequest,
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), ("check_in_id" = Uuid, Path)),
    responses((status = 200, body = ResponseView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "no_seat, check_in_closed"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn answer(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id, check_in_id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<AnswerRequest>,
) -> ApiResult<axum::Json<ResponseView>> {
    let (session, check_in) = (SessionId(session_id), CheckInId(check_in_id));
    session_role(&state, &member, session).await?;
    let org = member.org_id();
    let saved =
        state.store.answer_check_in(&member.ctx, org, session, check_in, member.person_id, &body.answers).await?;
    let record = state.store.session_check_ins(org, session, member.person_id).await?;
    let q = questionnaire(&state, &member, record.iter().find(|c| c.check_in.id == check_in)).await?;
    Ok(axum::Json(ResponseView::of(&q, saved, &member.org.timezone, false)))
}

async fn questionnaire(
    state: &AppState,
    member: &Member,
    found: Option<&circles_store::model::SessionCheckIn>,
) -> ApiResult<circles_domain::checkin::Questionnaire> {
    let which = found.ok_or_else(|| ApiError::not_found("check-in"))?.check_in.questionnaire;
    let all = state.store.questionnaires(member.org_id()).await?;
    all.into_iter().find(|q| q.id == which).ok_or_else(|| ApiError::not_found("questionnaire"))
}

/// The answers to a check-in in a session: every member's (answers, total,
/// band, trend, safety alert) for the session's clinicians; only the
/// caller's own for a member. An audited read.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins/{check_in_id}/answers",
    tag = "check-ins",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), ("check_in_id" = Uuid, Path)),
    responses((status = 200, body = AnswersView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn answers(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id, check_in_id)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<axum::Json<AnswersView>> {
    let session = SessionId(session_id);
    let clinician = session_role(&state, &member, session).await? == Standing::Clinician;
    let only = (!clinician).then_some(member.person_id);
    let read =
        state.store.check_in_answers(&member.ctx, member.org_id(), session, CheckInId(check_in_id), only).await?;
    let zone = &member.org.timezone;
    let q = read.questionnaire;
    Ok(axum::Json(AnswersView {
        check_in: SessionCheckInView::of(read.check_in, zone, state.clock.now()),
        responses: read.responses.into_iter().map(|r| ResponseView::of(&q, r, zone, clinician)).collect(),
    }))
}

/// Group results of a check-in in a session: mean, median and distribution
/// per numeric item and of the total, each with the caller's own value
/// beside it; never free text. Members see them only once the window has
/// closed and only when at least k members answered (k is the
/// organisation's `check_in_k`, 5 unless changed); otherwise `shown` is
/// false and nothing aggregate is sent. Clinicians see them at any time.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins/{check_in_id}/results",
    tag = "check-ins",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), ("check_in_id" = Uuid, Path)),
    responses((status = 200, body = ResultsView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn results(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id, check_in_id)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<axum::Json<ResultsView>> {
    let session = SessionId(session_id);
    let clinician = session_role(&state, &member, session).await? == Standing::Clinician;
    let numbers =
        state.store.check_in_numbers(member.org_id(), session, CheckInId(check_in_id), member.person_id).await?;
    let now = state.clock.now();
    let q = &numbers.questionnaire;
    let answers: Vec<_> = numbers.responses.iter().map(|(_, a)| a.clone()).collect();
    let own = numbers.responses.iter().find(|(p, _)| *p == member.person_id).map(|(_, a)| a);
    let shown = if clinician {
        Ok(group_results(q, &answers))
    } else {
        for_member(q, &answers, numbers.k, &numbers.check_in.window, now)
    };
    let own_score = own.map(|a| q.score(a));
    let check_in = SessionCheckInView::of(numbers.check_in.clone(), &member.org.timezone, now);
    let (own_total, own_band) = own_score.map_or((None, None), |s| (s.total, s.band));
    Ok(axum::Json(match shown {
        Ok(results) => {
            let (items, total) = ResultsView::items(q, results, own);
            ResultsView { check_in, shown: true, withheld_reason: None, items, total, own_total, own_band }
        }
        Err(withheld) => ResultsView {
            check_in,
            shown: false,
            withheld_reason: Some(withheld.reason().into()),
            items: Vec::new(),
            total: None,
            own_total,
            own_band,
        },
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    /// A built-in's key or one of the organisation's questionnaires' id.
    #[param(
        pattern = "^(mood|phq9|gad7|session_rating|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    )]
    pub questionnaire: String,
}

/// The caller's own totals for a questionnaire across their sessions,
/// oldest first, with the latest change and its direction.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/me/check-ins/trend", tag = "check-ins",
    params(("org_id" = Uuid, Path), TrendQuery),
    responses((status = 200, body = MyTrendView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn my_trend(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<TrendQuery>,
) -> ApiResult<axum::Json<MyTrendView>> {
    let which = QuestionnaireRef::parse(&query.questionnaire).map_err(|e| ApiError::field("questionnaire", e))?;
    let all = state.store.questionnaires(member.org_id()).await?;
    let q = all.into_iter().find(|q| q.id == which).ok_or_else(|| ApiError::not_found("questionnaire"))?;
    let points = state.store.check_in_trend(&member.ctx, member.org_id(), member.person_id, which).await?;
    Ok(axum::Json(MyTrendView::of(&q, points, &member.org.timezone)))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(answer, answers))
        .routes(utoipa_axum::routes!(results))
        .routes(utoipa_axum::routes!(my_trend))
}
