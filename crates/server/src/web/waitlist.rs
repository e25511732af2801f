//! The waitlist in pages. A client sees the places held for them (with the
//! time left to answer) and what they wait for; staff see the board —
//! everyone waiting, best first, with the score's reasons — open one entry
//! for its suggested places, send an offer, withdraw one, and (admins) pin.
//! Every step is the API's handler; the page only arranges its answers.

use axum::extract::State;
use axum::response::Response;
use circles_domain::Role;
use circles_domain::authz::Action;
use circles_domain::waitlist::{EntryStatus, OfferStatus};
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Submitted, redirect_with, refused, token_input};
use super::layout::page;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::extract::{Json, Path, Query};
use crate::routes::offers::{
    AcceptRequest, DeclineRequest, OfferQuery, SendOfferRequest, accept as api_accept, decline as api_decline,
    list_offers, send_offer, withdraw as api_withdraw,
};
use crate::routes::page::RankedQuery;
use crate::routes::waitlist::{
    EntryQuery, EntryView, UpdateEntryRequest, cancel_entry, get_entry, list_entries, update_entry,
};
use crate::routes::waitlist_suggestions::{entry_suggestions, freed_places};
use crate::routes::waitlist_views::{FreedPlaceView, OfferView, PlaceMatchView, PlaceView};
use crate::state::AppState;

/// "in 1 h 12 min", "in 4 min", "now".
pub fn time_left(seconds: i64) -> String {
    let minutes = (seconds + 59) / 60;
    match minutes {
        m if m <= 0 => "now".into(),
        m if m < 60 => format!("in {m} min"),
        m if m % 60 == 0 => format!("in {} h", m / 60),
        m => format!("in {} h {} min", m / 60, m % 60),
    }
}

fn words(raw: &str) -> String {
    raw.to_lowercase().replace('_', " ")
}

/// What an entry waits for, in words.
fn waits_for(e: &EntryView) -> String {
    let name = e.target.name.clone().unwrap_or_else(|| "any therapist".into());
    match e.target.kind.as_str() {
        "GROUP" => format!("a place in {name}"),
        "GROUP_SESSION" => format!("a seat in {name}"),
        _ => format!("a one-on-one appointment with {name}"),
    }
}

async fn offers(state: &AppState, ctx: &Ctx, status: OfferStatus) -> PageResult<Vec<OfferView>> {
    let query = OfferQuery { status: Some(status.wire().into()), limit: Some(500), cursor: None };
    Ok(list_offers(State(state.clone()), ctx.member.clone(), Query(query)).await?.0.items)
}

/// The entries still waiting (with or without an offer out), as the
/// caller may see them: a client's own, or everyone's for staff.
async fn waiting(state: &AppState, ctx: &Ctx) -> PageResult<Vec<EntryView>> {
    let mut found = Vec::new();
    for status in EntryStatus::WAITING {
        let query = EntryQuery {
            status: Some(status.wire().into()),
            group_id: None,
            client_id: None,
            limit: Some(500),
            cursor: None,
        };
        found.extend(list_entries(State(state.clone()), ctx.member.clone(), Query(query)).await?.0.items);
    }
    Ok(found)
}

/// An offer as its client reads it, with the form to answer it.
fn offer_card(ctx: &Ctx, o: &OfferView) -> Markup {
    let (accept, decline) = (
        ctx.path(&format!("/waitlist/offers/{}/accept", o.id)),
        ctx.path(&format!("/waitlist/offers/{}/decline", o.id)),
    );
    html! {
        section.card aria-labelledby={"o-" (o.id)} {
            h3 #{"o-" (o.id)} { (o.title) }
            dl.facts {
                dt { "When" } dd { (o.place.starts_at_local) }
                dt { "Held for you until" } dd {
                    time datetime=(o.expires_at) { (o.expires_at_local) } " ("
                    // The script counts this down from the server's own
                    // reckoning; without it the figure stands as rendered.
                    span.countdown role="timer" data-seconds-left=(o.seconds_left) { (time_left(o.seconds_left)) } ")"
                }
            }
            div.actions {
                form method="post" action=(accept) {
                    (token_input(&ctx.viewer, &accept))
                    button type="submit" { "Accept the place" }
                }
            }
            form.stack method="post" action=(decline) {
                (token_input(&ctx.viewer, &decline))
                div.field {
                    label for={"r-" (o.id)} { "If you decline, you may say why (optional)" }
                    input id={"r-" (o.id)} type="text" name="reason" maxlength="500";
                }
                div.actions { button.secondary type="submit" { "Decline" } }
            }
        }
    }
}

