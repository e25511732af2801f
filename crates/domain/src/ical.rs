//! iCalendar (RFC 5545) for invitations (iMIP, RFC 6047/5546) and
//! subscription feeds, as pure text.
//!
//! Times are written in the session's own zone (`DTSTART;TZID=…`) with a
//! VTIMEZONE built from that zone's real transitions in jiff's time zone
//! database, so a calendar shows 18:00 for an 18:00 session on both sides of
//! a daylight-saving change, whatever zone the reader is in.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// Someone a calendar names: the organiser or an attendee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub email: String,
}

/// How an attendee stands with the event (RFC 5545 PARTSTAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStat {
    NeedsAction,
    Accepted,
    Declined,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub party: Party,
    pub partstat: PartStat,
    /// Leads the session (a therapist): `ROLE=CHAIR`.
    pub chair: bool,
}

/// RFC 5545 STATUS of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Tentative,
    Confirmed,
    Cancelled,
}

/// One session as a VEVENT.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stable across every message about the session.
    pub uid: String,
    /// Grows with every change, so calendars apply changes in order.
    pub sequence: i64,
    /// When this version of the event was written.
    pub stamp: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    pub zone: TimeZone,
    pub summary: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub url: Option<String>,
    pub status: EventStatus,
    pub organizer: Option<Party>,
    pub attendees: Vec<Attendee>,
}

/// A whole VCALENDAR.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// `REQUEST`/`CANCEL` for iMIP messages; `None` for a feed.
    pub method: Option<String>,
    /// The feed's name (`X-WR-CALNAME`).
    pub name: Option<String>,
    /// How often a subscriber should fetch the feed again.
    pub refresh: Option<SignedDuration>,
    pub events: Vec<Event>,
}

impl Calendar {
    /// The calendar as RFC 5545 text: CRLF line ends, lines folded at 75
    /// octets, one VTIMEZONE per zone the events use.
    pub fn to_ics(&self) -> String {
        let mut out = Lines::default();
        out.line("BEGIN:VCALENDAR");
        out.line("VERSION:2.0");
        out.line("PRODID:-//Circles//Circles scheduling//EN");
        out.line("CALSCALE:GREGORIAN");
        if let Some(method) = &self.method {
            out.line(&format!("METHOD:{method}"));
        }
        if let Some(name) = &self.name {
            out.line(&format!("X-WR-CALNAME:{}", escape(name)));
        }
        if let Some(refresh) = self.refresh {
            let duration = duration_text(refresh);
            out.line(&format!("REFRESH-INTERVAL;VALUE=DURATION:{duration}"));
            out.line(&format!("X-PUBLISHED-TTL:{duration}"));
        }
        for (name, (zone, from, to)) in self.zones() {
            write_timezone(&mut out, &name, &zone, from, to);
        }
        for event in &self.events {
            write_event(&mut out, event);
        }
        out.line("END:VCALENDAR");
        out.text
    }

    /// Each zone the events use, with the stretch of time they cover in it.
    fn zones(&self) -> BTreeMap<String, (TimeZone, Timestamp, Timestamp)> {
        let mut zones: BTreeMap<String, (TimeZone, Timestamp, Timestamp)> = BTreeMap::new();
        for event in &self.events {
            let name = zone_name(&event.zone);
            let entry = zones.entry(name).or_insert_with(|| (event.zone.clone(), event.start, event.end));
            entry.1 = entry.1.min(event.start);
            entry.2 = entry.2.max(event.end);
        }
        zones
    }
}

fn zone_name(zone: &TimeZone) -> String {
    zone.iana_name().unwrap_or("UTC").to_owned()
}

fn write_event(out: &mut Lines, event: &Event) {
    let tzid = zone_name(&event.zone);
    out.line("BEGIN:VEVENT");
    out.line(&format!("UID:{}", escape(&event.uid)));
    out.line(&format!("SEQUENCE:{}", event.sequence));
    out.line(&format!("DTSTAMP:{}", utc_text(event.stamp)));
    out.line(&format!("DTSTART;TZID={tzid}:{}", local_text(event.start, &event.zone)));
    out.line(&format!("DTEND;TZID={tzid}:{}", local_text(event.end, &event.zone)));
    out.line(&format!("SUMMARY:{}", escape(&event.summary)));
    if let Some(description) = &event.description {
        out.line(&format!("DESCRIPTION:{}", escape(description)));
    }
    if let Some(location) = &event.location {
        out.line(&format!("LOCATION:{}", escape(location)));
    }
    if let Some(url) = &event.url {
        out.line(&format!("URL:{url}"));
    }
    let status = match event.status {
        EventStatus::Tentative => "TENTATIVE",
        EventStatus::Confirmed => "CONFIRMED",
        EventStatus::Cancelled => "CANCELLED",
    };
    out.line(&format!("STATUS:{status}"));
    out.line("TRANSP:OPAQUE");
    if let Some(organizer) = &event.organizer {
        out.line(&format!("ORGANIZER;CN={}:mailto:{}", quoted(&organizer.name), organizer.email));
    }
    for attendee in &event.attendees {
        let partstat = match attendee.partstat {
            PartStat::NeedsAction => "NEEDS-ACTION",
            PartStat::Accepted => "ACCEPTED",
            PartStat::Declined => "DECLINED",
        };
        let role = if attendee.chair { "CHAIR" } else { "REQ-PARTICIPANT" };
        out.line(&format!(
            "ATTENDEE;CN={};ROLE={role};PARTSTAT={partstat};RSVP=FALSE:mailto:{}",
            quoted(&attendee.party.name),
            attendee.party.email
        ));
    }
    out.line("END:VEVENT");
}

