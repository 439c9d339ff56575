"""``/open311/v2/``: discovery, services, requests, tokens (``.json`` and ``.xml``)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlmodel import col, select
from werkzeug.exceptions import HTTPException

from channels.base import InboundMessage as Received
from gateway import codes, open311, ratelimit
from gateway.constants import VN_TZ, CaseStatus, Channel, EventKind
from gateway.exceptions import CodeError
from gateway.fields import is_field
from gateway.intake import submit
from gateway.models import Case, Event, utcnow
from gateway.services import services, session
from normalizer import bounds

bp = Blueprint("open311", __name__)
FORMATS = {"json": "application/json", "xml": "text/xml"}
MAX_RESULTS = 1000  # GET requests: the spec's default cap
DEFAULT_WINDOW = timedelta(days=90)


# --- responses ------------------------------------------------------------------------------

def _render(fmt: str, data: Any, root: str, item: str | None, status: int = 200) -> Any:
    if fmt == "xml":
        return Response(open311.to_xml(root, item, data), content_type="text/xml; charset=utf-8"), status
    return jsonify(data), status


def error(fmt: str, status: int, description: str) -> Any:
    """The spec's error list: ``[{"code", "description"}]`` / ``<errors><error>…``."""
    return _render(fmt, [{"code": status, "description": description}], "errors", "error", status)


def error_for_path(path: str, status: int, description: str) -> Any:
    """An error in the format the URL asked for (used by the app's error handlers too)."""
    return error("xml" if path.endswith(".xml") else "json", status, description)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    return error_for_path(request.path, exc.code or 500, exc.description or exc.name)


def _format(fmt: str) -> str | None:
    return fmt if fmt in FORMATS else None


def _unknown_format() -> Any:
    return error("json", 404, "Unknown format: use .json or .xml")


# --- keys -------------------------------------------------------------------------------------

def _given_key() -> str:
    return (request.form.get("api_key") or request.args.get("api_key") or request.headers.get("X-Api-Key", "")).strip()


def _check_key(fmt: str) -> Any:
    keys = services().settings.api_keys
    if not keys:
        return error(fmt, 403, "Open311 requests are closed: set API_KEYS to open them.")
    given = _given_key()
    if not any(hmac.compare_digest(given.encode(), key.encode()) for key in keys):
        return error(fmt, 401, "Missing or wrong api_key.")
    key_id = hashlib.sha256(given.encode()).hexdigest()[:8]
    if not ratelimit.hit(services().redis, scope="api", who=key_id, limit=services().settings.api_limit):
        response = error(fmt, 429, "Too many requests for this key; slow down.")
        return response
    return None


def _key_id() -> str:
    return hashlib.sha256(_given_key().encode()).hexdigest()[:8]


# --- discovery and services -----------------------------------------------------------------

@bp.get("/discovery.<fmt>")
def discovery(fmt: str) -> Any:
    """Where the endpoint is, and what it speaks."""
    if not _format(fmt):
        return _unknown_format()
    base = services().settings.public_base_url
    data = {
        "changeset": open311.CHANGESET,
        "contact": f"Văn phòng điều phối PAKN – đường dây nóng {services().settings.hotline_number}",
        "key_service": f"{base}/api/openapi.json",
        "endpoints": [{"specification": open311.SPEC_URL, "url": f"{base}/open311/v2",
                       "changeset": open311.CHANGESET, "type": "production",
                       "formats": list(FORMATS.values())}],
    }
    return _render(fmt, data, "discovery", None)


@bp.get("/services.<fmt>")
def service_list(fmt: str) -> Any:
    """The fields of PAKN as Open311 services."""
    if not _format(fmt):
        return _unknown_format()
    return _render(fmt, open311.services(), "services", "service")


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str) -> Any:
    """No extra attributes are asked for (``metadata`` is false for every service)."""
    if not _format(fmt):
        return _unknown_format()
    if not is_field(code):
        return error(fmt, 404, f"No service {code!r}.")
    return _render(fmt, {"service_code": code, "attributes": []}, "service_definition", None)


# --- filing --------------------------------------------------------------------------------

def _attribute(name: str) -> str:
    return (request.form.get(f"attribute[{name}]") or "").strip()


def _fields() -> tuple[dict[str, object], str | None]:
    """Our record's fields from an Open311 POST (FixMyStreet's attributes first)."""
    form = request.form
    description = (_attribute("description") or form.get("description", "")).strip()
    title = _attribute("title") or description.split("\n", 1)[0][:200].strip()
    lat, lon = form.get("lat", "").strip(), form.get("long", "").strip()
    address = (form.get("address_string") or _attribute("closest_address") or "").strip()
    if not address and lat and lon:
        address = f"Vị trí {lat}, {lon}"
    extra = []
    if lat and lon:
        extra.append(f"Vị trí: {lat}, {lon}")
    if form.get("media_url"):
        extra.append(f"Ảnh: {form.get('media_url', '').strip()}")
    if _attribute("report_url"):
        extra.append(f"Nguồn: {_attribute('report_url')}")
    content = description + ("\n\n" + "\n".join(extra) if extra and description else "")
    name = " ".join(p for p in (form.get("last_name", "").strip(), form.get("first_name", "").strip()) if p)
    fields: dict[str, object] = {"full_name": name, "email": form.get("email", "").strip(),
                                 "phone": form.get("phone", "").strip(), "address": address, "title": title,
                                 "content": content}
    external = _attribute("fixmystreet_id") or _attribute("external_id") or None
    return {k: v for k, v in fields.items() if v}, external


