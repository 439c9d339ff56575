"""Citizen web pages: submit, receipt, lookup (Vietnamese)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for

from channels import web
from gateway import captcha, cases, lookup, messages, ratelimit, routing
from gateway.cases import by_receipt
from gateway.constants import STATUS_LABELS_VI, CaseStatus, EventKind
from gateway.intake import submit as submit_case
from gateway.models import utcnow
from gateway.queue import PROCESS_CASE, enqueue_once
from gateway.services import services, session
from normalizer.record import FIELDS
from normalizer.text import clean_block

bp = Blueprint("citizen", __name__)


def _client() -> str:
    return request.remote_addr or "unknown"


def _form(values: dict[str, Any], errors: dict[str, list[str]], status: int = 200, notice: str | None = None) -> Any:
    settings = services().settings
    token = captcha.new_token(settings.secret_key) if settings.captcha else None
    page = render_template(
        "submit.html", values=values, errors=errors, fields=FIELDS, label=messages.label,
        captcha_token=token, notice=notice, max_files=settings.max_files,
        max_file_mb=settings.max_file_bytes // (1024 * 1024),
    )
    return page, status


def _limited(scope: str, limit: tuple[int, int]) -> None:
    if not ratelimit.hit(services().redis, scope=scope, who=_client(), limit=limit):
        minutes = max(1, limit[1] // 60)
        abort(429, description=messages.text("errors", "rate_limited", minutes=minutes), retry_after=limit[1])


@bp.get("/")
def index() -> Any:
    """Home: where to send and where to look up."""
    return render_template("index.html")


@bp.route("/submit", methods=["GET", "POST"])
def submit() -> Any:
    """The PAKN form: verify → parse → normalize → persist → enqueue → respond."""
    if request.method == "GET":
        return _form({}, {})
    settings = services().settings
    _limited("submit", settings.submit_limit)
    values = {name: request.form.get(name, "") for name in FIELDS}
    if settings.captcha and not captcha.verify(
        settings.secret_key, request.form.get("captcha_token", ""), request.form.get("captcha", ""), services().redis
    ):
        return _form(values, {"captcha": [messages.text("errors", "captcha")]}, 400)
    files = web.read_files(request.files.getlist("attachments"), settings.max_file_bytes)
    message = web.parse(request.form, files, remote_addr=_client())
    outcome = submit_case(session(), message=message, settings=settings, storage=services().storage,
                          queue=services().queue)
    if outcome.errors or outcome.case is None:
        return _form(values, outcome.errors, 400, notice=messages.text("errors", "form_has_errors"))
    return redirect(url_for("citizen.receipt", token=outcome.case.receipt), code=303)


def resubmit_after_csrf() -> Any:
    """Expired or missing CSRF token on the form: show it again with what was typed."""
    values = {name: request.form.get(name, "") for name in FIELDS}
    return _form(values, {}, 400, notice=messages.text("errors", "csrf"))


def _receipt_state(token: str) -> dict[str, Any]:
    case = by_receipt(session(), receipt=token)
    if case is None:
        abort(404)
    status = CaseStatus(case.status)
    return {"status": status.value, "label": STATUS_LABELS_VI[status], "code": case.code, "title": case.title}


@bp.get("/receipt/<token>")
def receipt(token: str) -> Any:
    """Receipt page; the code appears by itself once the worker assigns it."""
    state = _receipt_state(token)
    return render_template("receipt.html", state=state, token=token)


@bp.get("/receipt/<token>/status.json")
def receipt_status(token: str) -> Any:
    """Polled by the receipt page."""
    response = jsonify(_receipt_state(token))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/captcha/<token>.png")
def captcha_image(token: str) -> Response:
    """The captcha picture for a form's token."""
    answer = captcha.answer_for_token(services().settings.secret_key, token)
    if answer is None:
        abort(404)
    response = Response(captcha.render(answer, seed=token), mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/lookup")
def lookup_page() -> Any:
    """Tra cứu: the case's timeline from its code and the sender's name."""
    code_text = request.args.get("code", "").strip()
    name = request.args.get("name", "")
    if not code_text and not name:
        return render_template("lookup.html", code="", name="", view=None, error=None, notice=None)
    _limited("lookup", services().settings.lookup_limit)
    result = lookup.find(session(), code_text=code_text, name=name)
    if result.case is None:
        error = messages.text("errors", result.outcome.value)
        status = 404 if result.outcome is lookup.Outcome.not_found else 400
        return render_template("lookup.html", code=code_text, name=name, view=None, error=error,
                               notice=None), status
    view = lookup.public_view(session(), case=result.case)
    return render_template("lookup.html", code=code_text, name=name, view=view, error=None, notice=None)


def _found_for_post() -> Any:
    _limited("lookup", services().settings.lookup_limit)
    result = lookup.find(session(), code_text=request.form.get("code", ""), name=request.form.get("name", ""))
    if result.case is None:
        abort(404)
    return result.case


def _back(message: str) -> Any:
    view = lookup.public_view(session(), case=_found_for_post())
    return render_template("lookup.html", code=request.form.get("code", ""), name=request.form.get("name", ""),
                           view=view, error=None, notice=message)


@bp.post("/lookup/rate")
def rate() -> Any:
    """The citizen rates the answer 1-5."""
    case = _found_for_post()
    value = request.form.get("rating", type=int)
    if case.status not in (CaseStatus.answered, CaseStatus.published) or value not in range(1, 6):
        abort(400)
    case.rating, case.rated_at = value, utcnow()
    cases.record_event(session(), case=case, actor="citizen", kind=EventKind.rating, note=f"{value}/5")
    session().commit()
    return _back(f"Cảm ơn Ông/Bà đã đánh giá {value}/5.")


@bp.post("/lookup/disagree")
def disagree() -> Any:
    """The citizen disagrees with the answer (within 30 days): a follow-up goes back to the agency."""
    case = _found_for_post()
    reason = clean_block(request.form.get("reason", ""))
    if not routing.can_disagree(case):
        abort(400)
    if len(reason) < 20:
        return _back("Vui lòng nêu lý do không đồng ý (ít nhất 20 ký tự).")
    follow = routing.disagree(session(), case=case, reason=reason[:5000], actor="citizen", settings=services().settings)
    session().commit()
    enqueue_once(services().queue, PROCESS_CASE, follow.id or 0, new=True)
    return _back("Đã ghi nhận ý kiến không đồng ý. PAKN được chuyển lại cơ quan có thẩm quyền xem xét.")


@bp.post("/lookup/supplement")
def supplement() -> Any:
    """The citizen adds what was asked for (or anything more) to an open case."""
    case = _found_for_post()
    text = clean_block(request.form.get("text", ""))
    if len(text) < 10:
        return _back("Vui lòng nhập nội dung bổ sung (ít nhất 10 ký tự).")
    if not routing.supplement(session(), case=case, text=text[:5000], actor="citizen", via="trang tra cứu"):
        return _back("PAKN đã kết thúc, không thể bổ sung. Vui lòng gửi PAKN mới.")
    session().commit()
    enqueue_once(services().queue, PROCESS_CASE, case.id or 0)  # routed again if it was waiting for this
    return _back("Đã bổ sung nội dung vào PAKN.")
