//! Offers of freed seats and slots: staff send them from the suggestions
//! (or the matching pass does), the client accepts or declines before they
//! lapse, staff may withdraw them.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::Role;
use circles_domain::authz::Action;
use circles_domain::ids::{GroupId, OfferId, PersonId, SessionId, WaitlistEntryId};
use circles_domain::input::{free_text, instant};
use circles_domain::validation::Validator;
use circles_domain::waitlist::{OfferStatus, check_offer_minutes};
use circles_store::model::{Acceptance, Keyset, NewOffer, Offer, OfferFilter, Place};
use jiff::SignedDuration;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::labels::labels_of;
use super::page::{Page, page_mapped, parse_time_cursor, time_cursor};
use super::query::{page_limit, query_parsed};
use super::views::Problem;
use super::waitlist_views::{OfferView, mention_offer, visible_to};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

/// Send exactly one of `session_id` (a seat), `group_id` (a place in the
/// group) or `therapist_id` with `starts_at` and `ends_at` (a slot, which
/// ends after it starts).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendOfferRequest {
    pub entry_id: Uuid,
    /// A seat on this group session…
    pub session_id: Option<Uuid>,
    /// …or this therapist's slot from `starts_at` to `ends_at`…
    pub therapist_id: Option<Uuid>,
    /// …or a place in this full group, for a member waiting on its roster.
    pub group_id: Option<Uuid>,
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// 5 minutes to 7 days; the organisation's default (2 hours) otherwise.
    #[schema(minimum = 5, maximum = 10080)]
    pub expires_in_minutes: Option<i64>,
}

fn parse_offer(body: &SendOfferRequest) -> Result<NewOffer, ApiError> {
    let mut v = Validator::default();
    let place = match (body.session_id, body.therapist_id, body.group_id) {
        (Some(s), None, None) => Some(Place::Seat(SessionId(s))),
        (None, None, Some(g)) => Some(Place::Membership(GroupId(g))),
        (None, Some(t), None) => {
            let start = v.check_opt("starts_at", body.starts_at.as_deref().map(instant)).flatten();
            let end = v.check_opt("ends_at", body.ends_at.as_deref().map(instant)).flatten();
            match (start, end) {
                (Some(starts_at), Some(ends_at)) if ends_at > starts_at => {
                    Some(Place::Slot { therapist: PersonId(t), starts_at, ends_at })
                }
                (Some(_), Some(_)) => {
                    v.reject("ends_at", "must be after starts_at");
                    None
                }
                _ => {
                    v.reject("starts_at", "a slot needs starts_at and ends_at");
                    None
                }
            }
        }
        _ => {
            v.reject(
                "session_id",
                "send one of session_id (a seat), group_id (a place in the group) or therapist_id with starts_at \
                 and ends_at (a slot)",
            );
            None
        }
    };
    let expires_in = v
        .check_opt("expires_in_minutes", body.expires_in_minutes.map(|m| check_offer_minutes(m).map(|()| m)))
        .map(|m| m.map(SignedDuration::from_mins));
    Ok(v.done(|| Some(NewOffer { entry_id: WaitlistEntryId(body.entry_id), place: place?, expires_in: expires_in? }))?)
}

