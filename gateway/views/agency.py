"""Agencies answer: by the signed link in the routed email, or logged in on their dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlmodel import col, select

from channels import web
from gateway import auth, cases, messages, routing
from gateway.clock import progress
from gateway.clock.calendar import local_date
from gateway.clock.due import standing
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, Role
from gateway.desks import lists
from gateway.intake import store_files
from gateway.models import Agency, Case, utcnow
from gateway.services import services, session
from gateway.views import files as case_files
from normalizer import bounds
from normalizer.attachment import check_all

bp = Blueprint("agency", __name__)
OPEN = (CaseStatus.forwarded, CaseStatus.reopened)
MIN_ANSWER = 20
MAX_ANSWER, MAX_REASON = 20_000, 2000
SOON_WORKING_DAYS = 3
DONE = {  # the confirmation shown at the top of the page after each action
    "answer": "Đã gửi trả lời PAKN {code}. Người gửi được thông báo qua kênh đã gửi PAKN.",
    "progress": "Đã gửi cập nhật tình hình xử lý PAKN {code}; PAKN vẫn chờ trả lời.",
    "needs_info": "Đã yêu cầu người gửi bổ sung thông tin cho PAKN {code}; thời hạn tạm dừng.",
    "return": "Đã chuyển lại PAKN {code} cho văn phòng điều phối.",
}
BOUNDED = {  # the form field each action reads, and its length limit
    "answer": ("answer", MAX_ANSWER), "return": ("reason", MAX_REASON),
    "progress": ("progress", MAX_REASON), "needs_info": ("question", MAX_REASON),
}


def _act(case: Case, agency: Agency, actor: str) -> tuple[dict[str, str], int] | None:
    """Carry out the posted answer, progress note, question or 'not ours'; errors (Vietnamese) or None."""
    action = request.form.get("action")
    if action in BOUNDED:
        field, limit = BOUNDED[action]
        if problem := bounds.check_text(request.form.get(field, ""), max_len=limit):
            return {field: messages.bounds_error(problem, limit)}, 400
    if action == "progress":
        note = request.form.get("progress", "").strip()
        if len(note) < progress.MIN_NOTE:
            return {"progress": f"Nội dung cập nhật phải có ít nhất {progress.MIN_NOTE} ký tự."}, 400
        progress.add_note(session(), case=case, agency=agency, author=actor, text=note,
                          settings=services().settings, replies=None)
    elif action == "needs_info":
        question = request.form.get("question", "").strip()
        if case.status != CaseStatus.forwarded:
            return {"question": "Chỉ yêu cầu bổ sung với PAKN đang chờ trả lời."}, 409
        if len(question) < 10:
            return {"question": "Vui lòng nêu thông tin cần người gửi bổ sung (ít nhất 10 ký tự)."}, 400
        routing.ask_for_information(session(), case=case, settings=services().settings, replies=None, actor=actor,
                                    note=question[:500], agency=agency)
    elif action == "return":
        reason = request.form.get("reason", "").strip()
        if len(reason) < 10:
            return {"reason": "Vui lòng nêu lý do (ít nhất 10 ký tự) và cơ quan có thẩm quyền nếu biết."}, 400
        routing.return_to_coordinator(session(), case=case, actor=actor, reason=reason)
    elif action == "answer":
        text = request.form.get("answer", "").strip()
        if len(text) < MIN_ANSWER:
            return {"answer": f"Nội dung trả lời phải có ít nhất {MIN_ANSWER} ký tự."}, 400
        files = web.read_files(request.files.getlist("files"), services().settings.max_file_bytes)
        kinds, problems = check_all([(f.filename, f.data) for f in files], max_files=5,
                                    max_bytes=services().settings.max_file_bytes,
                                    max_total=services().settings.max_total_bytes)
        if problems:
            return {"files": "Tệp đính kèm phải là JPG, PDF, DOC, DOCX, XLS hoặc XLSX, trong giới hạn dung lượng."}, 400
        store_files(session(), case=case, files=files, kinds=kinds, storage=services().storage, source="agency")
        routing.record_answer(session(), case=case, text=text, actor=actor, settings=services().settings,
                              replies=services().redis)
    else:
        abort(400)
    session().commit()  # the answer's messages are pending: the worker sends them
    flash(DONE[str(action)].format(code=case.code), "success")
    return None


def follow_up_of(case: Case) -> Case | None:
    """The follow-up opened when the citizen disagreed with ``case``'s answer (the one to answer now)."""
    return session().exec(select(Case).where(Case.follows_id == case.id).order_by(col(Case.id).desc())).first()


def answerable(case: Case) -> bool:
    """Open for an answer: forwarded or reopened, and not superseded by a follow-up (a disagreement)."""
    return case.status in OPEN and follow_up_of(case) is None


def closed_message(case: Case) -> str:
    """Why ``case`` takes no more answers."""
    follow = follow_up_of(case)
    if follow is not None:
        return (f"Người gửi không đồng ý với kết quả trả lời; PAKN {case.code} không nhận thêm trả lời. "
                f"Vui lòng trả lời PAKN {follow.code or '(đang cấp mã)'} (xem xét lại).")
    return "PAKN này đã được xử lý."


FIELD_LABELS = {"answer": "Nội dung trả lời", "files": "Tệp đính kèm", "progress": "Nội dung cập nhật",
                "question": "Thông tin cần bổ sung", "reason": "Lý do"}


