"""The coordinating office: triage queue, forward/reroute, duplicates, send back for information."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlmodel import col, select

from gateway import auth, cases, codes, labels, mailbox, messages, routing
from gateway.clock.calendar import local_date
from gateway.clock.due import standing
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, EventKind, Role
from gateway.desks import lists
from gateway.exceptions import CodeError
from gateway.fields import all_fields
from gateway.models import Agency, Case, ClockAlert, utcnow
from gateway.services import services, session
from gateway.signing import service as signing
from gateway.views import files as case_files
from normalizer import bounds
from normalizer.classify import OUT_LABELS

bp = Blueprint("coordinator", __name__)
DECIDABLE = (CaseStatus.triage, CaseStatus.registered, CaseStatus.needs_info)  # may still be closed or forwarded
# The actions the case page offers (and accepts) for each status, as the state machine allows
# (gateway/cases.ALLOWED): out of scope and needs_info from registered or triage, a duplicate is
# closed (from triage, needs_info or forwarded), a forwarded case may be rerouted. Anything else: no action.
ACTIONS: dict[CaseStatus, frozenset[str]] = {
    CaseStatus.registered: frozenset({"forward", "out_of_scope", "needs_info"}),
    CaseStatus.triage: frozenset({"forward", "out_of_scope", "needs_info", "duplicate"}),
    CaseStatus.needs_info: frozenset({"forward", "duplicate"}),
    CaseStatus.forwarded: frozenset({"forward", "duplicate"}),  # reroute, or close as a duplicate
}


def actions_for(case: Case) -> frozenset[str]:
    """What the coordinator may do with ``case`` now."""
    return ACTIONS.get(CaseStatus(case.status), frozenset())
MAX_ALERTS = 50  # the oldest unresolved clock alerts shown; the heading gives how many there are


def _me() -> str:
    return auth.current_user(session()).username  # type: ignore[union-attr]


@bp.get("/")
@auth.login_required(Role.coordinator)
def queue() -> Any:
    """Clock alerts; then the queue, 50 a page: triage first, then overdue, then the rest (docs: Pagination)."""
    today = local_date(utcnow())
    page = lists.queue_page(session(), today=today)
    standings = {c.id: standing(c, today=today) for c, _ in page.rows}
    alerts = session().exec(select(ClockAlert, Case).join(Case, col(ClockAlert.case_id) == col(Case.id))
                            .where(col(ClockAlert.resolved_at).is_(None)).order_by(col(ClockAlert.created_at))
                            .limit(MAX_ALERTS)).all()
    alert_count = session().execute(sa.select(sa.func.count()).select_from(ClockAlert)
                                    .where(col(ClockAlert.resolved_at).is_(None))).scalar_one()
    return render_template("coordinator/queue.html", page=page, counts=lists.queue_counts(session(), today=today),
                           labels=STATUS_LABELS_VI, tz=VN_TZ, alerts=alerts, alert_count=alert_count,
                           standings=standings, CaseStatus=CaseStatus, suggestion=_suggestion,
                           unsigned=signing.unable_to_sign(session(), settings=services().settings), mails=_mails())


def _mails() -> list[dict[str, Any]]:
    """Emails not acted on (unknown sender, no code, auto-reply, bounce), with the reason."""
    out = []
    for row in mailbox.not_acted_on(session(), limit=30):
        fields = json.loads(row.payload).get("fields", {})
        out.append({"at": row.received_at, "sender": fields.get("from", ""), "subject": fields.get("subject", ""),
                    "reason": row.error or "", "case_id": row.case_id, "kind": row.command})
    return out


@bp.post("/alerts/<int:alert_id>/resolve")
@auth.login_required(Role.coordinator)
def resolve_alert(alert_id: int) -> Any:
    """The coordinating office has dealt with a clock alert (e.g. called the citizen)."""
    alert = session().get(ClockAlert, alert_id)
    if alert is None:
        abort(404)
    if alert.resolved_at is None:
        alert.resolved_at, alert.resolved_by = utcnow(), _me()
        session().add(alert)
        case = session().get(Case, alert.case_id)
        if case is not None:
            cases.record_event(session(), case=case, actor=_me(), kind=EventKind.alert,
                               note=f"Đã xử lý cảnh báo: {alert.kind}")
        session().commit()
        flash(f"Đã đánh dấu cảnh báo của PAKN {case.code if case else ''} là đã xử lý.", "success")
    return redirect(url_for("coordinator.queue"), code=303)


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
    auth.audit_view(session(), case=case, actor=_me(), note="Xem thông tin người gửi")  # once per login session
    agencies = session().exec(select(Agency).where(Agency.active == True).order_by(Agency.name)).all()  # noqa: E712
    return render_template("coordinator/case.html", case=case, error=error, agencies=agencies,
                           suggestion=_suggestion(case), fields=all_fields(), labels=STATUS_LABELS_VI, tz=VN_TZ,
                           CaseStatus=CaseStatus, events=cases.timeline(session(), case_id=case_id),
                           suggested=routing.suggested_agency(session(), case), out_labels=OUT_LABELS,
                           open_statuses=DECIDABLE, json=json, actions=actions_for(case),
                           files=case_files.of_case(case),
                           file_url=case_files.url_maker("coordinator.case_file", case_id=case_id),
                           follow_ups=_follow_ups(case)), 400 if error else 200


def _follow_ups(case: Case) -> list[Case]:
    """Follow-ups of ``case`` (a citizen disagreed with its answer)."""
    return list(session().exec(select(Case).where(Case.follows_id == case.id).order_by(col(Case.id))).all())


@bp.get("/cases/<int:case_id>/files/<int:attachment_id>")
@auth.login_required(Role.coordinator)
def case_file(case_id: int, attachment_id: int) -> Any:
    """Download one of the case's files."""
    case = session().get(Case, case_id)
    if case is None:
        abort(404)
    return case_files.send(case, attachment_id)


