//! The page frame: header with the organisation switcher and unread count,
//! navigation for the viewer's role, the carried-over message, and main.

use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use circles_domain::Role;
use maud::{DOCTYPE, Markup, html};

use super::assets::{LIVE_SCRIPT_PATH, SCRIPT_PATH, STYLE_PATH};
use super::form::token_input;
use super::viewer::{Ctx, FLASH_COOKIE};

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Circles" }
            link rel="stylesheet" href=(STYLE_PATH);
            script src=(SCRIPT_PATH) defer {}
            script src=(LIVE_SCRIPT_PATH) defer {}
        }
    }
}

/// A page outside any organisation (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                header.top { div.brand { a href="/" { "Circles" } } }
                main #main { (body) }
            }
        }
    }
}

/// What each role finds in the navigation; everyone has the first three.
fn links(ctx: &Ctx) -> Vec<(String, &'static str)> {
    let mut links = vec![(ctx.path(""), "Home"), (ctx.path("/schedule"), "Schedule")];
    match ctx.role() {
        Role::Client => {
            links.push((ctx.path("/join"), "Join a session"));
            links.push((ctx.path("/my-groups"), "My groups"));
            links.push((ctx.path("/my-attendance"), "My attendance"));
            links.push((ctx.path("/waitlist"), "Waitlist"));
        }
        Role::Therapist => {
            links.push((ctx.path("/invitations"), "Invitations"));
            links.push((ctx.path("/hours"), "Working hours"));
            links.push((ctx.path("/time-off"), "Time off"));
        }
        Role::Moderator => {
            links.push((ctx.path("/groups"), "Groups"));
            links.push((ctx.path("/waitlist"), "Waitlist"));
        }
        Role::Admin => {
            links.push((ctx.path("/groups"), "Groups"));
            links.push((ctx.path("/waitlist"), "Waitlist"));
            links.push((ctx.path("/people"), "People"));
            links.push((ctx.path("/time-off"), "Time off"));
            links.push((ctx.path("/audit"), "Audit log"));
            links.push((ctx.path("/deliveries"), "Messages sent"));
            links.push((ctx.path("/settings"), "Settings"));
        }
    }
    links
}

/// A page inside the viewer's organisation, never cached (it shows client data).
pub fn page(ctx: &Ctx, title: &str, current: &str, body: Markup) -> Response {
    page_with_status(ctx, StatusCode::OK, title, current, body)
}

pub fn page_with_status(ctx: &Ctx, status: StatusCode, title: &str, current: &str, body: Markup) -> Response {
    let unread_label = match ctx.unread {
        0 => "Notifications, none unread".to_owned(),
        n if n as u64 >= super::viewer::UNREAD_COUNTED => "Notifications, 99+ unread".to_owned(),
        n => format!("Notifications, {n} unread"),
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    div.brand { a href=(ctx.path("")) { "Circles" } span.org { (ctx.member.org.name) } }
                    div.who {
                        a.inbox href=(ctx.path("/notifications")) aria-label=(unread_label)
                            data-unread-from=(format!("/api/v1/orgs/{}/notifications?unread=true&limit=100", ctx.member.org_id().0)) {
                            "Notifications"
                            @if ctx.unread > 0 { span.badge aria-hidden="true" { (ctx.unread.min(99)) } }
                        }
                        a href=(ctx.path("/profile")) { (ctx.name) }
                        form.inline method="post" action="/signout" {
                            (token_input(&ctx.viewer, "/signout"))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                nav.main aria-label="Main" {
                    ul {
                        @for (href, label) in links(ctx) {
                            li { a href=(href) aria-current=[(label == current).then_some("page")] { (label) } }
                        }
                    }
                    @if ctx.memberships.len() > 1 {
                        form.switcher method="get" action="/switch" {
                            label for="switch-org" { "Organisation" }
                            select #switch-org name="org" {
                                @for m in &ctx.memberships {
                                    option value=(m.org.id.0) selected[m.org.id == ctx.member.org_id()] {
                                        (m.org.name) " (" (m.role.as_str()) ")"
                                    }
                                }
                            }
                            button type="submit" { "Switch" }
                        }
                    }
                }
                main #main {
                    @if let Some(flash) = &ctx.viewer.flash {
                        p.notice.ok[flash.ok].error[!flash.ok] role=(if flash.ok { "status" } else { "alert" }) {
                            (flash.text)
                        }
                    }
                    (body)
                }
                footer.bottom { p { "Times in " (ctx.zone) "." } }
            }
        }
    };
    let mut response = (status, Html(markup)).into_response();
    if ctx.viewer.flash.is_some() {
        let clear = format!("{FLASH_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        response.headers_mut().append(SET_COOKIE, clear.parse().expect("ascii"));
    }
    response
}

/// Markup as an HTML response.
pub struct Html(pub Markup);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        ([(CONTENT_TYPE, "text/html; charset=utf-8")], self.0.into_string()).into_response()
    }
}