@bp.post("/requests.<fmt>")
def create_request(fmt: str) -> Any:
    """File a PAKN; the answer is a token (the code comes from the worker within seconds)."""
    if not _format(fmt):
        return _unknown_format()
    refused = _check_key(fmt)
    if refused is not None:
        return refused
    service_code = request.form.get("service_code", "").strip()
    if not is_field(service_code):
        return error(fmt, 400, f"service_code: one of the codes of services.{fmt}")
    fields, external = _fields()
    if external and bounds.check_identifier(external, max_len=bounds.MAX_MESSAGE_SID):
        return error(fmt, 400, f"attribute[external_id]: 1 to {bounds.MAX_MESSAGE_SID} printable ASCII characters "
                               "without spaces")
    message = Received(channel=Channel.open311, fields=fields, remote_addr=request.remote_addr,
                       external_id=f"{_key_id()}:{external}"[:100] if external else None)
    outcome = submit(session(), message=message, settings=services().settings, storage=services().storage,
                     field_hint=service_code)
    if outcome.errors or outcome.case is None:
        names = {"full_name": "first_name/last_name", "address": "address_string or lat/long",
                 "title": "description", "content": "description"}
        description = "; ".join(f"{names.get(k, k)}: {' '.join(v)}" for k, v in outcome.errors.items())
        return error(fmt, 400, description)
    case = outcome.case
    entry: dict[str, Any] = {"token": case.receipt, "service_notice": "Đã nhận, đang cấp mã PAKN",
                             "account_id": None}
    if case.code:
        entry["service_request_id"] = case.code
    return _render(fmt, [entry], "service_requests", "request", 200 if outcome.duplicate else 201)


@bp.get("/tokens/<token>.<fmt>")
def token(token: str, fmt: str) -> Any:
    """The PAKN code behind a token, once the worker assigned it."""
    if not _format(fmt):
        return _unknown_format()
    case = session().exec(select(Case).where(Case.receipt == token, Case.channel == Channel.open311)).first() \
        if bounds.is_token(token, max_len=bounds.MAX_RECEIPT) else None
    if case is None:
        return error(fmt, 404, "No such token.")
    return _render(fmt, [{"token": token, "service_request_id": case.code}], "service_requests", "request")


# --- following ------------------------------------------------------------------------------

def _parse_time(name: str) -> datetime | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: a W3C datetime such as 2026-11-01T00:00:00+07:00") from None
    return value if value.tzinfo else value.replace(tzinfo=VN_TZ)


def _window() -> tuple[datetime, datetime]:
    start, end = _parse_time("start_date"), _parse_time("end_date")
    end = end or utcnow()
    start = start or end - DEFAULT_WINDOW
    if start > end:
        raise ValueError("start_date is after end_date")
    return start, end


def _code(raw: str) -> str | None:
    try:
        return str(codes.parse(raw))
    except CodeError:
        return None


@bp.get("/requests/<request_id>.<fmt>")
def one_request(request_id: str, fmt: str) -> Any:
    """One service request by its id (the PAKN code, any accepted spelling)."""
    if not _format(fmt):
        return _unknown_format()
    code = _code(request_id)
    case = session().exec(select(Case).where(Case.code == code)).first() if code else None
    if case is None:
        return error(fmt, 404, "No such service request.")
    return _render(fmt, [open311.request_view(session(), case)], "service_requests", "request")


@bp.get("/requests.<fmt>")
def request_list(fmt: str) -> Any:
    """Service requests by ids, or by date range (default: the last 90 days), status and service."""
    if not _format(fmt):
        return _unknown_format()
    query = select(Case).where(col(Case.code).is_not(None))
    ids = [c for c in (_code(i) for i in request.args.get("service_request_id", "").split(",") if i.strip()) if c]
    if request.args.get("service_request_id", "").strip():
        query = query.where(col(Case.code).in_(ids))
    else:
        try:
            start, end = _window()
        except ValueError as exc:
            return error(fmt, 400, str(exc))
        query = query.where(col(Case.created_at) >= start, col(Case.created_at) <= end)
        wanted = {s.strip() for s in request.args.get("status", "").split(",") if s.strip()}
        if wanted - {"open", "closed"}:
            return error(fmt, 400, "status: open, closed or open,closed")
        if wanted == {"closed"}:
            query = query.where(col(Case.status).in_(open311.CLOSED))
        elif wanted == {"open"}:
            query = query.where(col(Case.status).not_in(open311.CLOSED))
        codes_wanted = [s.strip() for s in request.args.get("service_code", "").split(",") if s.strip()]
        if codes_wanted:
            query = query.where(col(Case.field).in_(codes_wanted) | col(Case.field_hint).in_(codes_wanted))
    rows = session().exec(query.order_by(col(Case.created_at).desc()).limit(MAX_RESULTS)).all()
    return _render(fmt, [open311.request_view(session(), c) for c in rows], "service_requests", "request")


@bp.get("/servicerequestupdates.<fmt>")
def request_updates(fmt: str) -> Any:
    """FixMyStreet's extension: status changes in a date range (default: the last day)."""
    if not _format(fmt):
        return _unknown_format()
    try:
        end = _parse_time("end_date") or utcnow()
        start = _parse_time("start_date") or end - timedelta(days=1)
    except ValueError as exc:
        return error(fmt, 400, str(exc))
    rows = session().exec(
        select(Event, Case).join(Case, col(Case.id) == col(Event.case_id))
        .where(Event.kind == EventKind.status, col(Event.to_status).is_not(None),
               col(Event.to_status) != CaseStatus.received, col(Case.code).is_not(None),
               col(Event.at) >= start, col(Event.at) <= end)
        .order_by(col(Event.at), col(Event.id)).limit(MAX_RESULTS)).all()
    updates = [open311.update_view(event, case) for event, case in rows]
    return _render(fmt, updates, "service_request_updates", "request_update")
