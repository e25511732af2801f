"""Reads one e-mail with Python's MIME parser and every calendar in it with
the `icalendar` package, and prints what the tests check as JSON.

Usage: inspect_mail.py FILE.eml
"""

import datetime
import email
import email.policy
import json
import sys

import icalendar


def structure(part):
    if part.is_multipart():
        return {"type": part.get_content_type(), "parts": [structure(p) for p in part.iter_parts()]}
    return {
        "type": part.get_content_type(),
        "method": part.get_param("method"),
        "filename": part.get_filename(),
    }


def utc(value):
    dt = value.dt
    assert isinstance(dt, datetime.datetime) and dt.tzinfo is not None, f"not an instant with a zone: {value!r}"
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def attendees(event):
    found = event.get("ATTENDEE")
    if found is None:
        return []
    return [str(a) for a in (found if isinstance(found, list) else [found])]


def calendar(text):
    cal = icalendar.Calendar.from_ical(text)
    events = []
    for event in cal.walk("VEVENT"):
        start = event.get("DTSTART")
        events.append({
            "uid": str(event.get("UID")),
            "sequence": int(event.get("SEQUENCE", 0)),
            "status": str(event.get("STATUS")),
            "start": utc(start),
            "end": utc(event.get("DTEND")),
            "tzid": start.params.get("TZID"),
            "local_start": start.dt.strftime("%Y-%m-%d %H:%M"),
            "summary": str(event.get("SUMMARY")),
            "organizer": str(event.get("ORGANIZER")),
            "attendees": attendees(event),
        })
    return {
        "method": str(cal.get("METHOD")) if cal.get("METHOD") else None,
        "timezones": [str(tz.get("TZID")) for tz in cal.walk("VTIMEZONE")],
        "events": events,
    }


def main():
    with open(sys.argv[1], "rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.default)
    calendars = []
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            calendars.append({"type": part.get_content_type(), **calendar(part.get_content())})
    text = message.get_body(preferencelist=("plain",))
    print(json.dumps({
        "message_id": message["Message-ID"],
        "from": message["From"],
        "to": message["To"],
        "subject": message["Subject"],
        "list_unsubscribe": message["List-Unsubscribe"],
        "list_unsubscribe_post": message["List-Unsubscribe-Post"],
        "structure": structure(message),
        "text": text.get_content() if text else None,
        "calendars": calendars,
    }))


if __name__ == "__main__":
    main()
