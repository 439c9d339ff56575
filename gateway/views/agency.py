"""Agencies answer: by the signed link in the routed email, or logged in on their dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlmodel import col, select

from channels import web
from gateway import auth, cases, outbox, routing
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, EventKind, Role
from gateway.intake import store_files
from gateway.models import Agency, Case, utcnow
from gateway.queue import deliver_pending
from gateway.services import services, session
from normalizer.attachment import check_all

bp = Blueprint("agency", __name__)
OPEN = (CaseStatus.forwarded, CaseStatus.reopened)
MIN_ANSWER = 20


def _act(case: Case, actor: str) -> tuple[dict[str, str], int] | None:
    """Carry out the posted answer or 'not ours'; errors (Vietnamese) or None."""
    action = request.form.get("action")
    if action == "return":
        reason = request.form.get("reason", "").strip()
        if len(reason) < 10:
            return {"reason": "Vui lòng nêu lý do (ít nhất 10 ký tự) và cơ quan có thẩm quyền nếu biết."}, 400
        routing.return_to_coordinator(session(), case=case, actor=actor, reason=reason[:2000])
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
        routing.record_answer(session(), case=case, text=text[:20000], actor=actor, settings=services().settings,
                              replies=services().redis)
    else:
        abort(400)
    session().commit()
    deliver_pending(services().queue, services().settings, outbox.pending_ids(session(), case_id=case.id or 0))
    return None


def _page(case: Case, agency: Agency, errors: dict[str, str], status: int = 200) -> Any:
    events = cases.timeline(session(), case_id=case.id or 0)
    return render_template("agency/case.html", case=case, agency=agency, errors=errors, events=events,
                           labels=STATUS_LABELS_VI, tz=VN_TZ, CaseStatus=CaseStatus, open=case.status in OPEN), status


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
        if case.status not in OPEN:
            return _page(case, agency, {"answer": "PAKN này đã được xử lý."}, 409)
        outcome = _act(case, actor=f"agency:{agency.code}")
        if outcome:
            return _page(case, agency, *outcome)
        return redirect(url_for("agency.answer_by_link", token=token), code=303)
    cases.record_event(session(), case=case, actor=f"agency:{agency.code}", kind=EventKind.view,
                       note="Mở qua liên kết trả lời")
    session().commit()
    return _page(case, agency, {})


def _my_agency() -> Agency:
    user = auth.current_user(session())
    agency = session().exec(select(Agency).where(Agency.code == (user.agency_code if user else None))).first()
    if agency is None:
        abort(403)
    return agency


@bp.get("/")
@auth.login_required(Role.agency)
def dashboard() -> Any:
    """This agency's cases only: open, due soon, overdue."""
    agency = _my_agency()
    mine = session().exec(select(Case).where(Case.agency_id == agency.id, col(Case.status).in_(OPEN))
                          .order_by(col(Case.due_at))).all()
    now = utcnow()
    overdue = [c for c in mine if c.due_at and c.due_at < now]
    soon = [c for c in mine if c.due_at and now <= c.due_at < now + timedelta(days=3)]
    return render_template("agency/dashboard.html", agency=agency, cases=mine, overdue=overdue, soon=soon,
                           tz=VN_TZ, labels=STATUS_LABELS_VI, CaseStatus=CaseStatus)


@bp.route("/cases/<int:case_id>", methods=["GET", "POST"])
@auth.login_required(Role.agency)
def case_page(case_id: int) -> Any:
    """A case of this agency (another agency's case: 404, as if it did not exist)."""
    agency = _my_agency()
    case = session().get(Case, case_id)
    if case is None or case.agency_id != agency.id:
        abort(404)
    actor = auth.current_user(session()).username  # type: ignore[union-attr]
    if request.method == "POST":
        if case.status not in OPEN:
            return _page(case, agency, {"answer": "PAKN này đã được xử lý."}, 409)
        outcome = _act(case, actor=actor)
        return _page(case, agency, *outcome) if outcome else redirect(url_for("agency.case_page", case_id=case_id),
                                                                      code=303)
    cases.record_event(session(), case=case, actor=actor, kind=EventKind.view, note="Xem thông tin người gửi")
    session().commit()
    return _page(case, agency, {})
