//! A group's statistics over time for its staff: the attendance rate week
//! by week and each check-in's mean total session by session, each drawn
//! as a small chart (SVG written here, no script) with the same numbers in
//! a table beside it for screen readers and for reading exact values. The
//! numbers are the API's (`GET /groups/{id}/stats/over-time`).

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::layout::page;
use super::my_statistics::rate;
use super::viewer::{Ctx, Viewer};
use crate::http::extract::{Path, Query};
use crate::routes::group_statistics::{GroupOverTimeView, OverTimeQuery, QuestionnaireAveragesView, over_time};
use crate::state::AppState;

/// One point of a chart: its label on the axis and its value (a gap when none).
pub struct Point {
    pub label: String,
    pub value: Option<f64>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;

/// The smallest of 1, 2, 5 × a power of ten at or above `value`, so the
/// axis ends on a round number.
fn round_up(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|v| *v >= value).unwrap_or(10.0 * magnitude)
}

/// A line chart of `points` from 0 to `max` (rounded up to a round number
/// when `None`), lines broken where a value is missing; `label` formats a
/// value for the axis and each point's tooltip. `id` names its title for
/// assistive technology.
pub fn line_chart(id: &str, title: &str, points: &[Point], max: Option<f64>, label: impl Fn(f64) -> String) -> Markup {
    let top_value = max.unwrap_or_else(|| round_up(points.iter().filter_map(|p| p.value).fold(0.0, f64::max)));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if points.len() <= 1 { LEFT + plot_w / 2.0 } else { LEFT + plot_w * i as f64 / (points.len() - 1) as f64 }
    };
    let y = |v: f64| TOP + plot_h * (1.0 - (v / top_value).clamp(0.0, 1.0));
    // Runs of consecutive values become one line each.
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some(v) => runs.last_mut().expect("never empty").push((x(i), y(v))),
            None if !runs.last().expect("never empty").is_empty() => runs.push(Vec::new()),
            None => {}
        }
    }
    let polyline = |run: &[(f64, f64)]| run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let title_id = format!("{id}-title");
    html! {
        svg.chart viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-labelledby=(title_id) {
            title #(title_id) { (title) }
            @for step in 0..=2 {
                @let v = top_value * f64::from(step) / 2.0;
                line.grid x1=(LEFT) x2=(WIDTH - RIGHT) y1=(format!("{:.1}", y(v))) y2=(format!("{:.1}", y(v))) {}
                text.axis x=(LEFT - 6.0) y=(format!("{:.1}", y(v) + 4.0)) text-anchor="end" { (label(v)) }
            }
            @for run in runs.iter().filter(|r| r.len() > 1) {
                polyline.series points=(polyline(run)) {}
            }
            @for (i, p) in points.iter().enumerate() {
                @if let Some(v) = p.value {
                    circle.point cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(v))) r="4" {
                        title { (p.label) ": " (label(v)) }
                    }
                }
            }
            @if let (Some(first), Some(last)) = (points.first(), points.last()) {
                text.axis x=(LEFT) y=(HEIGHT - 10.0) text-anchor="start" { (first.label) }
                @if points.len() > 1 {
                    text.axis x=(WIDTH - RIGHT) y=(HEIGHT - 10.0) text-anchor="end" { (last.label) }
                }
            }
        }
    }
}

