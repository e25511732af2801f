//! My profile: who I am where, my password, and my API tokens (a new
//! token's secret is shown once, on the page that follows its creation).

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{Redirect, Response};
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Errors, Fields, Input, Submitted, redirect_with, refused, token_input};
use super::layout::page_with_status;
use super::time;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::extract::{Json, Path, Query};
use crate::routes::me::{
    CreateTokenRequest, create_token as api_create_token, list_tokens, revoke_token as api_revoke,
};
use crate::routes::page::PageQuery;
use crate::routes::password::{PasswordChange, change_password as api_change_password};
use crate::routes::preferences::{ChannelChoiceRequest, PreferencesRequest, get_preferences, put_preferences};
use crate::state::AppState;

/// `/profile` without an organisation: the first one's profile.
pub async fn redirect_home() -> Redirect {
    Redirect::to("/")
}

/// What the profile page shows besides the stored facts: one form's
/// refusal (with what was typed) or a new token's secret.
#[derive(Default)]
struct Shown<'a> {
    password_errors: Errors,
    token_errors: Errors,
    token_name: &'a str,
    secret: Option<(&'a str, &'a str)>,
    zone_errors: Errors,
    zone_typed: Option<&'a str>,
}

async fn render(state: &AppState, ctx: &Ctx, status: StatusCode, shown: Shown<'_>) -> PageResult<Response> {
    let Shown { password_errors, token_errors, token_name, secret, zone_errors, zone_typed } = shown;
    let (password_errors, token_errors) = (&password_errors, &token_errors);
    let tokens =
        list_tokens(State(state.clone()), ctx.viewer.caller.clone(), Query(PageQuery::longest())).await?.0.items;
    let account = state
        .store
        .account(ctx.viewer.caller.principal.account_id)
        .await
        .map_err(crate::http::error::ApiError::from)?;
    let password_action = ctx.path("/profile/password");
    let token_action = ctx.path("/profile/tokens");
    let zone_action = ctx.path("/profile/timezone");
    let own_zone = if ctx.own_zone { ctx.zone.as_str() } else { "" };
    let body = html! {
        h1 { "My profile" }
        div.card {
            dl.facts {
                dt { "Name" } dd { (account.name) }
                dt { "E-mail" } dd { (account.email) }
                dt { "Time zone" } dd { (ctx.zone) @if !ctx.own_zone { " (the organisation’s)" } }
                dt { "Organisations" } dd {
                    @for (i, m) in ctx.memberships.iter().enumerate() {
                        @if i > 0 { ", " }
                        (m.org.name) " as " (m.role.as_str())
                    }
                }
            }
        }
        p { a href=(ctx.path("/profile/messages")) { "Messages and calendar" } ": what reaches you by e-mail, and calendar feed links." }
        h2 #timezone { "My time zone" }
        p.muted { "Every page shows times in this zone. Leave it empty to use the organisation’s ("
            (ctx.member.org.timezone) ")." }
        (zone_errors.summary())
        form.stack.card method="post" action=(zone_action) novalidate {
            (token_input(&ctx.viewer, &zone_action))
            (Input::new("timezone", "Time zone").value(zone_typed.unwrap_or(own_zone)).list("zones")
                .hint("An IANA name such as Europe/Lisbon or America/Chicago.").render(&zone_errors))
            datalist #zones { @for name in zone_names() { option value=(name) {} } }
            div.actions { button type="submit" { "Save time zone" } }
        }
        h2 #password { "Change my password" }
        (password_errors.summary())
        form.stack.card method="post" action=(password_action) novalidate {
            (token_input(&ctx.viewer, &password_action))
            (Input::new("current_password", "Current password").kind("password").required().render(password_errors))
            (Input::new("new_password", "New password").kind("password").required()
                .hint("At least 10 characters. You will sign in again afterwards.").render(password_errors))
            div.actions { button type="submit" { "Change password" } }
        }
        h2 #tokens { "API tokens" }
        p.muted { "For scripts that use the API. A token acts as you; keep it secret." }
        @if let Some((name, secret)) = secret {
            div.notice.ok role="status" {
                p { "Your new token “" (name) "”. Copy it now: it will not be shown again." }
                code.secret #new-token { (secret) }
                button.secondary type="button" data-copy="new-token" hidden { "Copy" }
            }
        }
        (token_errors.summary())
        form.stack.card method="post" action=(token_action) novalidate {
            (token_input(&ctx.viewer, &token_action))
            (Input::new("name", "What the token is for").value(token_name).required().render(token_errors))
            (Input::new("expires_in_days", "Expires after (days)").kind("number")
                .hint("Leave empty for a token that lasts until you revoke it.").render(token_errors))
            div.actions { button type="submit" { "Create token" } }
        }
        (token_list(ctx, &tokens))
    };
    Ok(page_with_status(ctx, status, "My profile", "", body))
}

/// The zone names a person may choose (the API accepts region/city names and UTC).
fn zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.to_string())
        .filter(|n| n.contains('/') && !n.starts_with("Etc/"))
        .collect();
    names.sort();
    names
}

