"""Citizen web pages: submit, receipt, lookup (Vietnamese)."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, jsonify, make_response, redirect, render_template, request, url_for
from sqlmodel import select

from channels import web
from channels.base import RawFile
from gateway import captcha, cases, lookup, messages, ratelimit, routing
from gateway.cases import by_receipt
from gateway.constants import STATUS_LABELS_VI, CaseStatus, Channel, EventKind
from gateway.intake import submit as submit_case
from gateway.intake import validate as validate_submission
from gateway.models import Case, utcnow
from gateway.services import read_session, services, session
from gateway.uploads import pending
from normalizer import bounds
from normalizer.record import FIELDS, normalize
from normalizer.text import clean_block

bp = Blueprint("citizen", __name__)
MAX_CITIZEN_TEXT = 5000  # a supplement or a disagreement
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # one per rendered form (secrets.token_urlsafe)
FORM_KEY_PREFIX = "form:"
MB = 1024 * 1024


def _client() -> str:
    return request.remote_addr or "unknown"


def _form(values: dict[str, Any], errors: dict[str, list[str]], status: int = 200, notice: str | None = None,
          *, restore_draft: bool = False) -> Any:
    settings = services().settings
    token = captcha.new_token(settings.secret_key) if settings.captcha else None
    given = values.get("submission_key")
    key = given if isinstance(given, str) and _valid_key(given) else secrets.token_urlsafe(16)
    page = render_template(
        "submit.html", values=values, errors=errors, fields=FIELDS, label=messages.label,
        captcha_token=token, notice=notice, max_files=settings.max_files,
        max_file_mb=settings.max_file_bytes // MB, submission_key=key,
        limits=upload_limits(), kept=pending.listed(settings, key=key), restore_draft=restore_draft,
        messages=messages, captcha_length=captcha.LENGTH,
    )
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"  # Back must not bring a used submission key back
    return response


def upload_limits() -> dict[str, Any]:
    """The attachment limits, stated once (form hint, browser check, server messages)."""
    settings = services().settings
    return {
        "max_files": settings.max_files, "max_file_bytes": settings.max_file_bytes,
        "max_total_bytes": settings.max_total_bytes,
        "text": messages.text("uploads", "limits", files=settings.max_files,
                              per_file=settings.max_file_bytes // MB, total=settings.max_total_bytes // MB),
        "too_large": messages.file_error("{name}", "too_large", settings.max_file_bytes // MB),
        "too_many": messages.file_error("", "too_many", settings.max_files),
        "total_too_large": messages.file_error("", "total_too_large", settings.max_total_bytes // MB),
    }


def _valid_key(key: object) -> bool:
    return isinstance(key, str) and SUBMISSION_KEY.fullmatch(key) is not None


def _already_submitted(key: str) -> Case | None:
    """The case this post repeats: same one-time key *and* same text (a double click, a browser retry).

    The same key with other text (a page brought back by the browser and filled in
    again) is a new submission: it must never be swallowed, nor show someone's receipt.
    """
    first = _case_of_key(key)
    return first if first is not None and _same_text(first) else None


def _case_of_key(key: str) -> Case | None:
    """The case stored under the form's one-time key, if any (one read: the twin-post decision rests on it)."""
    if not _valid_key(key):
        return None
    return session().exec(select(Case).where(Case.channel == Channel.web,
                                              Case.external_id == f"{FORM_KEY_PREFIX}{key}")).first()


def _same_text(case: Case) -> bool:
    posted = normalize(request.form).record
    return posted is not None and (posted.title, posted.content) == (case.title, case.content)


