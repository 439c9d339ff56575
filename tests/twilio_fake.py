"""A local HTTP server speaking the subset of Twilio's Messages API that we use.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json (form-encoded To, From, Body,
StatusCallback; HTTP basic auth AccountSid:AuthToken) answers 201 with a Message
resource like Twilio's, or the errors queued with :meth:`TwilioFake.fail_next`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from normalizer.text import is_gsm7, segments

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-token-" + "9" * 14


@dataclass
class SentSms:
    """One message the fake accepted."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    created: datetime

    def resource(self) -> dict[str, Any]:
        """The Message resource as Twilio's API returns it."""
        stamp = format_datetime(self.created)
        return {
            "sid": self.sid, "account_sid": ACCOUNT_SID, "to": self.to, "from": self.from_, "body": self.body,
            "status": "queued", "num_segments": str(self.segments), "direction": "outbound-api",
            "date_created": stamp, "date_updated": stamp, "date_sent": None, "error_code": None,
            "error_message": None, "price": None, "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{self.sid}.json",
        }

    @property
    def encoding(self) -> str:
        return "GSM-7" if is_gsm7(self.body) else "UCS-2"

    @property
    def segments(self) -> int:
        return segments(self.body)


class TwilioFake:
    """Start with :meth:`start`; inspect :attr:`sent`; script failures with :meth:`fail_next`."""

    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self.requests = 0
        self._failures: list[tuple[int, int, str]] = []
        self._delays: list[float] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, code: int = 0, message: str = "scripted failure", times: int = 1) -> None:
        """Answer the next ``times`` requests with an error like Twilio's."""
        with self._lock:
            self._failures.extend([(status, code, message)] * times)

    def delay_next(self, seconds: float) -> None:
        """Accept the next message at once but answer only after ``seconds``."""
        with self._lock:
            self._delays.append(seconds)

    def listing(self, query: dict[str, str]) -> dict[str, Any]:
        """GET Messages.json: newest first, filtered by To and From."""
        with self._lock:
            found = [m for m in reversed(self.sent)
                     if m.to == query.get("To", m.to) and m.from_ == query.get("From", m.from_)]
        size = int(query.get("PageSize", 50))
        return {"messages": [m.resource() for m in found[:size]], "page": 0, "page_size": size,
                "next_page_uri": None, "previous_page_uri": None, "first_page_uri": None,
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"}

    def to(self, phone: str) -> list[SentSms]:
        """Messages sent to ``phone``."""
        return [m for m in self.sent if m.to == phone]

    def _answer(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            if self._failures:
                status, code, message = self._failures.pop(0)
                return status, {"code": code, "message": message, "status": status,
                                "more_info": f"https://www.twilio.com/docs/errors/{code}"}
            sms = SentSms("SM" + uuid.uuid4().hex, form.get("To", ""), form.get("From", ""), form.get("Body", ""),
                          form.get("StatusCallback"), datetime.now(UTC).replace(microsecond=0))
            self.sent.append(sms)
            delay = self._delays.pop(0) if self._delays else 0.0
        if delay:
            time.sleep(delay)
        return 201, sms.resource()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                if self.headers.get("Authorization") == auth:
                    return True
                self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return False

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if not self._authorized():
                    return
                if url.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                    self._reply(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                self._reply(200, fake.listing({k: v[0] for k, v in parse_qs(url.query).items()}))

            def do_POST(self) -> None:
                expected = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
                auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
                if self.headers.get("Authorization") != auth:
                    self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                elif self.path != expected:
                    self._reply(404, {"code": 20404, "message": "not found", "status": 404})
                else:
                    self._reply(*fake._answer(form))

        return Handler