def _page(case: Case, agency: Agency, errors: dict[str, str], status: int = 200, *, token: str | None = None) -> Any:
    """The case page; ``token``: opened by the emailed link (downloads and the follow-up link use it)."""
    events = cases.timeline(session(), case_id=case.id or 0)
    follow = follow_up_of(case)
    if token is not None:
        file_url = case_files.url_maker("agency.file_by_link", token=token)
        follow_url = (routing.answer_url(services().settings, case=follow, agency=agency).removeprefix(
            services().settings.public_base_url) if follow is not None and follow.agency_id == agency.id else None)
    else:
        file_url = case_files.url_maker("agency.case_file", case_id=case.id)
        follow_url = url_for("agency.case_page", case_id=follow.id) if follow is not None else None
    return render_template("agency/case.html", case=case, agency=agency, errors=errors, events=events,
                           labels=STATUS_LABELS_VI, tz=VN_TZ, CaseStatus=CaseStatus, open=answerable(case),
                           notes=progress.notes(session(), case_id=case.id or 0), files=case_files.of_case(case),
                           file_url=file_url, follow=follow, follow_url=follow_url, field_labels=FIELD_LABELS,
                           closed_message=closed_message(case),
                           standing=standing(case, today=local_date(utcnow()))), status


def _from_token(token: str) -> tuple[Case, Agency]:
    bound = routing.read_answer_token(services().settings, token)
    case = session().get(Case, bound[0]) if bound else None
    agency = session().get(Agency, bound[1]) if bound else None
    if case is None or agency is None or case.agency_id != agency.id:
        abort(403, description="Liên kết không hợp lệ, đã hết hạn hoặc PAKN đã được chuyển cơ quan khác.")
    return case, agency


@bp.route("/answer/<token>", methods=["GET", "POST"])
def answer_by_link(token: str) -> Any:
    """Answer without an account: the link is bound to this case and this agency, and expires."""
    case, agency = _from_token(token)
    if request.method == "POST":
        if not answerable(case):
            return _page(case, agency, {"answer": closed_message(case)}, 409, token=token)
        outcome = _act(case, agency, actor=f"agency:{agency.code}")
        if outcome:
            return _page(case, agency, *outcome, token=token)
        return redirect(url_for("agency.answer_by_link", token=token), code=303)
    auth.audit_view(session(), case=case, actor=f"agency:{agency.code}", note="Mở qua liên kết trả lời")
    return _page(case, agency, {}, token=token)


@bp.get("/answer/<token>/files/<int:attachment_id>")
def file_by_link(token: str, attachment_id: int) -> Any:
    """One of the case's files, through the emailed link."""
    case, _agency = _from_token(token)
    return case_files.send(case, attachment_id)


@bp.get("/cases/<int:case_id>/files/<int:attachment_id>")
@auth.login_required(Role.agency)
def case_file(case_id: int, attachment_id: int) -> Any:
    """One of the case's files, for the agency's staff (another agency's case: 404)."""
    return case_files.send(_visible_case(case_id)[0], attachment_id)


def _visible_case(case_id: int) -> tuple[Case, Agency]:
    """A case of the user's agency (admin: any routed case); 404 otherwise."""
    mine = _my_agency()
    case = session().get(Case, case_id)
    agency = session().get(Agency, case.agency_id) if case is not None and case.agency_id else None
    if case is None or agency is None or (mine is not None and mine.id != agency.id):
        abort(404)
    return case, agency


def _agency_by_code(code: str | None) -> Agency | None:
    if not code or bounds.check_text(code, max_len=60):
        return None
    return session().exec(select(Agency).where(Agency.code == code)).first()


def _my_agency() -> Agency | None:
    """Agency staff: their agency (403 without one). Admin: None (every agency) or ``?agency=<code>``."""
    user = auth.current_user(session())
    assert user is not None
    if user.role == Role.admin:
        code = request.args.get("agency") or user.agency_code
        agency = _agency_by_code(code)
        if code and agency is None:
            abort(404)
        return agency
    agency = _agency_by_code(user.agency_code)
    if agency is None:
        abort(403)
    return agency


@bp.get("/")
@auth.login_required(Role.agency)
def dashboard() -> Any:
    """This agency's cases (and those waiting for the citizen), 50 a page, by due date, overdue first (admin:
    every agency's, or one by ``?agency=``); the counts come from one SQL aggregate."""
    agency = _my_agency()
    agency_id = agency.id if agency is not None else None
    today = local_date(utcnow())
    page = lists.agency_page(session(), agency_id=agency_id)
    standings = {c.id: standing(c, today=today) for c, _ in page.rows}
    counts = lists.agency_counts(session(), agency_id=agency_id, today=today, soon_days=SOON_WORKING_DAYS)
    agencies = session().exec(select(Agency).order_by(Agency.name)).all() if agency is None else []
    args = {"agency": request.args["agency"]} if agency is not None and request.args.get("agency") else {}
    return render_template("agency/dashboard.html", agency=agency, agencies=agencies, page=page, counts=counts,
                           standings=standings, soon_days=SOON_WORKING_DAYS, tz=VN_TZ, labels=STATUS_LABELS_VI,
                           CaseStatus=CaseStatus, args=args)


@bp.route("/cases/<int:case_id>", methods=["GET", "POST"])
@auth.login_required(Role.agency)
def case_page(case_id: int) -> Any:
    """A case of this agency (another agency's case: 404, as if it did not exist); admin: any routed case."""
    case, agency = _visible_case(case_id)
    actor = auth.current_user(session()).username  # type: ignore[union-attr]
    if request.method == "POST":
        if not answerable(case):
            return _page(case, agency, {"answer": closed_message(case)}, 409)
        outcome = _act(case, agency, actor=actor)
        return _page(case, agency, *outcome) if outcome else redirect(url_for("agency.case_page", case_id=case_id),
                                                                      code=303)
    auth.audit_view(session(), case=case, actor=actor, note="Xem thông tin người gửi")  # once per login session
    return _page(case, agency, {})
