"""A local SMTP server for the delivery tests: every message it accepts is
written to OUT_DIR as <arrival>.eml (names sort in order of arrival, across
restarts), with its envelope recipients in <arrival>.rcpt.

Usage: smtp_sink.py PORT OUT_DIR [--stall-first N]

--stall-first N: the first N messages are received whole, recorded, and then
never answered, as a server that hangs mid-conversation would.
Prints READY once it listens.
"""

import asyncio
import pathlib
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out_dir, stall_first):
        self.out_dir = pathlib.Path(out_dir)
        self.stall_first = stall_first
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = self.out_dir / f"{time.time_ns():020d}-{self.count:04d}"
        stem.with_suffix(".rcpt").write_text("\n".join(envelope.rcpt_tos))
        # The .eml appears last and whole, so a reader never sees half of it.
        tmp = stem.with_suffix(".tmp")
        tmp.write_bytes(envelope.original_content)
        tmp.rename(stem.with_suffix(".eml"))
        if self.count <= self.stall_first:
            await asyncio.sleep(3600)
        return "250 OK"


def main():
    port, out_dir = int(sys.argv[1]), sys.argv[2]
    stall_first = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--stall-first" else 0
    controller = Controller(Sink(out_dir, stall_first), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
