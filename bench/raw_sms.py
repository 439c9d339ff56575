"""The ceiling experiment: the SMS webhook's least possible work, as a raw WSGI app (not product code).

Checks the Twilio signature and writes the text with the intake's own one-statement SQL
(``gateway.fastwrite``'s ``INSERT_CASE_LOCKED`` or ``INSERT_COMMAND``) on a raw psycopg
connection: no Flask, no SQLAlchemy, none of the view's other checks (well-formed fields,
phone normalization, the thread of a free text). ``bench/webhook.py --app
bench.raw_sms:app`` runs it in place of ours, under the same gunicorn settings, against
the same bare Flask baseline: how close to the baseline any Python handler that does
the webhook's one durable write can come on this machine.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from twilio.request_validator import RequestValidator

from gateway.constants import WORK_CHANNEL
from gateway.fastwrite.statements import INSERT_CASE_LOCKED, INSERT_COMMAND

URL = os.environ.get("PUBLIC_BASE_URL", "") + "/sms/inbound"
VALIDATOR = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", ""))
TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response />'
_connection: list[psycopg.Connection[Any]] = []  # one per gunicorn worker, opened on first use


def _db() -> psycopg.Connection[Any]:
    if not _connection:
        url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
        _connection.append(psycopg.connect(url, autocommit=True, prepare_threshold=0))
    return _connection[0]


def _params(form: dict[str, str], remote_addr: str | None) -> tuple[str, dict[str, Any]]:
    body, sender, now = form.get("Body", "").strip(), form.get("From", ""), datetime.now(UTC)
    payload = json.dumps({"fields": form, "files": []}, ensure_ascii=False)
    common = dict(channel="sms", external_id=form.get("MessageSid"), remote_addr=remote_addr, payload=payload,
                  sender=sender, notify_channel=WORK_CHANNEL)
    if not body.upper().startswith("PA "):
        return INSERT_COMMAND, dict(common, received_at=now, command=body[:10].upper(), work="sms")
    text = body[3:].strip()
    return INSERT_CASE_LOCKED, dict(
        common, receipt=secrets.token_urlsafe(16), status="received", full_name="", name_key="", email=None,
        phone=sender, address="", title=text[:60], content=text, created_at=now, updated_at=now, created_by=None,
        field_hint=None, publish_consent=None, command="PA", actor="sms", event_kind="status", work="case",
        lock_key=sender)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """POST /sms/inbound: signature, one statement, empty TwiML; anything else answers 200 (readiness)."""
    if environ["PATH_INFO"] != "/sms/inbound" or environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    form = dict(parse_qsl(environ["wsgi.input"].read(length).decode(), keep_blank_values=True))
    expected = VALIDATOR.compute_signature(URL, form)
    if not hmac.compare_digest(expected, environ.get("HTTP_X_TWILIO_SIGNATURE", "")):
        start_response("403 Forbidden", [("Content-Length", "0")])
        return [b""]
    sql, params = _params(form, environ.get("REMOTE_ADDR"))
    _db().execute(sql, params).fetchone()
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(TWIML)))])
    return [TWIML]
