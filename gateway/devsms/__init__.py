"""A development SMS console (``/dev/sms``): text 8088 as any phone and read the replies, without Twilio.

Registered only outside production (``Settings.production``: ``PAKN_ENV=production``);
``make run`` runs in development. A typed text is not stored directly: it is signed with
Twilio's ``RequestValidator`` and POSTed to the real ``/sms/inbound`` webhook, so it takes
exactly the path a real text takes (signature check, parsing, intake, the worker's reply).
The webhook's token is ``TWILIO_AUTH_TOKEN`` or, when unset outside production,
:func:`development_token` (derived from ``SECRET_KEY``; never accepted in production).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from config.settings import Settings
from gateway.constants import VN_TZ, Channel
from gateway.models import InboundMessage, OutboundMessage
from gateway.services import services, session
from normalizer import bounds
from normalizer.phone import to_e164

bp = Blueprint("devsms", __name__)
DEFAULT_PHONE = "0912345678"
THREAD_LIMIT = 50
WEBHOOK_PATH = "/sms/inbound"


def development_token(settings: Settings) -> str | None:
    """The webhook's signing token when TWILIO_AUTH_TOKEN is unset outside production; None in production."""
    if settings.production:
        return None
    return hmac.new(settings.secret_key.encode(), b"pakn-dev-sms-console", hashlib.sha256).hexdigest()


def webhook_token(settings: Settings) -> str | None:
    """The token the SMS webhooks check signatures with (None: every request is refused)."""
    return settings.twilio_auth_token or development_token(settings)


@dataclass(frozen=True)
class Line:
    """One message of the thread, either way."""

    at: datetime
    incoming: bool  # True: the phone texted 8088
    body: str
    state: str

    def as_json(self) -> dict[str, Any]:
        """For the page's polling."""
        return {"at": self.at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S"), "incoming": self.incoming,
                "body": self.body, "state": self.state}


def thread(db: Session, *, phone: str) -> list[Line]:
    """The texts from ``phone`` (E.164) and 8088's replies to it, oldest first."""
    import json

    inbound = db.exec(select(InboundMessage).where(InboundMessage.channel == Channel.sms,
                                                   InboundMessage.sender == phone)
                      .order_by(col(InboundMessage.id).desc()).limit(THREAD_LIMIT)).all()
    outbound = db.exec(select(OutboundMessage).where(OutboundMessage.channel == Channel.sms,
                                                     OutboundMessage.recipient == phone)
                       .order_by(col(OutboundMessage.id).desc()).limit(THREAD_LIMIT)).all()
    lines = [Line(m.received_at, True, str(json.loads(m.payload).get("fields", {}).get("body", "")),
                  "đã nhận" if m.accepted else f"bị từ chối: {m.error or ''}") for m in inbound]
    states = {"pending": "đang gửi", "sent": "đã gửi", "delivered": "đã đến máy", "failed": "gửi lỗi",
              "suppressed": "không gửi (số đã HUY)"}
    lines += [Line(m.created_at, False, m.body, states.get(m.status.value, m.status.value)) for m in outbound]
    return sorted(lines, key=lambda line: line.at)[-THREAD_LIMIT:]


def post_to_webhook(settings: Settings, *, phone: str, body: str) -> int:
    """Sign a Twilio-style inbound request and POST it to the real webhook; its HTTP status."""
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": settings.twilio_account_sid or "ACdevconsole",
              "From": phone, "To": settings.sms_short_code, "Body": body, "NumSegments": "1",
              "SmsStatus": "received", "ApiVersion": "2010-04-01"}
    token = webhook_token(settings)
    assert token is not None
    signature = RequestValidator(token).compute_signature(settings.public_base_url + WEBHOOK_PATH, params)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():  # a fresh context: the webhook gets its own DB session, as a real request would
        response = app.test_client().post(WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": signature})
    return int(response.status_code)


def _phone_arg(value: str) -> tuple[str, str | None]:
    typed = bounds.strip_forbidden(value.strip())[:32] or DEFAULT_PHONE
    return typed, to_e164(typed)


@bp.route("/", methods=["GET", "POST"])
def console() -> Any:
    """Type a text as a phone number; see the thread with 8088's replies (they appear by themselves)."""
    settings = services().settings
    if request.method == "POST":
        typed, phone = _phone_arg(request.form.get("phone", ""))
        body = request.form.get("body", "")
        if phone is None:
            return _page(typed, None, error="Số điện thoại không hợp lệ (ví dụ 0912 345 678).", body=body), 400
        if not body.strip() or bounds.check_text(body, max_len=bounds.MAX_SMS_BODY):
            return _page(typed, phone, error="Nhập nội dung tin nhắn (tối đa "
                         f"{bounds.MAX_SMS_BODY} ký tự, không có ký tự điều khiển).", body=body), 400
        status = post_to_webhook(settings, phone=phone, body=body)
        if status != 200:
            return _page(typed, phone, error=f"Webhook /sms/inbound trả lời HTTP {status}.", body=body), 502
        flash(f"Đã gửi tới {settings.sms_short_code} qua webhook có chữ ký; trả lời hiện bên dưới khi worker xử lý.",
              "success")
        return redirect(url_for("devsms.console", phone=typed), code=303)
    typed, phone = _phone_arg(request.args.get("phone", ""))
    return _page(typed, phone)


def _page(typed: str, phone: str | None, *, error: str | None = None, body: str = "") -> str:
    settings = services().settings
    lines = thread(session(), phone=phone) if phone else []
    return render_template("dev/sms.html", typed=typed, phone=phone, lines=lines, error=error, body=body,
                           short_code=settings.sms_short_code, outbox=settings.sms_outbox_dir,
                           twilio=bool(settings.twilio_account_sid and settings.twilio_auth_token), tz=VN_TZ)


@bp.get("/thread.json")
def thread_json() -> Any:
    """The thread, polled by the console."""
    _typed, phone = _phone_arg(request.args.get("phone", ""))
    response = jsonify(lines=[line.as_json() for line in thread(session(), phone=phone)] if phone else [])
    response.headers["Cache-Control"] = "no-store"
    return response
