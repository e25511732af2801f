//! A client's own attendance: each membership (current and past) with the
//! sessions offered, attended and missed, from `GET /me/memberships`.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::layout::page;
use super::viewer::{Ctx, Viewer};
use crate::http::extract::{Path, Query};
use crate::routes::my_groups::{OwnMembershipView, my_memberships};
use crate::routes::page::PageQuery;
use crate::state::AppState;

/// "2026-11-30" → "Mon 30 Nov".
fn civil_day(raw: &str) -> String {
    raw.parse().map(super::time::short_day).unwrap_or_else(|_| raw.to_owned())
}

/// A rate as a whole percentage, or a dash while nothing it counts was
/// marked (0% would read as "never came").
pub fn rate(rate: f64, marked: i64) -> String {
    if marked == 0 { "—".to_owned() } else { format!("{:.0}%", rate * 100.0) }
}

/// One membership's attendance; its rows add up to the sessions held.
pub fn membership_card(ctx: &Ctx, m: &OwnMembershipView) -> Markup {
    let s = &m.stats;
    html! {
        section.card aria-labelledby={"g-" (m.id)} {
            h2 #{"g-" (m.id)} { a href=(ctx.path(&format!("/groups/{}", m.group_id))) { (m.group_name) } }
            p.muted { (m.status.to_lowercase().replace('_', " ")) " · since " (civil_day(&m.join_date))
                @if let Some(left) = &m.leave_date { " until " (civil_day(left)) } }
            dl.facts {
                dt { "Sessions held while a member" } dd { (s.sessions_offered) }
                dt { "Attended" } dd { (s.attended) }
                dt { "Missed" } dd { (s.no_shows) }
                dt { "Cancelled late" } dd { (s.late_cancellations) }
                dt { "Not yet recorded" } dd { (s.unmarked) }
                dt { "Without a seat" } dd { (s.without_seat) }
                dt { "Attendance rate" } dd { (rate(s.attendance_rate, s.marked)) }
                dt { "Sessions in a row" } dd { (s.current_streak) }
            }
        }
    }
}

pub async fn show(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let all =
        my_memberships(State(state.clone()), ctx.viewer.caller.clone(), Query(PageQuery::longest())).await?.0.items;
    // This organisation's groups only; the switcher leads to the others.
    let mine: Vec<_> = all.iter().filter(|m| m.org_id == org).collect();
    let body = html! {
        h1 { "My attendance" }
        p.muted { "Rates count only sessions whose attendance was recorded; “—” until one is." }
        @if mine.is_empty() { p.empty { "You are not in any group here yet." } }
        @for m in &mine { (membership_card(&ctx, m)) }
    };
    Ok(page(&ctx, "My attendance", "My attendance", body))
}
