"""A real SMTP server for the tests (aiosmtpd), keeping what it receives; an HTTP view of it.

`make test` runs it as the `mail` service of the test rig (tests/compose.yml) on the stack's back
network, where web sends to it (EMAIL_URL=smtp://mail:1025). The tests read the messages over
HTTP on a port published on 127.0.0.1:

    GET    /messages   every message received, oldest first: [{"to", "from", "subject", "body"}]
    DELETE /messages   forget them
"""

import email
import email.policy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

received: list[dict[str, Any]] = []
lock = threading.Lock()


class Keep:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        with lock:
            received.append(
                {
                    "to": list(envelope.rcpt_tos),
                    "from": envelope.mail_from,
                    "subject": str(message["subject"]),
                    "body": body.get_content() if body is not None else "",
                    "received": time.time(),
                }
            )
        return "250 Message accepted for delivery"


class View(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/health":
            self.answer(200, {"status": "ok"})
        elif self.path.rstrip("/") == "/messages":
            with lock:
                self.answer(200, list(received))
        else:
            self.answer(404, {"error": "not found"})

    def do_DELETE(self) -> None:
        with lock:
            received.clear()
        self.answer(200, [])

    def answer(self, status: int, data: Any) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


if __name__ == "__main__":
    smtp = Controller(Keep(), hostname="0.0.0.0", port=1025)
    smtp.start()
    print("mail catcher: SMTP on :1025, HTTP on :8025", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8025), View).serve_forever()
