"""The hotline operators' console: keyed calls, read-back, desk, call-backs, import."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from sqlmodel import col, select

from channels import hotline
from gateway import auth, calllog, messages
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, Channel, Role
from gateway.desks import lists
from gateway.exceptions import CallLogError
from gateway.fields import all_fields, is_field
from gateway.intake import submit
from gateway.models import CallBack, Case, HotlineCall, utcnow
from gateway.services import services, session
from normalizer import bounds
from normalizer.phone import to_e164

bp = Blueprint("hotline", __name__)
STAFF = (Role.operator, Role.coordinator)
FORM_FIELDS = ("caller", "caller_name", "address", "email", "title", "transcript")
MAX_IMPORT_BYTES = 20 * 1024 * 1024
DESK_CALLBACKS = 10  # the oldest open call-backs on the desk; the list has them all
MAX_PAGE_ROWS = 3000  # a request must finish well inside the web server's timeout; bigger files: the command


def _me() -> str:
    user = auth.current_user(session())
    assert user is not None
    return user.username


def _call_form(values: dict[str, str], errors: dict[str, list[str]], status: int = 200, notice: str | None = None,
               existing: Case | None = None) -> Any:
    # the record's field names → the console's
    labels = {"caller": "phone", "caller_name": "full_name", "transcript": "content"}
    shown = {labels.get(k, k): v for k, v in errors.items()}
    page = render_template("staff/call_new.html", values=values, errors=shown, notice=notice, existing=existing,
                           fields=all_fields(), label=messages.label)
    return page, status


@bp.get("/")
@auth.login_required(*STAFF)
def desk() -> Any:
    """Today's calls keyed by me (50 a page, newest first), the oldest open call-backs, search by phone."""
    page, keyed = lists.keyed_today_page(session(), username=_me(), now=utcnow())
    callbacks = lists.oldest_open_callbacks(session(), limit=DESK_CALLBACKS)
    open_callbacks, _ = lists.callback_counts(session(), recent=utcnow())
    return render_template("staff/desk.html", page=page, keyed=keyed, callbacks=callbacks,
                           open_callbacks=open_callbacks, labels=STATUS_LABELS_VI, tz=VN_TZ, CaseStatus=CaseStatus)


@bp.route("/calls/new", methods=["GET", "POST"])
@auth.login_required(*STAFF)
def new_call() -> Any:
    """Key a call; the PBX screen-pop may prefill ?call_id=…&caller=…."""
    if request.method == "GET":
        call_id = request.args.get("call_id", "").strip()
        caller = bounds.strip_forbidden(request.args.get("caller", "").strip())[:32]
        if call_id and bounds.check_identifier(call_id, max_len=bounds.MAX_CALL_ID):  # a broken screen-pop
            values = {"call_id": f"manual-{secrets.token_hex(8)}", "caller": caller}
            return _call_form(values, {}, 400, notice=messages.text("staff", "invalid_call_id"))
        return _call_form({"call_id": call_id or f"manual-{secrets.token_hex(8)}", "caller": caller}, {})
    values = {name: request.form.get(name, "") for name in ("call_id", "field_hint", *FORM_FIELDS)}
    call_id = values["call_id"].strip()
    if bounds.check_identifier(call_id, max_len=bounds.MAX_CALL_ID):
        values["call_id"] = bounds.strip_forbidden(call_id)[:bounds.MAX_CALL_ID]
        return _call_form(values, {}, 400, notice=messages.text("staff", "invalid_call_id"))
    existing = session().exec(select(Case).join(HotlineCall, col(HotlineCall.case_id) == col(Case.id))
                              .where(HotlineCall.call_id == call_id)).first()
    if existing is not None:
        notice = messages.text("staff", "duplicate_call", call_id=call_id, code=existing.code or "…")
        return _call_form(values, {}, 409, notice=notice, existing=existing)
    hint = values["field_hint"] if is_field(values["field_hint"]) else None
    caller = to_e164(values["caller"]) or values["caller"].strip()[:20]
    call = HotlineCall(call_id=call_id, caller=caller, started_at=utcnow(), operator=_me(), source="console")
    outcome = submit(session(), message=hotline.parse(values, call_id=call_id, remote_addr=request.remote_addr),
                     settings=services().settings, storage=services().storage,
                     created_by=_me(), field_hint=hint, call=call)
    if outcome.errors or outcome.case is None:
        return _call_form(values, outcome.errors, 400, notice=messages.text("errors", "form_has_errors"))
    if outcome.duplicate:
        notice = messages.text("staff", "duplicate_call", call_id=call_id, code=outcome.case.code or "…")
        return _call_form(values, {}, 409, notice=notice, existing=outcome.case)
    return redirect(url_for("hotline.call", case_id=outcome.case.id), code=303)


def _own_hotline_case(case_id: int) -> Case:
    """A hotline case (the desk is shared: any operator's); coordinators and admin may open any case.

    Opening it is audited once per user, case and login session (polling adds nothing).
    """
    case = session().get(Case, case_id)
    user = auth.current_user(session())
    assert user is not None
    if case is None or (user.role == Role.operator and case.channel != Channel.hotline):
        abort(404)  # web, SMS and API cases are not the operators' to read
    auth.audit_view(session(), case=case, actor=user.username, note="Xem cuộc gọi và thông tin người gọi")
    return case


