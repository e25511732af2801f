//! Rendering: whatever people type is text on the page, never markup.

use axum::body::to_bytes;
use axum::response::Response;
use circles_domain::Role;
use circles_domain::ids::{AccountId, OrgId, PersonId, TokenId};
use circles_store::model::{AuditCtx, Organisation, Principal, TokenKind};
use jiff::Timestamp;
use uuid::Uuid;

use super::layout::page;
use super::schedule::{slot, week_markup};
use super::viewer::{Ctx, Flash, Viewer};
use crate::auth::{Caller, Member, RequestMeta};
use crate::routes::schedule::ScheduleEntryView;

const HOSTILE: &str = "<script>alert('x')</script>";

fn ctx(role: Role, flash: Option<Flash>) -> Ctx {
    let org = Organisation {
        id: OrgId(Uuid::nil()),
        name: format!("Clinic {HOSTILE}"),
        timezone: "America/New_York".into(),
        created_at: Timestamp::UNIX_EPOCH,
    };
    let principal = Principal {
        account_id: AccountId(Uuid::nil()),
        token_id: TokenId(Uuid::nil()),
        token_kind: TokenKind::Session,
        expires_at: None,
    };
    let caller = Caller { principal, meta: RequestMeta { request_id: None, ip: None } };
    let viewer = Viewer::for_tests(caller, flash);
    let member = Member { org, person_id: PersonId(Uuid::nil()), role, ctx: AuditCtx::default() };
    Ctx {
        viewer,
        member,
        memberships: Vec::new(),
        unread: 3,
        tz: super::time::zone("America/New_York"),
        zone: "America/New_York".into(),
        own_zone: false,
        name: format!("Dr. {HOSTILE}"),
    }
}

fn entry(title: &str, status: &str) -> ScheduleEntryView {
    let starts_at: Timestamp = "2026-12-10T23:00:00Z".parse().unwrap();
    ScheduleEntryView {
        session_id: Uuid::nil(),
        org_id: Uuid::nil(),
        person_id: Uuid::nil(),
        person_name: "Sam Okafor".into(),
        kind: "group".into(),
        status: status.into(),
        title: title.into(),
        starts_at,
        ends_at: "2026-12-11T00:30:00Z".parse().unwrap(),
        timezone: "America/New_York".into(),
        starts_at_local: String::new(),
        ends_at_local: String::new(),
        modality: "VIRTUAL".into(),
        location: None,
        address: None,
        virtual_link: None,
        group_id: None,
        group_name: None,
        with_name: None,
        therapists: Vec::new(),
        role: "client".into(),
        participation: "REGISTERED".into(),
        seats_taken: 5,
        capacity: 8,
    }
}

