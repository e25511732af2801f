//! An admin's view of what Circles sends: e-mails that could not be
//! delivered (retry one), and webhook endpoints (register, switch on or off,
//! rotate the signing secret, read the delivery log, redeliver a message).
//! Signing secrets are shown once, on the page that follows their creation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use circles_domain::delivery::DeliveryState;
use circles_domain::session::NotificationKind;
use circles_domain::webhook::subscribable;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Errors, Fields, Input, Submitted, redirect_with, refused, token_input};
use super::layout::{page, page_with_status};
use super::messages::kind_label;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::extract::{Json, Path, Query};
use crate::routes::deliveries::{DeliveryQuery, DeliveryView, list_deliveries, retry_delivery};
use crate::routes::page::PageQuery;
use crate::routes::webhooks::{
    CreateWebhookRequest, UpdateWebhookRequest, WebhookLogQuery, WebhookSecretView, WebhookView, create_webhook,
    list_webhooks, redeliver, rotate_secret, update_webhook, webhook_log,
};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct DeliveriesShown {
    state: Option<String>,
    cursor: Option<String>,
}

/// `GET /orgs/{org}/deliveries?state=`: failed messages by default.
pub async fn deliveries(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<Uuid>,
    Query(shown): Query<DeliveriesShown>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let wanted = shown.state.filter(|s| !s.is_empty()).unwrap_or_else(|| DeliveryState::Failed.as_str().to_owned());
    let query = DeliveryQuery { state: Some(wanted.clone()), limit: Some(50), cursor: shown.cursor };
    let found = list_deliveries(State(state.clone()), ctx.member.clone(), Query(query)).await?.0;
    let body = html! {
        h1 { "Messages sent" }
        form.card method="get" action=(ctx.path("/deliveries")) {
            div.actions {
                div.field {
                    label for="state" { "Show messages that are" }
                    select #state name="state" {
                        @for s in DeliveryState::ALL {
                            option value=(s.as_str()) selected[s.as_str() == wanted] { (kind_label(s.as_str())) }
                        }
                    }
                }
                button.secondary type="submit" { "Show" }
            }
        }
        @if found.items.is_empty() { p.empty { "No messages in this state." } }
        @else { (delivery_table(&ctx, &found.items)) }
        @if let Some(next) = &found.next_cursor {
            p { a href={(ctx.path("/deliveries")) "?state=" (wanted) "&cursor=" (next)} { "Older messages" } }
        }
        p { a href=(ctx.path("/webhooks")) { "Webhook endpoints" } }
    };
    Ok(page(&ctx, "Messages sent", "/deliveries", body))
}

fn delivery_table(ctx: &Ctx, items: &[DeliveryView]) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr {
                th scope="col" { "To" } th scope="col" { "About" } th scope="col" { "Written" }
                th scope="col" { "Attempts" } th scope="col" { "Last error" } th scope="col" { span.visually-hidden { "Actions" } }
            } }
            tbody { @for d in items { tr {
                td { (d.recipient_name) " (" (d.channel) ")" }
                td { (kind_label(&d.kind)) }
                td { (d.created_at_local) }
                td { (d.attempts) }
                td { (d.last_error.as_deref().unwrap_or("—")) }
                td {
                    @if d.state == DeliveryState::Failed.as_str() {
                        @let action = ctx.path(&format!("/deliveries/{}/retry", d.id));
                        form.inline method="post" action=(action) {
                            (token_input(&ctx.viewer, &action))
                            button.secondary type="submit" aria-label={"Send again to " (d.recipient_name)} { "Send again" }
                        }
                    }
                }
            } } }
        } }
    }
}

