"""Twilio webhooks for the short code: inbound texts and delivery status callbacks."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, abort, request
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from channels import sms
from gateway import delivery
from gateway.intake import receive_sms
from gateway.queue import deliver_pending
from gateway.services import services, session
from normalizer.phone import to_e164

bp = Blueprint("sms", __name__)
log = logging.getLogger(__name__)


def _signed_url() -> str:
    """The URL Twilio called, as configured publicly (TLS proxies, ports, prefixes)."""
    query = request.query_string.decode("latin-1")
    return services().settings.public_base_url + request.path + (f"?{query}" if query else "")


def _verify() -> None:
    """403 unless X-Twilio-Signature matches (nothing is stored or processed)."""
    token = services().settings.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    if not token:
        log.error("SMS webhook refused: TWILIO_AUTH_TOKEN is not set")
        abort(403)
    if not signature or not RequestValidator(token).validate(_signed_url(), request.form, signature, algorithm):
        log.warning("SMS webhook refused: bad or missing X-Twilio-Signature from %s for %s",
                    request.remote_addr, _signed_url())
        abort(403)


def _twiml() -> Response:
    return Response(str(MessagingResponse()), mimetype="text/xml")


@bp.post("/inbound")
def inbound() -> Any:
    """A text to 8088: verify → parse → store (case or command) → enqueue → empty TwiML."""
    _verify()
    if not request.form.get("MessageSid") or not request.form.get("From"):
        abort(400)
    message = sms.parse_inbound(request.form, remote_addr=request.remote_addr)
    raw_from = str(request.form["From"]).strip()[:20]
    message = replace(message, sender=to_e164(raw_from) or raw_from)
    receive_sms(session(), message=message, queue=services().queue, locks=services().redis)
    return _twiml()


@bp.post("/status")
def status() -> Any:
    """Twilio's delivery status callback for a message we sent."""
    _verify()
    sid, state = request.form.get("MessageSid", ""), request.form.get("MessageStatus", "")
    if not sid or not state:
        abort(400)
    fallbacks = delivery.record_provider_status(session(), provider_id=sid, status=state,
                                                error_code=request.form.get("ErrorCode"))
    deliver_pending(services().queue, services().settings, fallbacks)
    return "", 204