async fn client_page(state: &AppState, ctx: &Ctx) -> PageResult<Markup> {
    let live = offers(state, ctx, OfferStatus::Live).await?;
    let mut waiting = waiting(state, ctx).await?;
    waiting.sort_by_key(|e| e.added_at);
    let join = super::waitlist_join::form(state, ctx).await?;
    Ok(html! {
        h1 { "My waitlist" }
        h2 { "Places held for me" }
        div #held-places data-live-refresh="NOTIFICATION" {
            @if live.is_empty() { p.empty { "No place is held for you right now. When one frees up, it is held here for you." } }
            @for o in &live { (offer_card(ctx, o)) }
        }
        h2 { "What I wait for" }
        @if waiting.is_empty() { p.empty { "You are not on a waitlist." } }
        ul.plain {
            @for e in &waiting {
                li {
                    (waits_for(e)) " — since " (e.added_at_local) " · " (words(&e.status))
                    @let leave = ctx.path(&format!("/waitlist/{}/leave", e.id));
                    form.inline method="post" action=(leave) data-confirm="Leave this waitlist?" {
                        (token_input(&ctx.viewer, &leave))
                        button.secondary type="submit" aria-label={"Leave the waitlist for " (waits_for(e))} { "Leave" }
                    }
                }
            }
        }
        (join)
    })
}

/// A freed place staff may offer, with the entries that suit it best and
/// a button to offer it to each.
fn freed_card(ctx: &Ctx, f: &FreedPlaceView) -> Markup {
    let heading = format!(
        "f-{}-{}",
        f.place.session_id.or(f.place.therapist_id).or(f.place.group_id).unwrap_or_default(),
        f.place.starts_at.as_second()
    );
    html! {
        section.card aria-labelledby=(heading) {
            h3 #(heading) { (f.title) " — " (f.place.starts_at_local) }
            p.muted { (f.free) " free · no offer is out for " (if f.free == 1 { "it" } else { "them" }) "; the best suited first:" }
            ol {
                @for m in &f.suggestions {
                    li {
                        strong { (m.entry.client_name) } " — match " (format!("{:.2}", m.matched.score))
                        br;
                        span.muted { (m.matched.reasons.join("; ")) }
                        (offer_form(ctx, m.entry.id, &f.place, &f.title, &m.entry.client_name))
                    }
                }
            }
        }
    }
}