pub async fn retry(
    State(state): State<AppState>,
    Path((org, delivery)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/deliveries");
    let member = super::viewer::member_in(&state, &form.viewer.caller, org).await?;
    match retry_delivery(State(state), member, Path((org, delivery))).await {
        Ok(d) => {
            Ok(redirect_with(&back, Flash::ok(format!("The message to {} will be sent again.", d.0.recipient_name))))
        }
        Err(e) => refused(&back, &e),
    }
}

/// An organisation's endpoints are few: the page reads them in one go.
fn every() -> PageQuery {
    PageQuery { limit: Some(500), cursor: None }
}

/// The kinds an endpoint may receive, in the domain's order.
fn webhook_kinds() -> impl Iterator<Item = NotificationKind> {
    NotificationKind::ALL.iter().copied().filter(|k| subscribable(*k))
}

async fn webhooks_page(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    secret: Option<&WebhookSecretView>,
    sent: Option<&Fields>,
    errors: &Errors,
) -> PageResult<Response> {
    let hooks = list_webhooks(State(state.clone()), ctx.member.clone(), Query(every())).await?.0.items;
    let action = ctx.path("/webhooks");
    let typed = |name: &str| sent.and_then(|f| f.get(name)).unwrap_or_default().to_owned();
    let (url, description) = (typed("url"), typed("description"));
    let ticked: Vec<&str> = sent.map(|f| f.all("event_types")).unwrap_or_default();
    let body = html! {
        h1 { "Webhooks" }
        p.muted { "Circles posts each chosen notification to your endpoints, signed as the Standard Webhooks "
            "specification says. Payloads carry ids and times, never clinical text." }
        @if let Some(created) = secret {
            div.notice.ok role="status" {
                p { "The signing secret of " (created.webhook.url) ". Copy it now: it will not be shown again." }
                code.secret #new-secret { (created.secret) }
                button.secondary type="button" data-copy="new-secret" hidden { "Copy" }
            }
        }
        @if hooks.is_empty() { p.empty { "No endpoints." } }
        ul.plain { @for hook in &hooks { li.card { (endpoint(ctx, hook)) } } }
        h2 #new { "Add an endpoint" }
        (errors.summary())
        form.stack.card method="post" action=(action) novalidate {
            (token_input(&ctx.viewer, &action))
            (Input::new("url", "Address (https://…)").value(&url).required().render(errors))
            (Input::new("description", "What it is for").value(&description).render(errors))
            fieldset aria-describedby=[errors.field("event_types").map(|_| "event_types-error")] {
                legend { "Send these notifications" }
                @if let Some(why) = errors.field("event_types") { p.field-error #event_types-error { (why) } }
                ul.plain.choices { @for kind in webhook_kinds() {
                    @let id = format!("kind-{}", kind.as_str());
                    li {
                        input type="checkbox" id=(id) name="event_types" value=(kind.as_str()) checked[ticked.contains(&kind.as_str())];
                        label for=(id) { (kind_label(kind.as_str())) }
                    }
                } }
            }
            div.actions { button type="submit" { "Add endpoint" } }
        }
        p { a href=(ctx.path("/deliveries")) { "E-mails that could not be delivered" } }
    };
    Ok(page_with_status(ctx, status, "Webhooks", "/webhooks", body))
}

fn endpoint(ctx: &Ctx, hook: &WebhookView) -> Markup {
    let post = |rest: &str| ctx.path(&format!("/webhooks/{}/{rest}", hook.id));
    let (toggle, switch) = (post("switch"), post("rotate"));
    html! {
        h2.h3 { a href=(ctx.path(&format!("/webhooks/{}", hook.id))) { (hook.url) } }
        @if !hook.description.is_empty() { p { (hook.description) } }
        p.muted {
            @if hook.enabled { "On" } @else { "Off" }
            @if let Some(at) = &hook.disabled_at_local { ", switched off " (at) }
            @if let Some(at) = &hook.failing_since_local { ", failing since " (at) }
            " · " (hook.event_types.iter().map(|k| kind_label(k)).collect::<Vec<_>>().join(", "))
        }
        div.actions {
            form.inline method="post" action=(toggle) {
                (token_input(&ctx.viewer, &toggle))
                input type="hidden" name="enabled" value=(if hook.enabled { "false" } else { "true" });
                button.secondary type="submit" { @if hook.enabled { "Switch off" } @else { "Switch on" } }
            }
            form.inline method="post" action=(switch) data-confirm="Make a new signing secret? The old one keeps signing for 24 hours." {
                (token_input(&ctx.viewer, &switch))
                button.secondary type="submit" { "New signing secret" }
            }
        }
    }
}

pub async fn webhooks(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    webhooks_page(&state, &ctx, StatusCode::OK, None, None, &Errors::none()).await
}

pub async fn add_webhook(
    State(state): State<AppState>,
    Path(org): Path<Uuid>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let request = CreateWebhookRequest {
        url: fields.get("url").unwrap_or_default().trim().to_owned(),
        event_types: fields.all("event_types").into_iter().map(str::to_owned).collect(),
        description: fields.get("description").unwrap_or_default().trim().to_owned(),
    };
    match create_webhook(State(state.clone()), ctx.member.clone(), Json(request)).await {
        Ok((_, _, created)) => {
            webhooks_page(&state, &ctx, StatusCode::CREATED, Some(&created.0), None, &Errors::none()).await
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            webhooks_page(&state, &ctx, e.status, None, Some(&fields), &Errors::from_problem(&e)).await
        }
        Err(e) => refused(&ctx.path("/webhooks"), &e),
    }
}

pub async fn switch(
    State(state): State<AppState>,
    Path((org, hook)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/webhooks");
    let enabled = form.fields.get("enabled") == Some("true");
    let member = super::viewer::member_in(&state, &form.viewer.caller, org).await?;
    match update_webhook(State(state), member, Path((org, hook)), Json(UpdateWebhookRequest { enabled })).await {
        Ok(h) => {
            let said = if h.0.enabled { "is on again" } else { "is switched off" };
            Ok(redirect_with(&back, Flash::ok(format!("{} {said}.", h.0.url))))
        }
        Err(e) => refused(&back, &e),
    }
}

pub async fn rotate(
    State(state): State<AppState>,
    Path((org, hook)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, form.viewer, org).await?;
    match rotate_secret(State(state.clone()), ctx.member.clone(), Path((org, hook))).await {
        Ok((_, rotated)) => webhooks_page(&state, &ctx, StatusCode::OK, Some(&rotated.0), None, &Errors::none()).await,
        Err(e) => refused(&ctx.path("/webhooks"), &e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LogShown {
    cursor: Option<String>,
}

/// `GET /orgs/{org}/webhooks/{id}`: one endpoint's delivery log, newest first.
pub async fn log(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, hook)): Path<(Uuid, Uuid)>,
    Query(shown): Query<LogShown>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let hooks = list_webhooks(State(state.clone()), ctx.member.clone(), Query(every())).await?.0.items;
    let Some(endpoint) = hooks.into_iter().find(|h| h.id == hook) else {
        return Err(super::error::PageError::not_found());
    };
    let query = WebhookLogQuery { limit: Some(50), cursor: shown.cursor };
    let found = webhook_log(State(state.clone()), ctx.member.clone(), Path((org, hook)), Query(query)).await?.0;
    let here = ctx.path(&format!("/webhooks/{hook}"));
    let body = html! {
        h1 { "Deliveries to " (endpoint.url) }
        @if found.items.is_empty() { p.empty { "Nothing sent to this endpoint yet." } }
        @else { div.table-wrap { table {
            thead { tr {
                th scope="col" { "Notification" } th scope="col" { "Written" } th scope="col" { "State" }
                th scope="col" { "Attempts" } th scope="col" { "Answer" } th scope="col" { span.visually-hidden { "Actions" } }
            } }
            tbody { @for m in &found.items { tr {
                td { (kind_label(&m.event_type)) }
                td { (m.created_at_local) }
                td { (kind_label(&m.state)) }
                td { (m.attempts) }
                td {
                    @match (m.response_status, &m.last_error) {
                        (Some(code), _) => { "HTTP " (code) }
                        (None, Some(error)) => { (error) }
                        (None, None) => { "—" }
                    }
                }
                td {
                    @let action = format!("{here}/messages/{}/redeliver", m.id);
                    form.inline method="post" action=(action) {
                        (token_input(&ctx.viewer, &action))
                        button.secondary type="submit" { "Send again" }
                    }
                }
            } } }
        } } }
        @if let Some(next) = &found.next_cursor { p { a href={(here) "?cursor=" (next)} { "Older deliveries" } } }
        p { a href=(ctx.path("/webhooks")) { "All endpoints" } }
    };
    Ok(page(&ctx, "Webhook deliveries", "/webhooks", body))
}

pub async fn send_again(
    State(state): State<AppState>,
    Path((org, hook, message)): Path<(Uuid, Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/webhooks/{hook}");
    let member = super::viewer::member_in(&state, &form.viewer.caller, org).await?;
    match redeliver(State(state), member, Path((org, hook, message))).await {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("The message will be sent again, with the same webhook-id."))),
        Err(e) => refused(&back, &e),
    }
}
