"""Parses one iCalendar document (a subscription feed) with the `icalendar`
package and prints its events as JSON, with the feed's refresh properties.
Each event's start is also resolved through the document's own VTIMEZONE
(not the parser's zone database), so a wrong VTIMEZONE shows up as a
different instant. Usage: inspect_ics.py FILE.ics"""

import datetime
import json
import sys

import icalendar

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from inspect_mail import calendar  # noqa: E402

with open(sys.argv[1], "rb") as f:
    text = f.read()

found = calendar(text)
cal = icalendar.Calendar.from_ical(text)
zones = {str(tz.get("TZID")): tz.to_tz(lookup_tzid=False) for tz in cal.walk("VTIMEZONE")}
for event, parsed in zip(cal.walk("VEVENT"), found["events"]):
    start = event.get("DTSTART")
    local = start.dt.replace(tzinfo=None)
    by_vtimezone = local.replace(tzinfo=zones[start.params["TZID"]])
    parsed["start_by_vtimezone"] = by_vtimezone.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    parsed["location"] = str(event.get("LOCATION")) if event.get("LOCATION") else None
found["refresh_interval"] = cal.get("REFRESH-INTERVAL") and cal["REFRESH-INTERVAL"].to_ical().decode()
found["published_ttl"] = str(cal.get("X-PUBLISHED-TTL")) if cal.get("X-PUBLISHED-TTL") else None
print(json.dumps(found))
