"""The coordinating office: triage queue, forward/reroute, duplicates, send back for information."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlmodel import col, select

from gateway import auth, cases, codes, outbox, routing
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, EventKind, Role
from gateway.exceptions import CodeError
from gateway.fields import all_fields
from gateway.models import Agency, Case, utcnow
from gateway.queue import deliver_pending
from gateway.services import services, session

bp = Blueprint("coordinator", __name__)
QUEUES = (CaseStatus.triage, CaseStatus.needs_info, CaseStatus.forwarded, CaseStatus.reopened)


def _me() -> str:
    return auth.current_user(session()).username  # type: ignore[union-attr]


@bp.get("/")
@auth.login_required(Role.coordinator)
def queue() -> Any:
    """Cases waiting for a decision (triage), then the others in progress."""
    rows = session().exec(select(Case).where(col(Case.status).in_(QUEUES)).order_by(col(Case.created_at))).all()
    now = utcnow()
    return render_template("coordinator/queue.html", rows=rows, labels=STATUS_LABELS_VI, tz=VN_TZ, now=now,
                           CaseStatus=CaseStatus, suggestion=_suggestion)


def _suggestion(case: Case) -> dict[str, Any]:
    return json.loads(case.classification) if case.classification else {}


@bp.route("/cases/<int:case_id>", methods=["GET", "POST"])
@auth.login_required(Role.coordinator)
def case_page(case_id: int) -> Any:
    """One case: the classifier's suggestion and reasons, the audit trail, the actions."""
    case = session().get(Case, case_id)
    if case is None:
        abort(404)
    error = _act(case) if request.method == "POST" else None
    if request.method == "POST" and error is None:
        return redirect(url_for("coordinator.case_page", case_id=case_id), code=303)
    if request.method == "GET":
        cases.record_event(session(), case=case, actor=_me(), kind=EventKind.view, note="Xem thông tin người gửi")
        session().commit()
    agencies = session().exec(select(Agency).where(Agency.active == True).order_by(Agency.name)).all()  # noqa: E712
    return render_template("coordinator/case.html", case=case, error=error, agencies=agencies,
                           suggestion=_suggestion(case), fields=all_fields(), labels=STATUS_LABELS_VI, tz=VN_TZ,
                           CaseStatus=CaseStatus, events=cases.timeline(session(), case_id=case_id),
                           json=json), 400 if error else 200


def _act(case: Case) -> str | None:
    """Carry out the posted action; a Vietnamese error, or None."""
    action, settings = request.form.get("action"), services().settings
    if action == "forward":
        agency = session().get(Agency, request.form.get("agency_id", type=int) or 0)
        if agency is None or not json.loads(agency.emails):
            return "Chọn cơ quan (có địa chỉ email) để chuyển."
        if case.status not in (CaseStatus.triage, CaseStatus.forwarded, CaseStatus.registered, CaseStatus.needs_info):
            return "PAKN ở trạng thái này không chuyển được."
        if case.status == CaseStatus.forwarded and case.agency_id == agency.id:
            return f"PAKN đã ở {agency.name}."  # e.g. the button pressed twice
        field = request.form.get("field") or None
        case.field = field if field in {f.code for f in all_fields()} else case.field
        routing.forward(session(), case=case, agency=agency, settings=settings, actor=_me(),
                        note=f"Văn phòng điều phối chuyển {agency.name}")
    elif action == "needs_info":
        if case.status not in (CaseStatus.triage, CaseStatus.registered):
            return "Chỉ yêu cầu bổ sung với PAKN đang chờ phân loại."
        routing.ask_for_information(session(), case=case, settings=settings, replies=services().redis, actor=_me(),
                                    note=request.form.get("note", "").strip()[:500] or None)
    elif action == "duplicate":
        try:
            earlier = cases.by_code(session(), code=str(codes.parse(request.form.get("code", ""))))
        except CodeError:
            earlier = None
        if earlier is None or earlier.id == case.id or earlier.created_at > case.created_at:
            return "Nhập mã của PAKN trước đó mà PAKN này trùng."
        case.duplicate_of_id = earlier.id
        cases.transition(session(), case=case, to=CaseStatus.closed, actor=_me(), note=f"Trùng PAKN {earlier.code}")
        cases.record_event(session(), case=earlier, actor=_me(), kind=EventKind.status,
                           note=f"PAKN {case.code} trùng với PAKN này")
    else:
        abort(400)
    session().commit()
    deliver_pending(services().queue, settings, outbox.pending_ids(session(), case_id=case.id or 0))
    return None