/// A VTIMEZONE for `zone` that is right for `[from, to]`: the observance in
/// force at `from` and every transition up to `to`, each as the zone's
/// database has it. A zone without transitions gets one fixed observance.
fn write_timezone(out: &mut Lines, name: &str, zone: &TimeZone, from: Timestamp, to: Timestamp) {
    out.line("BEGIN:VTIMEZONE");
    out.line(&format!("TZID:{name}"));
    let in_force = zone.preceding(from).next();
    let later = zone.following(from).take_while(|t| t.timestamp() <= to);
    let transitions: Vec<_> = in_force.into_iter().chain(later).collect();
    if transitions.is_empty() {
        let offset = zone.to_offset(from);
        let info = zone.to_offset_info(from);
        let kind = if info.dst().is_dst() { "DAYLIGHT" } else { "STANDARD" };
        write_observance(out, kind, "19700101T000000", offset, offset, info.abbreviation());
    }
    for transition in transitions {
        let at = transition.timestamp();
        let before = zone.to_offset(at - SignedDuration::from_secs(1));
        let kind = if transition.dst().is_dst() { "DAYLIGHT" } else { "STANDARD" };
        // An observance starts at the local time the clocks showed just
        // before the change (RFC 5545 §3.6.5).
        let start = at.to_zoned(TimeZone::fixed(before)).datetime().strftime("%Y%m%dT%H%M%S").to_string();
        write_observance(out, kind, &start, before, transition.offset(), transition.abbreviation());
    }
    out.line("END:VTIMEZONE");
}

fn write_observance(out: &mut Lines, kind: &str, start: &str, from: Offset, to: Offset, abbreviation: &str) {
    out.line(&format!("BEGIN:{kind}"));
    out.line(&format!("DTSTART:{start}"));
    out.line(&format!("TZOFFSETFROM:{}", offset_text(from)));
    out.line(&format!("TZOFFSETTO:{}", offset_text(to)));
    if !abbreviation.is_empty() {
        out.line(&format!("TZNAME:{}", escape(abbreviation)));
    }
    out.line(&format!("END:{kind}"));
}

/// `+HHMM`, or `+HHMMSS` for the odd historical offset with seconds.
fn offset_text(offset: Offset) -> String {
    let total = offset.seconds();
    let sign = if total < 0 { '-' } else { '+' };
    let total = total.unsigned_abs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if seconds == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{seconds:02}")
    }
}

fn utc_text(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn local_text(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).datetime().strftime("%Y%m%dT%H%M%S").to_string()
}

/// `PT1H`-style text for a whole number of seconds.
fn duration_text(duration: SignedDuration) -> String {
    let secs = duration.as_secs().max(0);
    match (secs / 3600, secs / 60 % 60, secs % 60) {
        (h, 0, 0) => format!("PT{h}H"),
        (0, m, 0) => format!("PT{m}M"),
        _ => format!("PT{secs}S"),
    }
}

/// TEXT escaping (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value in double quotes, which may not contain one.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace(['"', '\r', '\n'], ""))
}

/// Content lines, folded at 75 octets without splitting a character.
#[derive(Default)]
struct Lines {
    text: String,
}

