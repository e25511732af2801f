"""Parses one iCalendar document (a subscription feed) with the `icalendar`
package and prints its events as JSON. Usage: inspect_ics.py FILE.ics"""

import json
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from inspect_mail import calendar  # noqa: E402

with open(sys.argv[1], "rb") as f:
    print(json.dumps(calendar(f.read())))