def _wait_for_first(key: str) -> Case | None:
    """A double click races its first post: give the first one a moment to commit."""
    for _ in range(10):
        session().rollback()  # a fresh snapshot, and never hold SQLite's write lock while waiting
        found = _already_submitted(key)
        if found is not None:
            return found
        time.sleep(0.2)
    return None


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
    """The PAKN form: verify → parse → normalize → persist → enqueue → respond.

    Every problem is reported in one round (the fields, the files and the captcha);
    the files that passed their checks are kept against the form for the next try.
    """
    if request.method == "GET":
        return _form({}, {})
    settings = services().settings
    _limited("submit", settings.submit_limit)
    values = {name: request.form.get(name, "") for name in (*FIELDS, "publish")}
    key = request.form.get("submission_key", "")
    # One read decides: a twin committing between two reads must not turn this post into a new case.
    earlier = _case_of_key(key)
    if earlier is not None and _same_text(earlier):  # posted again: the first receipt, nothing new
        return redirect(url_for("citizen.receipt", token=earlier.receipt), code=303)
    if earlier is not None:  # the same page, filled in anew: a new submission with a key of its own
        key = secrets.token_urlsafe(16)
    values["submission_key"] = key
    kept = pending.retain(settings, services().storage, key=key, ids=request.form.getlist("keep_file"))
    uploaded = web.read_files(request.files.getlist("attachments"), settings.max_file_bytes)
    if request.form.get("new_captcha"):  # "Đổi mã khác" without JavaScript: the same form, a new code
        _keep_uploads(key, uploaded, kept)
        return _form(values, {})
    errors: dict[str, list[str]] = {}
    if settings.captcha and not captcha.verify(
        settings.secret_key, request.form.get("captcha_token", ""), request.form.get("captcha", ""), services().redis
    ):
        first = _wait_for_first(key) if _valid_key(key) else None  # the captcha spent by a twin post?
        if first is not None:
            return redirect(url_for("citizen.receipt", token=first.receipt), code=303)
        errors["captcha"] = [messages.text("errors", "captcha")]
    files = pending.load(services().storage, kept) + uploaded
    external_id = f"{FORM_KEY_PREFIX}{key}" if _valid_key(key) else None
    message = web.parse(request.form, files, remote_addr=_client(), external_id=external_id)
    if errors:  # nothing is stored for a failed captcha, but every other problem is told now too
        errors = {**validate_submission(message, settings=settings)[2], **errors}
        _keep_uploads(key, uploaded, kept)
        return _form(values, errors, 400, notice=messages.text("errors", "form_has_errors"))
    outcome = submit_case(session(), message=message, settings=settings, storage=services().storage)
    if outcome.errors or outcome.case is None:
        _keep_uploads(key, uploaded, kept)
        return _form(values, outcome.errors, 400, notice=messages.text("errors", "form_has_errors"))
    pending.discard(settings, services().storage, key=key)  # the case holds its own copies now
    return redirect(url_for("citizen.receipt", token=outcome.case.receipt), code=303)


def _keep_uploads(key: str, uploaded: tuple[RawFile, ...], kept: list[pending.PendingFile]) -> None:
    """Keep the newly chosen files that passed their own checks, up to the number of files allowed."""
    settings = services().settings
    good = pending.acceptable(uploaded, settings=settings, room=settings.max_files - len(kept))
    if good:
        pending.keep(settings, services().storage, key=key, files=good)


def form_too_large() -> Any:
    """The form's body was over the limit (it cannot be read): the form again, with the limits.

    The typed text comes back from the browser's draft (sessionStorage, gateway/static/submit.js).
    """
    limits = upload_limits()
    notice = messages.text("errors", "form_too_large", limits=limits["text"])
    return _form({}, {"attachments": [notice]}, 413, notice=notice, restore_draft=True)


def resubmit_after_csrf() -> Any:
    """Expired or missing CSRF token on the form: show it again with what was typed."""
    values = {name: request.form.get(name, "") for name in (*FIELDS, "publish", "submission_key")}
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


@bp.get("/captcha/<token>.wav")
def captcha_audio(token: str) -> Response:
    """The same code read aloud in Vietnamese, digit by digit (the URL holds the token, not the answer)."""
    answer = captcha.answer_for_token(services().settings.secret_key, token)
    if answer is None:
        abort(404)
    response = Response(captcha.audio(answer), mimetype="audio/wav")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/captcha/new")
def captcha_new() -> Response:
    """"Đổi mã khác" with JavaScript: a fresh token and its picture and sound, without reloading the form."""
    token = captcha.new_token(services().settings.secret_key)
    response = jsonify(token=token, image=url_for("citizen.captcha_image", token=token),
                       audio=url_for("citizen.captcha_audio", token=token))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("vn_time")
def vn_time(value: str | None) -> str:
    """``dd/mm/yyyy HH:MM`` (Vietnam time) for the lookup page's ISO times."""
    return lookup.shown(value)


def _lookup_page(*, code: str, name: str, page: lookup.Page | None = None, error: str | None = None,
                 notice: str | None = None, date: str = "") -> str:
    return render_template("lookup.html", code=code, name=name, view=page.view if page else None, error=error,
                           notice=notice, signed=page.signed if page else None, date=date)


@bp.get("/lookup")
def lookup_page() -> Any:
    """Tra cứu: the form, with the code filled in from the link of a receipt, email or SMS.

    The sender's name is never read from the URL (it would sit in access logs and
    browser history): the form posts it.
    """
    return _lookup_page(code=request.args.get("code", "").strip()[:40], name="")