/// Offers a seat or slot to a waiting client: it is held for them alone
/// until they answer or it lapses.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/offers", tag = "waitlist", request_body = SendOfferRequest,
    params(("org_id" = Uuid, Path)),
    responses((status = 201, body = OfferView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "entry_not_waiting, no_free_seat, not_offerable or scheduling_conflict"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn send_offer(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<SendOfferRequest>,
) -> ApiResult<(StatusCode, axum::Json<OfferView>)> {
    member.authorize(Action::ManageWaitlist)?;
    let input = parse_offer(&body)?;
    let offer = state.store.send_offer(&member.ctx, member.org_id(), input).await?;
    Ok((StatusCode::CREATED, view(&state, &member, offer).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OfferQuery {
    /// LIVE, ACCEPTED, DECLINED, EXPIRED or WITHDRAWN.
    pub status: Option<String>,
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

/// Offers, newest first. Clients see their own.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/offers", tag = "waitlist",
    params(("org_id" = Uuid, Path), OfferQuery),
    responses((status = 200, body = Page<OfferView>), (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_offers(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<OfferQuery>,
) -> ApiResult<axum::Json<Page<OfferView>>> {
    let status = query_parsed::<OfferStatus>("status", query.status.as_deref())?;
    let limit = page_limit(query.limit, 100, 500)?;
    let after = parse_time_cursor::<Uuid>(query.cursor.as_deref())?.map(|(at, id)| (at, OfferId(id)));
    let client = (member.role == Role::Client).then_some(member.person_id);
    // One more than the page, to know whether another follows.
    let page = Keyset { after, limit: limit + 1 };
    let offers = state.store.offers_page(member.org_id(), OfferFilter { status, client }, page).await?;
    let labels = labels_of(&state, member.org_id(), &offers, mention_offer).await?;
    let now = state.clock.now();
    let view = |o| OfferView::new(o, now, &labels);
    Ok(axum::Json(page_mapped(offers, limit, |o| time_cursor(o.created_at, o.id.0), view)))
}

async fn offer_for(state: &AppState, member: &Member, id: Uuid) -> ApiResult<Offer> {
    let offer = state.store.offer(member.org_id(), OfferId(id)).await?;
    visible_to(member, offer.client_id, "offer")?;
    Ok(offer)
}

/// An offer the caller may answer: their own, or any for staff.
async fn answerable(state: &AppState, member: &Member, id: Uuid) -> ApiResult<Offer> {
    let offer = offer_for(state, member, id).await?;
    member.authorize(Action::WaitlistOwn { is_self: offer.client_id == member.person_id })?;
    Ok(offer)
}

/// An offer as the caller sees it now.
async fn view(state: &AppState, member: &Member, offer: Offer) -> ApiResult<axum::Json<OfferView>> {
    let labels = labels_of(state, member.org_id(), std::slice::from_ref(&offer), mention_offer).await?;
    Ok(axum::Json(OfferView::new(offer, state.clock.now(), &labels)))
}

/// One offer, with the seconds it has left.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/offers/{offer_id}", tag = "waitlist",
    params(("org_id" = Uuid, Path), ("offer_id" = Uuid, Path)),
    responses((status = 200, body = OfferView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_offer(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, offer_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<OfferView>> {
    view(&state, &member, offer_for(&state, &member, offer_id).await?).await
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// "Move me earlier": a later booking of the client's (a seat or a
    /// one-on-one session) to give up in the same step.
    pub release_session_id: Option<Uuid>,
}

/// Accepts a live offer: the seat or session is booked and the entry marked
/// matched in one step; the other offers of the same seat are withdrawn.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/offers/{offer_id}/accept", tag = "waitlist",
    request_body = AcceptRequest, params(("org_id" = Uuid, Path), ("offer_id" = Uuid, Path)),
    responses((status = 200, body = OfferView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "offer_expired, offer_closed, no_free_seat or scheduling_conflict")),
    security(("bearer" = [])))]
pub async fn accept(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, offer_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<AcceptRequest>,
) -> ApiResult<axum::Json<OfferView>> {
    let offer = answerable(&state, &member, offer_id).await?;
    let how = Acceptance { release: body.release_session_id.map(SessionId) };
    view(&state, &member, state.store.accept_offer(&member.ctx, member.org_id(), offer.id, how).await?).await
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    #[schema(format = "free-text", max_length = 500)]
    pub reason: Option<String>,
}

/// Declines a live offer (counted against the entry's priority); the place
/// moves on to the next client.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/offers/{offer_id}/decline", tag = "waitlist",
    request_body = DeclineRequest, params(("org_id" = Uuid, Path), ("offer_id" = Uuid, Path)),
    responses((status = 200, body = OfferView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "offer_expired or offer_closed"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn decline(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, offer_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<DeclineRequest>,
) -> ApiResult<axum::Json<OfferView>> {
    let offer = answerable(&state, &member, offer_id).await?;
    let mut v = Validator::default();
    let reason = v.check_opt("reason", body.reason.map(|r| free_text(&r, 500)));
    let reason = v.done(|| reason)?;
    view(&state, &member, state.store.decline_offer(&member.ctx, member.org_id(), offer.id, reason).await?).await
}

/// Withdraws a live offer (staff); the client stays on the waitlist.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/offers/{offer_id}/withdraw", tag = "waitlist",
    params(("org_id" = Uuid, Path), ("offer_id" = Uuid, Path)),
    responses((status = 200, body = OfferView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "offer_expired or offer_closed")),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, offer_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<OfferView>> {
    let offer = offer_for(&state, &member, offer_id).await?;
    member.authorize(Action::ManageWaitlist)?;
    view(&state, &member, state.store.withdraw_offer(&member.ctx, member.org_id(), offer.id).await?).await
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(send_offer, list_offers))
        .routes(utoipa_axum::routes!(get_offer))
        .routes(utoipa_axum::routes!(accept))
        .routes(utoipa_axum::routes!(decline))
        .routes(utoipa_axum::routes!(withdraw))
}