@bp.get("/calls/<int:case_id>")
@auth.login_required(*STAFF)
def call(case_id: int) -> Any:
    """The keyed call with its PAKN code (appears by itself), to read to the caller."""
    case = _own_hotline_case(case_id)
    record = session().exec(select(HotlineCall).where(HotlineCall.case_id == case.id)).first()
    return render_template("staff/call.html", case=case, call=record, label=STATUS_LABELS_VI[CaseStatus(case.status)])


@bp.get("/calls/<int:case_id>/status.json")
@auth.login_required(*STAFF)
def call_status(case_id: int) -> Any:
    """Polled by the call page."""
    case = _own_hotline_case(case_id)
    response = jsonify(code=case.code, status=case.status.value, label=STATUS_LABELS_VI[CaseStatus(case.status)])
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/search")
@auth.login_required(*STAFF)
def search() -> Any:
    """Every earlier case from a phone number, on every channel (a repeat caller), 50 a page, newest first."""
    typed = request.args.get("phone", "").strip()
    if problem := bounds.check_text(typed, max_len=bounds.MAX_QUERY):
        abort(400, description=messages.bounds_error(problem, bounds.MAX_QUERY))
    phone = to_e164(typed) if typed else None
    page, total = lists.phone_page(session(), phone=phone) if phone else (None, 0)
    return render_template("staff/search.html", typed=typed, phone=phone, page=page, total=total,
                           labels=STATUS_LABELS_VI, tz=VN_TZ, CaseStatus=CaseStatus)


@bp.get("/callbacks")
@auth.login_required(*STAFF)
def callbacks() -> Any:
    """The call-back list, 50 a page: open first (oldest first), then those done in the last 7 days."""
    recent = utcnow() - timedelta(days=7)
    page = lists.callback_page(session(), recent=recent)
    open_count, done_count = lists.callback_counts(session(), recent=recent)
    return render_template("staff/callbacks.html", page=page, entries=[e for e, in page.rows], tz=VN_TZ,
                           open_count=open_count, done_count=done_count)


@bp.post("/callbacks/<int:entry_id>")
@auth.login_required(*STAFF)
def callback_attempt(entry_id: int) -> Any:
    """Record a call-back attempt (done or not) with a note."""
    entry = session().get(CallBack, entry_id)
    if entry is None:
        abort(404)
    note = request.form.get("note", "").strip()
    if problem := bounds.check_text(note, max_len=bounds.MAX_NOTE):
        abort(400, description=messages.bounds_error(problem, bounds.MAX_NOTE))
    calllog.note_callback_attempt(session(), entry=entry, actor=_me(), note=note, done=request.form.get("done") == "1")
    return redirect(url_for("hotline.callbacks"), code=303)


@bp.route("/import", methods=["GET", "POST"])
@auth.login_required(Role.coordinator)
def import_page() -> Any:
    """Upload a day's keyed-call file (and optionally the CDR): the same import as the command."""
    if request.method == "GET":
        return render_template("staff/import.html", report=None, error=None)
    upload, cdr_upload = request.files.get("calls"), request.files.get("cdr")
    if upload is None or not upload.filename:
        return render_template("staff/import.html", report=None, error="Chọn tệp cuộc gọi (CSV hoặc JSON Lines)."), 400
    for stream in (upload.stream, cdr_upload.stream if cdr_upload and cdr_upload.filename else None):
        if stream is not None and _size(stream) > MAX_IMPORT_BYTES:
            error = f"Tệp lớn quá {MAX_IMPORT_BYTES // (1024 * 1024)} MB. Chưa nhập dòng nào."
            return render_template("staff/import.html", report=None, error=error), 400
    try:  # a first pass over the stream: a damaged file imports nothing
        total = hotline.count_keyed_calls(upload.stream, upload.filename)
        cdr = hotline.read_cdr(cdr_upload.stream) if cdr_upload and cdr_upload.filename else None
    except CallLogError as exc:
        error = messages.text("calllog", "file_error", line=exc.line, reason=exc.reason)
        return render_template("staff/import.html", report=None, error=error), 400
    if total > MAX_PAGE_ROWS:
        error = (f"Tệp có {total} dòng, quá {MAX_PAGE_ROWS} dòng cho trang này. Chưa nhập dòng nào; "
                 "hãy dùng lệnh flask --app wsgi import-calls trên máy chủ.")
        return render_template("staff/import.html", report=None, error=error), 400
    upload.stream.seek(0)
    report = calllog.import_calls(session(), rows=hotline.iter_keyed_calls(upload.stream, upload.filename), cdr=cdr,
                                  settings=services().settings, storage=services().storage, operator=_me())
    return render_template("staff/import.html", report=report, error=None)


def _size(stream: Any) -> int:
    """Bytes in an uploaded file's stream (spooled to disk by Werkzeug when large), rewound."""
    stream.seek(0, 2)
    size = int(stream.tell())
    stream.seek(0)
    return size
