"""A webhook receiver for the tests: verifies every call with the
`standardwebhooks` package against each secret listed (one a line) in
DIR/secrets, records the call as DIR/NNNN.json, and answers 500 while
DIR/fail holds a number above zero (counting it down), 204 otherwise.

Usage: webhook_receiver.py PORT DIR   (prints READY when listening)"""

import http.server
import json
import os
import sys
import threading

from standardwebhooks.webhooks import Webhook

port, folder = int(sys.argv[1]), sys.argv[2]
# Calls arrive on many threads at once (several servers send together): one
# at a time may count the records and write the next, or two would share a
# number and one record would be lost.
record_lock = threading.Lock()


def read(name, default=""):
    try:
        with open(os.path.join(folder, name)) as f:
            return f.read()
    except FileNotFoundError:
        return default


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = []
        for secret in read("secrets").split():
            try:
                Webhook(secret).verify(body, headers)
                verified.append(True)
            except Exception:  # noqa: BLE001 - any failure means not verified
                verified.append(False)
        with record_lock:
            failing = int(read("fail", "0") or 0)
            if failing > 0:
                with open(os.path.join(folder, "fail"), "w") as f:
                    f.write(str(failing - 1))
            count = len([n for n in os.listdir(folder) if n.endswith(".json")])
            record = {
                "id": headers.get("webhook-id"),
                "signatures": headers.get("webhook-signature", "").split(" "),
                "verified": verified,
                "payload": json.loads(body),
                "answered": 500 if failing > 0 else 204,
            }
            with open(os.path.join(folder, f"{count:04}.json"), "w") as f:
                json.dump(record, f)
        self.send_response(record["answered"])
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
print("READY", flush=True)
server.serve_forever()