fn attendance(view: &GroupOverTimeView) -> Markup {
    let points: Vec<Point> =
        view.weeks.iter().map(|w| Point { label: w.week_label.clone(), value: w.attendance_rate }).collect();
    html! {
        section.card aria-labelledby="attendance" {
            h2 #attendance { "Attendance rate by week" }
            (line_chart("attendance-chart", "Attendance rate by week", &points, Some(1.0), |v| format!("{:.0}%", v * 100.0)))
            div.table-wrap { table {
                caption { "Attendance by week (weeks start on Monday, " (view.timezone) ")" }
                thead { tr {
                    th scope="col" { "Week" } th scope="col" { "Sessions held" } th scope="col" { "Average attendance" }
                    th scope="col" { "Attendance rate" } th scope="col" { "Not yet recorded" }
                } }
                tbody { @for w in &view.weeks { tr {
                    th scope="row" { (w.week_label) }
                    td { (w.sessions_held) }
                    td { @if w.sessions_held > 0 { (format!("{:.1}", w.average_attendance)) } @else { "—" } }
                    td { (rate(w.attendance_rate.unwrap_or(0.0), w.marked)) }
                    td { (w.unmarked) }
                } } }
            } }
        }
    }
}

fn questionnaire(i: usize, q: &QuestionnaireAveragesView) -> Markup {
    let points: Vec<Point> =
        q.sessions.iter().map(|s| Point { label: s.starts_at_local.clone(), value: s.mean_total }).collect();
    let heading = format!("{}: mean total by session", q.questionnaire_title);
    let id = format!("check-in-{i}");
    html! {
        section.card aria-labelledby=(id) {
            h2 #(id) { (heading) }
            p.muted { (if q.higher_is_better { "Higher is better." } else { "Lower is better." } ) }
            (line_chart(&format!("{id}-chart"), &heading, &points, None, |v| format!("{v:.1}")))
            div.table-wrap { table {
                caption { (q.questionnaire_title) " by session" }
                thead { tr { th scope="col" { "Session" } th scope="col" { "Answers" } th scope="col" { "Mean total" } } }
                tbody { @for s in &q.sessions { tr {
                    th scope="row" { (s.session_title) ", " (s.starts_at_local) }
                    td { (s.answered) }
                    td { @match s.mean_total { Some(m) => (format!("{m:.2}")), None => "—" } }
                } } }
            } }
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, group)): Path<(Uuid, Uuid)>,
    Query(query): Query<OverTimeQuery>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let view = over_time(State(state.clone()), ctx.member.clone(), Path((org, group)), Query(query)).await?.0;
    let title = format!("{} over time", view.group_name);
    let body = html! {
        p { a href=(ctx.path(&format!("/groups/{}", view.group_id))) { "Back to " (view.group_name) } }
        h1 { (title) }
        form.inline method="get" action=(ctx.path(&format!("/groups/{}/statistics", view.group_id))) {
            label for="from" { "From" } " " input #from type="date" name="from" value=(view.from) {}
            " " label for="to" { "To" } " " input #to type="date" name="to" value=(view.to) {}
            " " button type="submit" { "Show" }
        }
        p.muted { "Rates count only seats whose attendance was recorded; “—” until one is. Check-in averages add up totals only, never written answers." }
        (attendance(&view))
        @if view.check_ins.is_empty() { p.empty { "No check-in was answered in these weeks." } }
        @for (i, q) in view.check_ins.iter().enumerate() { (questionnaire(i, q)) }
    };
    Ok(page(&ctx, &title, "Groups", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(round_up(0.0), 1.0);
        assert_eq!(round_up(7.4), 10.0);
        assert_eq!(round_up(13.0), 20.0);
        assert_eq!(round_up(27.0), 50.0);
        assert_eq!(round_up(2.0), 2.0);
    }

    #[test]
    fn a_missing_value_breaks_the_line_and_every_value_has_a_tooltip() {
        let p = |label: &str, value| Point { label: label.into(), value };
        let points = [p("a", Some(0.5)), p("b", Some(1.0)), p("c", None), p("d", Some(0.25)), p("e", Some(0.75))];
        let svg = line_chart("t", "Rates", &points, Some(1.0), |v| format!("{:.0}%", v * 100.0)).into_string();
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains("<title>d: 25%</title>"), "{svg}");
        assert!(svg.contains("aria-labelledby=\"t-title\"") && svg.contains("<title id=\"t-title\">Rates</title>"));
    }
}