def _act(case: Case) -> str | None:
    """Carry out the posted action (and flash what was done); a Vietnamese error, or None."""
    action, settings = request.form.get("action"), services().settings
    not_now = f"PAKN đang ở trạng thái «{labels.vi(case.status, 'status')}»: thao tác này không còn thực hiện được."
    allowed = actions_for(case)
    previous = session().get(Agency, case.agency_id) if case.agency_id else None
    if action == "forward":
        agency = session().get(Agency, bounds.ascii_int(request.form.get("agency_id", "")) or 0)
        if agency is None or not json.loads(agency.emails):
            return "Chọn cơ quan (có địa chỉ email) để chuyển."
        if action not in allowed:
            return not_now
        if case.status == CaseStatus.forwarded and case.agency_id == agency.id:
            return f"PAKN đã ở {agency.name}."  # e.g. the button pressed twice
        field = request.form.get("field") or None
        case.field = field if field in {f.code for f in all_fields()} else case.field
        routing.forward(session(), case=case, agency=agency, settings=settings, actor=_me(),
                        note=f"Văn phòng điều phối chuyển {agency.name}")
        done = (f"Đã chuyển PAKN {case.code} từ {previous.name} sang {agency.name}; {previous.name} được báo "
                "PAKN đã rút lại." if previous is not None and previous.id != agency.id
                else f"Đã chuyển PAKN {case.code} tới {agency.name}.")
    elif action == "out_of_scope":
        reason = request.form.get("reason", "")
        if reason not in routing.OUT_OF_SCOPE_REASONS:
            return "Chọn lý do: khiếu nại, tố cáo hoặc tư vấn pháp luật."
        if action not in allowed:
            return not_now
        routing.close_out_of_scope(session(), case=case, reason=reason, settings=settings, replies=services().redis,
                                   actor=_me())
        done = f"Đã đóng PAKN {case.code} ({OUT_LABELS[reason]}) và gửi hướng dẫn cho người gửi."
    elif action == "needs_info":
        if problem := bounds.check_text(request.form.get("note", ""), max_len=bounds.MAX_NOTE):
            return messages.bounds_error(problem, bounds.MAX_NOTE)
        if action not in allowed:
            return not_now
        routing.ask_for_information(session(), case=case, settings=settings, replies=services().redis, actor=_me(),
                                    note=request.form.get("note", "").strip()[:500] or None)
        done = f"Đã yêu cầu người gửi bổ sung thông tin cho PAKN {case.code}."
    elif action == "duplicate":
        try:
            earlier = cases.by_code(session(), code=str(codes.parse(request.form.get("code", ""))))
        except CodeError:
            earlier = None
        if earlier is None or earlier.id == case.id or earlier.created_at > case.created_at:
            return "Nhập mã của PAKN trước đó mà PAKN này trùng."
        if action not in allowed:
            return not_now
        case.duplicate_of_id = earlier.id
        cases.transition(session(), case=case, to=CaseStatus.closed, actor=_me(), note=f"Trùng PAKN {earlier.code}")
        cases.record_event(session(), case=earlier, actor=_me(), kind=EventKind.status,
                           note=f"PAKN {case.code} trùng với PAKN này")
        done = f"Đã đánh dấu PAKN {case.code} trùng với PAKN {earlier.code} và kết thúc."
    else:
        abort(400)
    session().commit()  # messages the action queued are pending: the worker sends them
    flash(done, "success")
    return None
