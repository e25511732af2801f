//! What Circles sends me and where: which kinds of message reach me by
//! e-mail (the essential ones cannot be turned off) and by text (to the
//! number I give), and my calendar feed
//! links (a new link's address is shown once, on the page that follows its
//! creation or rotation, as the API shows it once).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use circles_domain::delivery::Channel;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Errors, Input, Submitted, redirect_with, refused, token_input};
use super::layout::page_with_status;
use super::time;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::extract::{Json, Path, Query};
use crate::routes::feeds::{
    CreateFeedRequest, FeedLinkView, FeedView, create_feed, list_feeds, revoke_feed, rotate_feed,
};
use crate::routes::page::PageQuery;
use crate::routes::preferences::{
    ChannelChoiceRequest, ChannelChoiceView, PreferencesRequest, get_preferences, put_preferences,
};
use crate::state::AppState;

/// A kind of message as a person reads it: `invitation_accepted` →
/// "Invitation accepted".
pub fn kind_label(kind: &str) -> String {
    let words = kind.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The checkbox that says one kind goes out on one channel.
fn choice_field(choice: &ChannelChoiceView) -> String {
    format!("send:{}:{}", choice.kind, choice.channel)
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    new_link: Option<FeedLinkView>,
) -> PageResult<Response> {
    let caller = ctx.viewer.caller.clone();
    let prefs = get_preferences(State(state.clone()), caller.clone()).await?.0;
    let feeds =
        list_feeds(State(state.clone()), caller, Query(PageQuery { limit: Some(500), cursor: None })).await?.0.items;
    let choices_action = ctx.path("/profile/messages");
    let feed_action = ctx.path("/profile/feeds");
    let body = html! {
        h1 { "Messages and calendar" }
        p.muted { "Everything also appears in your Circles inbox. Here you choose what reaches you by e-mail and by text." }
        h2 #choices { "What I am sent by e-mail and text" }
        form.stack.card.wide method="post" action=(choices_action) {
            (token_input(&ctx.viewer, &choices_action))
            (choices(&prefs.channels, Channel::Email, "Send me an e-mail when…"))
            (Input::new("phone", "My mobile number for texts")
                .kind("tel")
                .value(prefs.phone.as_deref().unwrap_or(""))
                .hint("With the country code, e.g. +1 415 555 0123. Texts are short and never say what a session is about.")
                .render(&Errors::default()))
            (choices(&prefs.channels, Channel::Sms, "Also send me a text when…"))
            div.actions { button type="submit" { "Save my choices" } }
        }
        h2 #feeds { "Calendar feed links" }
        p.muted {
            "Subscribe to your Circles schedule from a calendar program. Anyone with a link can read it: "
            "rotate or revoke a link you no longer trust. "
            "“Limited” links show only “Busy” or “Group session”, never titles or places."
        }
        @if let Some(link) = &new_link {
            div.notice.ok role="status" {
                p { "Your feed link. Copy it now: it will not be shown again." }
                p { a href=(link.webcal_url) { "Subscribe in my calendar program" } }
                code.secret #new-feed { (link.url) }
                button.secondary type="button" data-copy="new-feed" hidden { "Copy" }
            }
        }
        (feed_list(ctx, &feeds))
        form.stack.card method="post" action=(feed_action) {
            (token_input(&ctx.viewer, &feed_action))
            label for="privacy" { "What the new link shows" }
            select #privacy name="privacy" {
                option value="limited" { "Limited: only that the time is taken" }
                option value="full" { "Full: titles, places and links" }
            }
            div.actions { button type="submit" { "Create a feed link" } }
        }
    };
    Ok(page_with_status(ctx, status, "Messages and calendar", "", body))
}

/// The boxes of one channel: the kinds it carries for this person. Text
/// boxes say so to screen readers, which name a box by its label alone.
fn choices(all: &[ChannelChoiceView], channel: Channel, legend: &str) -> Markup {
    let spoken = (channel == Channel::Sms).then_some(" by text");
    html! {
        fieldset {
            legend { (legend) }
            ul.plain.choices {
                @for choice in all.iter().filter(|c| c.channel == channel.as_str()) {
                    @let id = choice_field(choice);
                    li {
                        @if choice.essential {
                            input type="checkbox" id=(id) checked disabled aria-describedby={(id) "-why"};
                            label for=(id) { (kind_label(&choice.kind)) @if let Some(s) = spoken { span.visually-hidden { (s) } } }
                            " " span.muted id={(id) "-why"} { "(always sent: it changes where you have to be)" }
                        } @else {
                            input type="checkbox" id=(id) name=(id) value="on" checked[choice.enabled];
                            label for=(id) { (kind_label(&choice.kind)) @if let Some(s) = spoken { span.visually-hidden { (s) } } }
                        }
                    }
                }
            }
        }
    }
}

