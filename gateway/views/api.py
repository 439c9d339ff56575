"""JSON API for integrations: ``X-Api-Key`` instead of captcha and CSRF."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint, abort, jsonify, request, url_for

from channels import web
from gateway import lookup, messages, ratelimit
from gateway.cases import by_receipt
from gateway.constants import STATUS_LABELS_VI, CaseStatus, Channel
from gateway.intake import submit
from gateway.models import Case
from gateway.services import read_session, services, session
from normalizer import bounds
from normalizer.record import FIELDS

bp = Blueprint("api", __name__)
MAX_IDEMPOTENCY_KEY = 64


def _error(status: int, message: str, **extra: Any) -> Any:
    return jsonify(error=status, message=message, **extra), status


def _key_id() -> str:
    """A short stable id of the caller's key (never the key itself)."""
    return hashlib.sha256(request.headers.get("X-Api-Key", "").encode()).hexdigest()[:8]


@bp.before_request
def _authenticate() -> Any:
    keys = services().settings.api_keys
    if not keys:
        return _error(403, "The API is closed: set API_KEYS to open it.")
    given = request.headers.get("X-Api-Key", "")
    if not any(hmac.compare_digest(given.encode(), key.encode()) for key in keys):
        return _error(401, "Missing or wrong X-Api-Key header.")
    if not ratelimit.hit(services().redis, scope="api", who=_key_id(), limit=services().settings.api_limit):
        body, status = _error(429, "Too many requests for this key; slow down.")
        body.headers["Retry-After"] = str(services().settings.api_limit[1])
        return body, status
    return None


def _receipt_body(case: Case) -> dict[str, Any]:
    status = CaseStatus(case.status)
    return {
        "receipt": case.receipt,
        "status": status.value,
        "status_label": STATUS_LABELS_VI[status],
        "code": case.code,
        "receipt_url": url_for("api.receipt", receipt=case.receipt, _external=False),
    }


def _fields() -> dict[str, Any]:
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # "[[[[…": nested deeper than the parser goes
            body = None
        if not isinstance(body, dict):
            abort(400)
        return body
    return request.form.to_dict()


def _unstorable(fields: dict[str, Any]) -> dict[str, list[str]]:
    """Fields carrying NUL, other controls or lone surrogates (a JSON "\\ud800"): refused before storage."""
    return {name: [messages.field_error(name, "control_chars")] for name in FIELDS
            if isinstance(fields.get(name), str) and bounds.has_forbidden(fields[name])}


@bp.post("/reports")
def create_report() -> Any:
    """Submit a PAKN (JSON or multipart) → 202 with its receipt."""
    settings = services().settings
    idempotency = request.headers.get("Idempotency-Key", "").strip()
    if idempotency and bounds.check_identifier(idempotency, max_len=MAX_IDEMPOTENCY_KEY) is not None:
        return _error(400, f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters "
                           "without spaces.")
    fields = _fields()
    if unstorable := _unstorable(fields):
        return _error(400, messages.text("errors", "form_has_errors"), fields=unstorable)
    files = web.read_files(request.files.getlist("attachments"), settings.max_file_bytes)
    message = web.parse(fields, files, channel=Channel.api, remote_addr=request.remote_addr,
                        external_id=f"{_key_id()}:{idempotency}" if idempotency else None)
    outcome = submit(session(), message=message, settings=settings, storage=services().storage)
    if outcome.errors or outcome.case is None:
        return _error(400, messages.text("errors", "form_has_errors"), fields=outcome.errors)
    body = {**_receipt_body(outcome.case), "duplicate": outcome.duplicate}
    return jsonify(body), 200 if outcome.duplicate else 202


@bp.get("/receipts/<receipt>")
def receipt(receipt: str) -> Any:
    """Status of a submission, and its code once the worker assigned it."""
    case = by_receipt(session(), receipt=receipt)
    if case is None:
        return _error(404, "No such receipt.")
    return jsonify(_receipt_body(case))


@bp.get("/cases/<code>")
def case_view(code: str) -> Any:
    """The public status view of a case (code + sender's name)."""
    db = read_session()  # reads only: no BEGIN/ROLLBACK round trips
    result = lookup.find(db, code_text=code, name=request.args.get("name", ""))
    if result.case is None:
        status = 404 if result.outcome is lookup.Outcome.not_found else 400
        return _error(status, messages.text("errors", result.outcome.value), reason=result.outcome.value)
    return jsonify(lookup.public_view(db, case=result.case))
