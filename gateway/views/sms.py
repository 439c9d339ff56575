"""Twilio webhooks for the short code: inbound texts and delivery status callbacks."""

from __future__ import annotations

import hmac
import logging
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, abort, request
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from channels import sms
from gateway import delivery
from gateway.devsms import webhook_token
from gateway.intake import receive_sms
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
    token = webhook_token(services().settings)  # TWILIO_AUTH_TOKEN; outside production, the dev console's
    signature = request.headers.get("X-Twilio-Signature", "")
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    if not token:
        log.error("SMS webhook refused: TWILIO_AUTH_TOKEN is not set (production)")
        abort(403)
    if not signature or not _signature_ok(token, _signed_url(), signature, algorithm):
        log.warning("SMS webhook refused: bad or missing X-Twilio-Signature from %s for %s",
                    request.remote_addr, _signed_url())
        abort(403)


def _signature_ok(token: str, url: str, signature: str, algorithm: str) -> bool:
    """Twilio's check, the common case first: one HMAC over the URL as configured.

    ``RequestValidator.validate`` always computes two (the URL with and without its
    port); it still decides when the first guess fails, and whenever the URL carries
    ``bodySHA256`` (a JSON body, whose hash it checks too).
    """
    validator = RequestValidator(token)
    if "bodySHA256" not in request.args:
        try:
            expected = validator.compute_signature(url, request.form, algorithm)
        except ValueError:  # an algorithm Twilio's library does not know: validate() logs and refuses
            expected = ""
        if expected and hmac.compare_digest(expected, signature):
            return True
    return bool(validator.validate(url, request.form, signature, algorithm))


def _well_formed(params: dict[str, tuple[bool, str, int]]) -> None:
    """400 when a signed request's fields are missing, too long or carry control characters."""
    problem = sms.webhook_problem(request.form, params)
    if problem is not None:
        log.warning("SMS webhook refused (400) from %s: %s", request.remote_addr, problem)
        abort(400)


EMPTY_TWIML = str(MessagingResponse())  # built once: the answer to every inbound text


def _twiml() -> Response:
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.post("/inbound")
def inbound() -> Any:
    """A text to 8088: verify → parse → store (case or command) → enqueue → empty TwiML."""
    _verify()
    _well_formed(sms.INBOUND_PARAMS)
    message = sms.parse_inbound(request.form, remote_addr=request.remote_addr)
    raw_from = str(request.form["From"]).strip()[:20]
    message = replace(message, sender=to_e164(raw_from) or raw_from)
    receive_sms(session(), message=message)
    return _twiml()


@bp.post("/status")
def status() -> Any:
    """Twilio's delivery status callback for a message we sent."""
    _verify()
    _well_formed(sms.STATUS_PARAMS)
    sid, state = request.form.get("MessageSid", ""), request.form.get("MessageStatus", "")
    delivery.record_provider_status(session(), provider_id=sid, status=state, error_code=request.form.get("ErrorCode"))
    return "", 204