async fn staff_page(state: &AppState, ctx: &Ctx) -> PageResult<Markup> {
    let mut waiting = waiting(state, ctx).await?;
    waiting.sort_by(|a, b| b.priority.score.total_cmp(&a.priority.score).then(a.added_at.cmp(&b.added_at)));
    let live = offers(state, ctx, OfferStatus::Live).await?;
    let freed = freed_places(State(state.clone()), ctx.member.clone(), Query(RankedQuery::default())).await?.0.items;
    Ok(html! {
        h1 { "Waitlist" }
        p { a href=(ctx.path("/waitlist/stats")) { "Waitlist statistics" } ": time to match, offers answered, freed seats refilled" }
        h2 { "Waiting, best first" }
        @if waiting.is_empty() { p.empty { "Nobody is waiting." } }
        @else {
            table {
                caption.muted { "The score weighs time waited, urgency, referral and declines; the reasons say how." }
                thead { tr { th scope="col" { "Client" } th scope="col" { "Waits for" } th scope="col" { "Urgency" }
                    th scope="col" { "Score" } th scope="col" { "Why" } } }
                tbody {
                    @for e in &waiting {
                        tr {
                            th scope="row" { a href=(ctx.path(&format!("/waitlist/{}", e.id))) { (e.client_name) } }
                            td { (waits_for(e)) @if e.status == EntryStatus::Offered.wire() { " (offer out)" } }
                            td { (words(&e.urgency)) }
                            td { (format!("{:.2}", e.priority.score)) }
                            td {
                                @if let Some(pin) = &e.priority.pinned_reason { strong { "Pinned: " } (pin) br; }
                                span.muted { (e.priority.explanation) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Freed places waiting for an offer" }
        p.muted { "Freed seats and slots no offer went out for — in manual mode, every one — that someone waiting suits." }
        @if freed.is_empty() { p.empty { "No freed place waits for staff." } }
        @for f in &freed { (freed_card(ctx, f)) }
        h2 { "Offers waiting for an answer" }
        @if live.is_empty() { p.empty { "No offer is out." } }
        ul.plain {
            @for o in &live {
                li {
                    strong { (o.client_name) } " — " (o.title) ", " (o.place.starts_at_local)
                    " · answer " (time_left(o.seconds_left))
                    @let withdraw = ctx.path(&format!("/waitlist/offers/{}/withdraw", o.id));
                    form.inline method="post" action=(withdraw) {
                        (token_input(&ctx.viewer, &withdraw))
                        button.secondary type="submit" aria-label={"Withdraw the offer to " (o.client_name)} { "Withdraw" }
                    }
                }
            }
        }
    })
}

/// `GET /orgs/{org}/waitlist`: the client's own, or the staff's board.
pub async fn index(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let body =
        if ctx.role() == Role::Client { client_page(&state, &ctx).await? } else { staff_page(&state, &ctx).await? };
    Ok(page(&ctx, "Waitlist", "Waitlist", body))
}

/// The "Send offer" form that offers `place` to the client of entry `entry`.
fn offer_form(ctx: &Ctx, entry: Uuid, place: &PlaceView, title: &str, client: &str) -> Markup {
    let send = ctx.path(&format!("/waitlist/{entry}/offer"));
    html! {
        form.inline method="post" action=(send) {
            (token_input(&ctx.viewer, &send))
            @if let Some(session) = place.session_id { input type="hidden" name="session_id" value=(session); }
            @if let Some(group) = place.group_id { input type="hidden" name="group_id" value=(group); }
            @if let Some(therapist) = place.therapist_id {
                input type="hidden" name="therapist_id" value=(therapist);
                input type="hidden" name="starts_at" value=(place.starts_at);
                input type="hidden" name="ends_at" value=(place.ends_at);
            }
            button type="submit" aria-label={"Offer " (title) " to " (client)} { "Send offer" }
        }
    }
}

/// One suggested place and the form that offers it.
fn suggestion(ctx: &Ctx, entry: &EntryView, s: &PlaceMatchView) -> Markup {
    html! {
        li {
            strong { (s.title) } " — " (s.place.starts_at_local)
            @if !s.therapist_names.is_empty() { " with " (s.therapist_names.join(", ")) }
            " · match " (format!("{:.2}", s.matched.score))
            br;
            span.muted { (s.matched.reasons.join("; ")) }
            (offer_form(ctx, entry.id, &s.place, &s.title, &entry.client_name))
        }
    }
}

/// `GET /orgs/{org}/waitlist/{entry}` (staff): one entry, its score's
/// parts, and the places that suit it best.
pub async fn entry(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let e = get_entry(State(state.clone()), ctx.member.clone(), Path((org, id))).await?.0;
    let places =
        entry_suggestions(State(state.clone()), ctx.member.clone(), Path((org, id)), Query(RankedQuery::default()))
            .await?
            .0
            .items;
    let pin = ctx.path(&format!("/waitlist/{id}/pin"));
    let admin = ctx.member.authorize(Action::AdministerWaitlist).is_ok();
    let body = html! {
        h1 { (e.client_name) " waits for " (waits_for(&e)) }
        div.card { dl.facts {
            dt { "Since" } dd { (e.added_at_local) }
            dt { "Status" } dd { (words(&e.status)) }
            dt { "Urgency" } dd { (words(&e.urgency)) }
            dt { "Offers so far" } dd { (e.offer_count) ", declined " (e.decline_count) }
            @if !e.weekdays.is_empty() { dt { "Days" } dd { (e.weekdays.join(", ")) } }
            @if let Some(notes) = &e.notes { @if !notes.is_empty() { dt { "Notes" } dd { (notes) } } }
        } }
        h2 { "Score " (format!("{:.2}", e.priority.score)) }
        ul.plain { @for part in &e.priority.parts { li { (part.reason) ": " (format!("{:.3}", part.points)) } } }
        @if let Some(why) = &e.priority.pinned_reason { p { strong { "Pinned to the top: " } (why) } }
        @if admin {
            form.stack.card method="post" action=(pin) {
                (token_input(&ctx.viewer, &pin))
                div.field {
                    label for="f-pin" { "Pin to the top, because (leave empty to unpin)" }
                    input #f-pin type="text" name="pin_reason" maxlength="500" value=(e.priority.pinned_reason.clone().unwrap_or_default());
                }
                div.actions { button type="submit" { "Save the pin" } }
            }
        }
        h2 { "Places that suit best" }
        @if e.status != EntryStatus::Active.wire() { p.empty { "Offers go only to someone still waiting without one." } }
        @else if places.is_empty() { p.empty { "No free place suits this entry now." } }
        @else { ul.plain { @for s in &places { (suggestion(&ctx, &e, s)) } } }
    };
    Ok(page(&ctx, "Waitlist entry", "Waitlist", body))
}

fn optional_id(fields: &super::form::Fields, name: &str) -> Option<Uuid> {
    fields.get(name).and_then(|raw| raw.parse().ok())
}

/// `POST /orgs/{org}/waitlist/{entry}/offer`: offers a suggested place.
pub async fn offer(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let body = SendOfferRequest {
        entry_id: id,
        session_id: optional_id(&fields, "session_id"),
        therapist_id: optional_id(&fields, "therapist_id"),
        group_id: optional_id(&fields, "group_id"),
        starts_at: fields.text("starts_at"),
        ends_at: fields.text("ends_at"),
        expires_in_minutes: None,
    };
    match send_offer(State(state.clone()), ctx.member.clone(), Json(body)).await {
        Ok((_, sent)) => Ok(redirect_with(
            &ctx.path("/waitlist"),
            Flash::ok(format!("The place is held for {} until {}.", sent.client_name, sent.expires_at_local)),
        )),
        Err(e) => refused(&ctx.path(&format!("/waitlist/{id}")), &e),
    }
}

/// `POST /orgs/{org}/waitlist/{entry}/pin` (admins).
pub async fn pin(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let body = UpdateEntryRequest {
        pin_reason: Some(fields.get("pin_reason").unwrap_or_default().to_owned()),
        ..Default::default()
    };
    let back = ctx.path(&format!("/waitlist/{id}"));
    match update_entry(State(state.clone()), ctx.member.clone(), Path((org, id)), Json(body)).await {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("Saved."))),
        Err(e) => refused(&back, &e),
    }
}

/// `POST /orgs/{org}/waitlist/{entry}/leave`: the client leaves a waitlist.
pub async fn leave(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, form.viewer, org).await?;
    match cancel_entry(State(state.clone()), ctx.member.clone(), Path((org, id))).await {
        Ok(_) => Ok(redirect_with(&ctx.path("/waitlist"), Flash::ok("You left the waitlist."))),
        Err(e) => refused(&ctx.path("/waitlist"), &e),
    }
}

/// `POST /orgs/{org}/waitlist/offers/{offer}/{answer}`: accept, decline
/// (with the reason given) or, for staff, withdraw.
pub async fn answer(
    State(state): State<AppState>,
    Path((org, id, answer)): Path<(Uuid, Uuid, String)>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let (caller, path) = (ctx.member.clone(), Path((org, id)));
    let outcome = match answer.as_str() {
        "accept" => api_accept(State(state.clone()), caller, path, Json(AcceptRequest { release_session_id: None }))
            .await
            .map(|o| format!("{} is yours: it is in your schedule.", o.0.title)),
        "decline" => {
            let reason = fields.text("reason").filter(|r| !r.trim().is_empty());
            api_decline(State(state.clone()), caller, path, Json(DeclineRequest { reason }))
                .await
                .map(|_| "You declined; you stay on the waitlist.".to_owned())
        }
        "withdraw" => api_withdraw(State(state.clone()), caller, path)
            .await
            .map(|o| format!("The offer to {} is withdrawn.", o.0.client_name)),
        _ => return Err(crate::http::error::ApiError::not_found("offer").into()),
    };
    match outcome {
        Ok(said) => Ok(redirect_with(&ctx.path("/waitlist"), Flash::ok(said))),
        Err(e) => refused(&ctx.path("/waitlist"), &e),
    }
}

#[cfg(test)]
mod tests {
    use super::time_left;

    #[test]
    fn time_left_reads_as_hours_and_minutes_rounded_up() {
        assert_eq!(time_left(0), "now");
        assert_eq!(time_left(-30), "now");
        assert_eq!(time_left(1), "in 1 min");
        assert_eq!(time_left(59 * 60 + 1), "in 1 h");
        assert_eq!(time_left(2 * 3600), "in 2 h");
        assert_eq!(time_left(72 * 60), "in 1 h 12 min");
    }
}
