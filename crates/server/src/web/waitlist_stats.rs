//! The waitlist's statistics for staff: how long waiting takes to end in a
//! place, how offers are answered, and how many freed seats the waitlist
//! refilled and how fast — for the organisation, per group and per
//! therapist. The numbers are the API's (`GET /waitlist/stats`); the page
//! only puts them in a table with names.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::layout::page;
use super::viewer::{Ctx, Viewer};
use crate::http::extract::Path;
use crate::routes::waitlist::stats as api_stats;
use crate::routes::waitlist_views::{CountsView, NamedCountsView};
use crate::state::AppState;

/// A mean duration in words: "45 s", "12 min", "3 h 5 min", "2 days 4 h";
/// a dash while nothing was measured.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(seconds) = seconds else { return "—".to_owned() };
    let s = seconds.max(0.0).round() as i64;
    let (days, hours, minutes) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match () {
        _ if s < 60 => format!("{s} s"),
        _ if s < 3600 => format!("{minutes} min"),
        _ if days == 0 => {
            if minutes == 0 {
                format!("{hours} h")
            } else {
                format!("{hours} h {minutes} min")
            }
        }
        _ => {
            let unit = if days == 1 { "day" } else { "days" };
            if hours == 0 { format!("{days} {unit}") } else { format!("{days} {unit} {hours} h") }
        }
    }
}

/// `part` of `whole` as a whole percentage, or a dash when there is no whole.
pub fn share(part: i64, whole: i64) -> String {
    if whole <= 0 { "—".to_owned() } else { format!("{:.0}%", part as f64 * 100.0 / whole as f64) }
}

fn header(first: &str) -> Markup {
    html! {
        thead { tr {
            th scope="col" { (first) }
            th scope="col" { "Waiting" }
            th scope="col" { "Matched" }
            th scope="col" { "Mean time to match" }
            th scope="col" { "Offers sent" }
            th scope="col" { "Accepted" }
            th scope="col" { "Declined" }
            th scope="col" { "Expired" }
            th scope="col" { "Freed seats" }
            th scope="col" { "Refilled" }
            th scope="col" { "Mean time to refill" }
        } }
    }
}

fn row(name: &str, c: &CountsView) -> Markup {
    html! {
        tr {
            th scope="row" { (name) }
            td { (c.waiting) }
            td { (c.matched) }
            td { (duration(c.mean_seconds_to_match)) }
            td { (c.offers_sent) }
            td { (c.offers_accepted) }
            td { (c.offers_declined) }
            td { (c.offers_expired) }
            td { (c.freed) }
            td { (c.refilled) " (" (share(c.refilled, c.freed)) ")" }
            td { (duration(c.mean_seconds_to_refill)) }
        }
    }
}

fn table(id: &str, caption: &str, first: &str, rows: &[NamedCountsView]) -> Markup {
    html! {
        @if rows.is_empty() { p.empty { "Nothing yet." } }
        @else {
            div.table-wrap {
                table #(id) {
                    caption.muted { (caption) }
                    (header(first))
                    tbody { @for r in rows { (row(&r.name, &r.counts)) } }
                }
            }
        }
    }
}

/// `GET /orgs/{org}/waitlist/stats` (staff).
pub async fn show(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let stats = api_stats(State(state.clone()), ctx.member.clone()).await?.0;
    let body = html! {
        h1 { "Waitlist statistics" }
        p { a href=(ctx.path("/waitlist")) { "Back to the waitlist board" } }
        p.muted { "Time to match runs from joining the waitlist to taking a place; time to refill from a seat \
                   freeing to someone on the waitlist taking it. A dash means nothing was measured yet." }
        h2 { "The whole organisation" }
        div.table-wrap {
            table #stats-org {
                caption.muted { "All groups and therapists together" }
                (header("Organisation"))
                tbody { (row(&ctx.member.org.name, &stats.organisation)) }
            }
        }
        h2 { "Per group" }
        (table("stats-groups", "Seats and places in each group", "Group", &stats.groups))
        h2 { "Per therapist" }
        (table("stats-therapists", "One-on-one slots and the sessions each therapist runs", "Therapist", &stats.therapists))
    };
    Ok(page(&ctx, "Waitlist statistics", "Waitlist", body))
}

#[cfg(test)]
mod tests {
    use super::{duration, share};

    #[test]
    fn durations_read_in_the_largest_sensible_units() {
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(42.4)), "42 s");
        assert_eq!(duration(Some(12.0 * 60.0 + 5.0)), "12 min");
        assert_eq!(duration(Some(3.0 * 3600.0)), "3 h");
        assert_eq!(duration(Some(3.0 * 3600.0 + 5.0 * 60.0)), "3 h 5 min");
        assert_eq!(duration(Some(86_400.0)), "1 day");
        assert_eq!(duration(Some(2.0 * 86_400.0 + 4.0 * 3600.0)), "2 days 4 h");
    }

    #[test]
    fn a_share_of_nothing_is_a_dash() {
        assert_eq!(share(0, 0), "—");
        assert_eq!(share(1, 3), "33%");
        assert_eq!(share(4, 4), "100%");
    }
}