@bp.post("/lookup")
def lookup_result() -> Any:
    """The case's timeline from its code and the sender's name (posted)."""
    code_text = request.form.get("code", "").strip()
    name = request.form.get("name", "")
    date = request.form.get("date", "")
    _limited("lookup", services().settings.lookup_limit)
    db = read_session()  # reads only: no BEGIN/ROLLBACK round trips
    result = lookup.find(db, code_text=code_text, name=name, published_on=date)
    if result.case is None:
        error = messages.text("errors", result.outcome.value)
        status = 404 if result.outcome is lookup.Outcome.not_found else 400
        return _lookup_page(code=code_text, name=name, error=error, date=date), status
    return _lookup_page(code=code_text, name=name, page=lookup.page(db, case=result.case), date=date)


def _found_for_post() -> Any:
    _limited("lookup", services().settings.lookup_limit)
    result = lookup.find(session(), code_text=request.form.get("code", ""), name=request.form.get("name", ""))
    if result.case is None:
        abort(404)
    return result.case


def _back(message: str, case: Case | None = None) -> Any:
    case = case or _found_for_post()
    return _lookup_page(code=request.form.get("code", ""), name=request.form.get("name", ""),
                        page=lookup.page(session(), case=case), notice=message)


@bp.post("/lookup/file/<int:attachment_id>")
def answer_file(attachment_id: int) -> Response:
    """One of the agency's answer files, for the sender only (the same code + name proof as the lookup)."""
    case = _found_for_post()
    row = lookup.answer_file(session(), case=case, attachment_id=attachment_id)
    if row is None:
        abort(404)
    response = Response(services().storage.load(row.storage_key), mimetype=row.content_type)
    response.headers["Content-Disposition"] = content_disposition(row.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real (Vietnamese) one per RFC 5987."""
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in filename) or "tep"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


@bp.post("/lookup/rate")
def rate() -> Any:
    """The citizen rates the answer 1-5."""
    case = _found_for_post()
    value = request.form.get("rating", type=int)
    if case.status not in (CaseStatus.answered, CaseStatus.published):
        abort(400)
    if value not in range(1, 6):
        return _back("Vui lòng chọn mức đánh giá từ 1 đến 5.", case), 400
    case.rating, case.rated_at = value, utcnow()
    cases.record_event(session(), case=case, actor="citizen", kind=EventKind.rating, note=f"{value}/5")
    session().commit()
    return _back(f"Cảm ơn Ông/Bà đã đánh giá {value}/5.")


@bp.post("/lookup/disagree")
def disagree() -> Any:
    """The citizen disagrees with the answer (within 30 days): a follow-up goes back to the agency."""
    case = _found_for_post()
    if problem := bounds.check_text(request.form.get("reason", ""), max_len=MAX_CITIZEN_TEXT):
        return _back(messages.bounds_error(problem, MAX_CITIZEN_TEXT)), 400
    reason = clean_block(request.form.get("reason", ""))
    if not routing.can_disagree(case):
        abort(400)
    if len(reason) < 20:
        return _back("Vui lòng nêu lý do không đồng ý (ít nhất 20 ký tự).")
    follow = routing.disagree(session(), case=case, reason=reason, actor="citizen", settings=services().settings,
                              replies=services().redis, tell=True)
    session().commit()  # the follow-up is coded; the worker forwards it and tells the citizen its code
    return _back(messages.text("routing", "disagreed", code=case.code, follow_code=follow.code,
                               short_code=services().settings.sms_short_code), case)


@bp.post("/lookup/supplement")
def supplement() -> Any:
    """The citizen adds what was asked for (or anything more) to an open case."""
    case = _found_for_post()
    if problem := bounds.check_text(request.form.get("text", ""), max_len=MAX_CITIZEN_TEXT):
        return _back(messages.bounds_error(problem, MAX_CITIZEN_TEXT)), 400
    text = clean_block(request.form.get("text", ""))
    if len(text) < 10:
        return _back("Vui lòng nhập nội dung bổ sung (ít nhất 10 ký tự).")
    if not routing.supplement(session(), case=case, text=text, actor="citizen", via="trang tra cứu",
                              settings=services().settings):
        return _back("PAKN đã kết thúc, không thể bổ sung. Vui lòng gửi PAKN mới.")
    session().commit()  # a case that was waiting for this is `registered` again: the worker routes it
    return _back("Đã bổ sung nội dung vào PAKN.")