fn token_list(ctx: &Ctx, tokens: &[crate::routes::me::TokenView]) -> Markup {
    html! {
        @if tokens.is_empty() { p.empty { "No API tokens." } }
        ul.plain {
            @for t in tokens {
                li {
                    strong { (t.name) } " — created " (time::when(t.created_at, &ctx.tz))
                    @if let Some(at) = t.revoked_at { ", revoked " (time::when(at, &ctx.tz)) }
                    @else {
                        @if let Some(at) = t.expires_at { ", expires " (time::when(at, &ctx.tz)) }
                        @let action = ctx.path(&format!("/profile/tokens/{}/revoke", t.id));
                        " "
                        form.inline method="post" action=(action) data-confirm="Revoke this token? Scripts using it stop working." {
                            (token_input(&ctx.viewer, &action))
                            button.secondary type="submit" aria-label={"Revoke " (t.name)} { "Revoke" }
                        }
                    }
                }
            }
        }
    }
}

pub async fn profile(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    render(&state, &ctx, StatusCode::OK, Shown::default()).await
}

pub async fn change_password(
    State(state): State<AppState>,
    Path(org): Path<Uuid>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let change = PasswordChange {
        current_password: fields.get("current_password").unwrap_or_default().to_owned(),
        new_password: fields.get("new_password").unwrap_or_default().to_owned(),
    };
    match api_change_password(State(state.clone()), viewer.caller.clone(), Json(change)).await {
        Ok(_) => {
            // The session ended with the old password: sign in with the new one.
            let mut response = redirect_with("/", Flash::ok("Your password is changed."));
            let clear = format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", crate::auth::SESSION_COOKIE);
            response.headers_mut().append(SET_COOKIE, clear.parse().expect("ascii"));
            Ok(response)
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::TOO_MANY_REQUESTS => {
            let ctx = Ctx::load(&state, viewer, org).await?;
            render(&state, &ctx, e.status, Shown { password_errors: Errors::from_problem(&e), ..Shown::default() })
                .await
        }
        Err(e) => refused(&format!("/orgs/{org}/profile"), &e),
    }
}

fn days(fields: &Fields) -> Result<Option<u32>, ()> {
    match fields.text("expires_in_days") {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| ()),
    }
}

pub async fn create_token(
    State(state): State<AppState>,
    Path(org): Path<Uuid>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let name = fields.get("name").unwrap_or_default().to_owned();
    let ctx = Ctx::load(&state, viewer, org).await?;
    let Ok(expires_in_days) = days(&fields) else {
        let errors = Errors::from_problem(&crate::http::error::ApiError::field(
            "expires_in_days",
            "must be a whole number of days",
        ));
        let shown = Shown { token_errors: errors, token_name: &name, ..Shown::default() };
        return render(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
    };
    let request = CreateTokenRequest { name: name.clone(), expires_in_days };
    match api_create_token(State(state.clone()), ctx.viewer.caller.clone(), Json(request)).await {
        // The secret exists only in this response: show it here, never store it.
        Ok((_, _, created)) => {
            let created = created.0;
            let shown = Shown { secret: Some((&created.info.name, &created.token)), ..Shown::default() };
            render(&state, &ctx, StatusCode::CREATED, shown).await
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let shown = Shown { token_errors: Errors::from_problem(&e), token_name: &name, ..Shown::default() };
            render(&state, &ctx, e.status, shown).await
        }
        Err(e) => refused(&ctx.path("/profile"), &e),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path((org, token)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/profile#tokens");
    match api_revoke(State(state.clone()), form.viewer.caller, Path(token)).await {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("The token is revoked."))),
        Err(e) => refused(&back, &e),
    }
}

/// Sets (or, left empty, clears) the viewer's own time zone: the API's
/// delivery preferences carry it, so the channel choices and the number
/// for texts are sent back as they are.
pub async fn set_timezone(
    State(state): State<AppState>,
    Path(org): Path<Uuid>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let typed = fields.text("timezone");
    let current = get_preferences(State(state.clone()), viewer.caller.clone()).await?.0;
    let channels = current
        .channels
        .into_iter()
        .filter(|c| !c.essential)
        .map(|c| ChannelChoiceRequest { kind: c.kind, channel: c.channel, enabled: c.enabled })
        .collect();
    let request = PreferencesRequest { timezone: typed.clone(), phone: current.phone, channels };
    match put_preferences(State(state.clone()), viewer.caller.clone(), Json(request)).await {
        Ok(saved) => {
            let text = match saved.0.timezone {
                Some(zone) => format!("Times are now shown in {zone}."),
                None => "Times are now shown in the organisation’s zone.".to_owned(),
            };
            Ok(redirect_with(&format!("/orgs/{org}/profile#timezone"), Flash::ok(text)))
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let ctx = Ctx::load(&state, viewer, org).await?;
            let shown =
                Shown { zone_errors: Errors::from_problem(&e), zone_typed: typed.as_deref(), ..Shown::default() };
            render(&state, &ctx, e.status, shown).await
        }
        Err(e) => refused(&format!("/orgs/{org}/profile"), &e),
    }
}