async fn body(response: Response) -> String {
    String::from_utf8(to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
}

#[test]
fn a_session_titled_like_a_script_is_shown_as_text() {
    let ctx = ctx(Role::Client, None);
    let html = slot(&ctx, &entry(HOSTILE, "SCHEDULED"), true, &Default::default()).into_string();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"), "{html}");
    // In the viewer's zone with its abbreviation, seats out of capacity.
    assert!(html.contains("Thu 10 Dec, 18:00–19:30 EST"), "{html}");
    assert!(html.contains("5/8 seats"), "{html}");
}

#[test]
fn a_cancelled_session_is_marked_in_the_week() {
    let ctx = ctx(Role::Client, None);
    let monday = "2026-12-07".parse().unwrap();
    let html =
        week_markup(&ctx, &[entry("Sleep and mood", "CANCELLED")], &Default::default(), monday, monday).into_string();
    assert!(html.contains(r#"class="slot group cancelled""#), "{html}");
    assert!(html.contains(">cancelled<"), "{html}");
    assert!(html.contains("Thu 10 Dec"), "{html}");
}

#[tokio::test]
async fn names_and_messages_in_the_frame_are_escaped_and_only_our_script_loads() {
    let ctx = ctx(Role::Admin, Some(Flash::error(HOSTILE)));
    let html = body(page(&ctx, HOSTILE, "Home", maud::html! { p { (HOSTILE) } })).await;
    assert_eq!(html.matches("<script").count(), 2, "only the first-party files: {html}");
    assert!(html.contains(r#"<script src="/assets/site-"#), "{html}");
    assert!(html.contains(r#"<script src="/assets/live-"#), "{html}");
    assert_eq!(html.matches("<script src=\"/assets/").count(), 2, "both from our assets: {html}");
    assert_eq!(html.matches("&lt;script&gt;").count(), 5, "title, org, name, message and body: {html}");
    assert!(!html.contains(" style="), "no inline style: the policy forbids it");
}

fn membership(stats: circles_domain::attendance::MemberStats) -> crate::routes::my_groups::OwnMembershipView {
    crate::routes::my_groups::OwnMembershipView {
        id: Uuid::nil(),
        org_id: Uuid::nil(),
        organisation: "Clinic".into(),
        group_id: Uuid::nil(),
        group_name: "Wednesday Grief Group".into(),
        status: "ACTIVE".into(),
        join_date: "2026-11-02".into(),
        leave_date: None,
        exit_reason: None,
        stats,
    }
}

/// The text of each `dt` with its `dd`, in order.
fn facts(html: &str) -> Vec<(String, String)> {
    html.split("<dt>")
        .skip(1)
        .map(|part| {
            let (term, rest) = part.split_once("</dt><dd>").unwrap();
            let value = rest.split_once("</dd>").unwrap().0;
            (term.to_owned(), value.to_owned())
        })
        .collect()
}

#[test]
fn a_session_held_without_a_seat_is_counted_and_no_rate_is_shown_before_a_mark() {
    use circles_domain::attendance::{Offered, member_stats};
    let ctx = ctx(Role::Client, None);
    let html =
        super::my_statistics::membership_card(&ctx, &membership(member_stats(&[Offered { seat: None }]))).into_string();
    let facts = facts(&html);
    let value = |term: &str| facts.iter().find(|(t, _)| t == term).map(|(_, v)| v.as_str()).unwrap();
    assert_eq!(value("Sessions held while a member"), "1");
    assert_eq!(value("Without a seat"), "1");
    assert_eq!(value("Attendance rate"), "—", "nothing was marked: {html}");
    let counted: i64 = ["Attended", "Missed", "Cancelled late", "Not yet recorded", "Without a seat"]
        .iter()
        .map(|term| value(term).parse::<i64>().unwrap())
        .sum();
    assert_eq!(counted, 1, "the rows add up to the sessions held: {html}");
}

#[test]
fn a_member_s_rate_counts_the_marked_sessions() {
    use circles_domain::attendance::{Offered, member_stats};
    use circles_domain::session::SeatStatus::{Attended, NoShow};
    let ctx = ctx(Role::Client, None);
    let history = [Some(Attended), Some(NoShow), None, Some(Attended), Some(Attended)].map(|seat| Offered { seat });
    let html = super::my_statistics::membership_card(&ctx, &membership(member_stats(&history))).into_string();
    assert!(html.contains("<dt>Attendance rate</dt><dd>75%</dd>"), "{html}");
}

#[test]
fn group_rates_show_a_dash_until_a_seat_is_marked() {
    use circles_domain::attendance::{HeldSession, group_stats};
    use circles_domain::session::SeatStatus::{Attended, NoShow, Registered};
    let view = |held: &[HeldSession]| crate::routes::roster::GroupStatsView {
        stats: group_stats(held),
        members_by_status: Default::default(),
    };
    let unmarked = super::groups::stats_facts(&view(&[HeldSession { seats: vec![Registered] }])).into_string();
    assert!(unmarked.contains("<dt>Attendance rate</dt><dd>—</dd>"), "{unmarked}");
    assert!(unmarked.contains("<dt>No-show rate</dt><dd>—</dd>"), "{unmarked}");
    let marked = super::groups::stats_facts(&view(&[HeldSession { seats: vec![Attended, NoShow] }])).into_string();
    assert!(marked.contains("<dt>Attendance rate</dt><dd>50%</dd>"), "{marked}");
    assert!(marked.contains("<dt>No-show rate</dt><dd>50%</dd>"), "{marked}");
}

#[test]
fn window_rows_are_labelled_and_an_error_sits_by_the_row_the_api_numbered() {
    use super::form::Errors;
    use super::group_form::{WindowRow, window_fields};
    let row = |day: &str, start: &str, end: &str| WindowRow { day: day.into(), start: start.into(), end: end.into() };
    let rows = [row("wednesday", "18:00", "20:00"), row("", "", ""), row("friday", "11:00", "10:00")];
    // The API counts filled rows only: its second window is the form's third row.
    let refused =
        crate::http::error::ApiError::field("settings.allowed_time_windows[1].end_time", "must be after start_time");
    let html = window_fields(&ctx(Role::Moderator, None), &rows, &Errors::from_problem(&refused)).into_string();
    assert_eq!(html.matches("<fieldset class=\"window\"><legend>Window ").count(), 3, "{html}");
    for part in ["day", "start", "end"] {
        assert_eq!(
            html.matches(&format!(r#"<label for="f-win-0-{part}">"#)).count(),
            1,
            "every input is labelled: {html}"
        );
    }
    assert!(html.contains(r#"<span class="error" id="f-win-2-end-error">"#), "{html}");
    assert!(!html.contains("f-win-1-end-error"), "the empty row has no error: {html}");
    assert!(html.contains(r#"<option value="friday" selected>Friday</option>"#), "{html}");
    assert!(html.contains("Times are in America/New_York."), "{html}");
}