fn feed_list(ctx: &Ctx, feeds: &[FeedView]) -> Markup {
    html! {
        @if feeds.is_empty() { p.empty { "No feed links." } }
        ul.plain {
            @for feed in feeds {
                @let rotate = ctx.path(&format!("/profile/feeds/{}/rotate", feed.id));
                @let revoke = ctx.path(&format!("/profile/feeds/{}/revoke", feed.id));
                // Several links may be listed: each button names its own.
                @let which = format!("{} link created {}", kind_label(&feed.privacy).to_lowercase(), time::when(feed.created_at, &ctx.tz));
                li {
                    strong { (kind_label(&feed.privacy)) " link" }
                    " — created " (time::when(feed.created_at, &ctx.tz))
                    @match feed.last_fetched_at {
                        Some(at) => { ", last read by a calendar " (time::when(at, &ctx.tz)) }
                        None => { ", not read yet" }
                    }
                    " "
                    form.inline method="post" action=(rotate) {
                        (token_input(&ctx.viewer, &rotate))
                        button.secondary type="submit" aria-label=(format!("Rotate the {which}")) { "Rotate" }
                    }
                    " "
                    form.inline method="post" action=(revoke) data-confirm="Revoke this link? Calendars using it stop updating." {
                        (token_input(&ctx.viewer, &revoke))
                        button.secondary type="submit" aria-label=(format!("Revoke the {which}")) { "Revoke" }
                    }
                }
            }
        }
    }
}

/// `GET /orgs/{org}/profile/messages`.
pub async fn show(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    render(&state, &ctx, StatusCode::OK, None).await
}

/// Saves the e-mail and text choices and the number: a box left unticked
/// turns its kind off. The time zone, kept in the same preferences, is sent
/// back unchanged.
pub async fn save(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let back = format!("/orgs/{org}/profile/messages#choices");
    let current = get_preferences(State(state.clone()), viewer.caller.clone()).await?.0;
    let channels = current
        .channels
        .iter()
        .filter(|c| !c.essential)
        .map(|c| ChannelChoiceRequest {
            kind: c.kind.clone(),
            channel: c.channel.clone(),
            enabled: fields.get(&choice_field(c)).is_some(),
        })
        .collect();
    let phone = fields.text("phone");
    let request = PreferencesRequest { timezone: current.timezone, phone, channels };
    match put_preferences(State(state), viewer.caller, Json(request)).await {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("Your choices are saved."))),
        Err(e) => refused(&back, &e),
    }
}

/// Creates a feed link and shows its address, once.
pub async fn create(
    State(state): State<AppState>,
    Path(org): Path<Uuid>,
    headers: HeaderMap,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let request = CreateFeedRequest { privacy: fields.text("privacy") };
    let ctx = Ctx::load(&state, viewer, org).await?;
    match create_feed(State(state.clone()), ctx.viewer.caller.clone(), headers, Json(request)).await {
        Ok((_, _, link)) => render(&state, &ctx, StatusCode::CREATED, Some(link.0)).await,
        Err(e) => refused(&ctx.path("/profile/messages#feeds"), &e),
    }
}

/// Gives a feed a new address (the old one stops working) and shows it, once.
pub async fn rotate(
    State(state): State<AppState>,
    Path((org, feed)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    form: Submitted,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, form.viewer, org).await?;
    match rotate_feed(State(state.clone()), ctx.viewer.caller.clone(), headers, Path(feed)).await {
        Ok((_, link)) => render(&state, &ctx, StatusCode::OK, Some(link.0)).await,
        Err(e) => refused(&ctx.path("/profile/messages#feeds"), &e),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Path((org, feed)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/profile/messages#feeds");
    match revoke_feed(State(state), form.viewer.caller, Path(feed)).await {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("The link is revoked; calendars using it stop updating."))),
        Err(e) => refused(&back, &e),
    }
}
