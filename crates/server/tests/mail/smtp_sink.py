"""A local SMTP server for the delivery tests: every message it accepts is
written to OUT_DIR as <arrival>.eml (names sort in order of arrival, across
restarts), with its envelope recipients in <arrival>.rcpt.

Usage: smtp_sink.py PORT OUT_DIR [--stall-first N] [--workers N]

--stall-first N: the first N messages are received whole, recorded, and then
never answered, as a server that hangs mid-conversation would.
--workers N: N processes accept on the one port (the kernel shares the
connections out), so a fast sender is not held back by one Python process;
for `circles bench delivery`. Each message is written once, never fsynced.
Prints READY once it listens.
"""

import asyncio
import ctypes
import os
import pathlib
import signal
import socket
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out_dir, stall_first):
        self.out_dir = pathlib.Path(out_dir)
        self.stall_first = stall_first
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = self.out_dir / f"{time.time_ns():020d}-{os.getpid()}-{self.count:04d}"
        stem.with_suffix(".rcpt").write_text("\n".join(envelope.rcpt_tos))
        # The .eml appears last and whole, so a reader never sees half of it.
        tmp = stem.with_suffix(".tmp")
        tmp.write_bytes(envelope.original_content)
        tmp.rename(stem.with_suffix(".eml"))
        if self.count <= self.stall_first:
            await asyncio.sleep(3600)
        return "250 OK"


def option(name, default=0):
    args = sys.argv[3:]
    return int(args[args.index(name) + 1]) if name in args else default


def worker(listener, out_dir, stall_first):
    """One of several processes serving the shared listening socket."""
    # Go down with the parent, however it ends (the tests kill -9 it).
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    handler = Sink(out_dir, stall_first)

    async def serve():
        loop = asyncio.get_running_loop()
        await loop.create_server(lambda: SMTP(handler, hostname="127.0.0.1"), sock=listener)
        await asyncio.Event().wait()

    asyncio.run(serve())


def main_workers(port, out_dir, stall_first, workers):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            worker(listener, out_dir, stall_first)
            os._exit(0)
        children.append(pid)
    print("READY", flush=True)
    try:
        sys.stdin.read()
    finally:
        for pid in children:
            os.kill(pid, signal.SIGKILL)


def main():
    port, out_dir = int(sys.argv[1]), sys.argv[2]
    stall_first, workers = option("--stall-first"), option("--workers", 1)
    if workers > 1:
        main_workers(port, out_dir, stall_first, workers)
        return
    controller = Controller(Sink(out_dir, stall_first), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