impl Lines {
    fn line(&mut self, line: &str) {
        let mut width = 0;
        for c in line.chars() {
            if width + c.len_utf8() > 75 {
                self.text.push_str("\r\n ");
                width = 1;
            }
            self.text.push(c);
            width += c.len_utf8();
        }
        let _ = write!(self.text, "\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn event(start: &str, zone: &str) -> Event {
        let start = at(start);
        Event {
            uid: "0190-session@circles".into(),
            sequence: 2,
            stamp: at("2027-03-01T12:00:00Z"),
            start,
            end: start + SignedDuration::from_mins(90),
            zone: TimeZone::get(zone).unwrap(),
            summary: "Group session".into(),
            description: Some("Bring: notebook, pen; and water".into()),
            location: None,
            url: None,
            status: EventStatus::Confirmed,
            organizer: Some(Party { name: "Riverside, Counselling".into(), email: "hello@riverside.example".into() }),
            attendees: vec![Attendee {
                party: Party { name: "Ana \"Ann\" Silva".into(), email: "ana@example.com".into() },
                partstat: PartStat::Accepted,
                chair: false,
            }],
        }
    }

    fn unfolded(ics: &str) -> Vec<String> {
        ics.replace("\r\n ", "").split("\r\n").map(str::to_owned).collect()
    }

    #[test]
    fn times_are_local_to_the_session_zone_with_its_real_transitions() {
        let cal = Calendar {
            method: Some("REQUEST".into()),
            events: vec![event("2027-03-18T18:00:00Z", "America/New_York")],
            ..Default::default()
        };
        let lines = unfolded(&cal.to_ics());
        assert!(lines.contains(&"METHOD:REQUEST".to_owned()));
        // 18:00 UTC on 18 March is 14:00 in New York, daylight time.
        assert!(lines.contains(&"DTSTART;TZID=America/New_York:20270318T140000".to_owned()), "{lines:#?}");
        assert!(lines.contains(&"DTEND;TZID=America/New_York:20270318T153000".to_owned()));
        // The observance in force: daylight time from 14 March 2027 at 02:00.
        let daylight = lines.iter().position(|l| l == "BEGIN:DAYLIGHT").expect("a DAYLIGHT observance");
        assert_eq!(lines[daylight + 1], "DTSTART:20270314T020000");
        assert_eq!(lines[daylight + 2], "TZOFFSETFROM:-0500");
        assert_eq!(lines[daylight + 3], "TZOFFSETTO:-0400");
        assert_eq!(lines[daylight + 4], "TZNAME:EDT");
    }

    #[test]
    fn a_calendar_spanning_a_change_lists_both_observances() {
        let cal = Calendar {
            events: vec![
                event("2027-10-28T13:00:00Z", "Europe/Berlin"),
                event("2027-11-04T14:00:00Z", "Europe/Berlin"),
            ],
            ..Default::default()
        };
        let lines = unfolded(&cal.to_ics());
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VTIMEZONE").count(), 1, "one VTIMEZONE per zone");
        assert!(lines.contains(&"DTSTART;TZID=Europe/Berlin:20271028T150000".to_owned()));
        assert!(lines.contains(&"DTSTART;TZID=Europe/Berlin:20271104T150000".to_owned()));
        let standard = lines.iter().position(|l| l == "BEGIN:STANDARD").expect("the autumn change");
        assert_eq!(lines[standard + 1], "DTSTART:20271031T030000");
        assert_eq!(lines[standard + 2], "TZOFFSETFROM:+0200");
        assert_eq!(lines[standard + 3], "TZOFFSETTO:+0100");
    }

    #[test]
    fn a_zone_without_changes_gets_one_fixed_observance() {
        let cal = Calendar { events: vec![event("2027-03-18T18:00:00Z", "UTC")], ..Default::default() };
        let lines = unfolded(&cal.to_ics());
        assert!(lines.contains(&"TZOFFSETFROM:+0000".to_owned()));
        assert!(lines.contains(&"DTSTART;TZID=UTC:20270318T180000".to_owned()));
    }

    #[test]
    fn text_is_escaped_and_parameters_quoted() {
        let cal = Calendar { events: vec![event("2027-03-18T18:00:00Z", "UTC")], ..Default::default() };
        let lines = unfolded(&cal.to_ics());
        assert!(lines.contains(&"DESCRIPTION:Bring: notebook\\, pen\\; and water".to_owned()));
        assert!(lines.contains(&"ORGANIZER;CN=\"Riverside, Counselling\":mailto:hello@riverside.example".to_owned()));
        assert!(
            lines.iter().any(|l| l.starts_with("ATTENDEE;CN=\"Ana Ann Silva\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED"))
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut e = event("2027-03-18T18:00:00Z", "UTC");
        e.summary = "Ééé ".repeat(40);
        let ics = Calendar { events: vec![e.clone()], ..Default::default() }.to_ics();
        assert!(ics.split("\r\n").all(|l| l.len() <= 75), "{ics}");
        assert!(unfolded(&ics).contains(&format!("SUMMARY:{}", e.summary)));
    }

    #[test]
    fn a_feed_says_how_often_to_refresh() {
        let cal = Calendar { refresh: Some(SignedDuration::from_hours(1)), ..Default::default() };
        let lines = unfolded(&cal.to_ics());
        assert!(lines.contains(&"REFRESH-INTERVAL;VALUE=DURATION:PT1H".to_owned()));
        assert!(lines.contains(&"X-PUBLISHED-TTL:PT1H".to_owned()));
        assert!(!lines.iter().any(|l| l.starts_with("METHOD")));
    }
}
