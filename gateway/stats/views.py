"""Staff statistics page ``/thong-ke`` and its exports (CSV, XLSX), every export audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from gateway import auth
from gateway.constants import VN_TZ, Role
from gateway.exceptions import PeriodError
from gateway.models import utcnow
from gateway.services import session
from gateway.stats import charts, export, periods, store
from gateway.stats.compute import Stats, compute
from gateway.stats.report import as_of_text, narrative, tables, vn_decimal, vn_number, vn_percent

bp = Blueprint("stats", __name__)
STATS_ROLES = (Role.coordinator, Role.operator)  # and admin; agency staff see their own dashboard only
PERSONAL_ROLES = frozenset({Role.coordinator, Role.admin})  # may export names, phones, emails, addresses
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def requested_period() -> periods.Period:
    """The period in the query string (``quy=2026-Q3`` or ``tu=…&den=…``); 400 if unreadable."""
    try:
        return periods.from_request(request.args.get("quy"), request.args.get("tu"), request.args.get("den"), utcnow())
    except PeriodError:
        abort(400, description="Kỳ báo cáo không hợp lệ. Chọn quý (ví dụ 2026-Q3) hoặc từ ngày – đến ngày.")


def period_args() -> dict[str, str]:
    """The period's query parameters, for links that keep it."""
    return {k: request.args[k] for k in ("quy", "tu", "den") if request.args.get(k)}


def chart_set(stats: Stats) -> dict[str, Any]:
    """The four charts of a period."""
    fields = [c for c in stats.by_field]
    return {
        "field": charts.hbars(f"PAKN theo lĩnh vực, {stats.period.label}", [(c.label, c.count) for c in fields],
                              suffix=[vn_percent(c.count, stats.in_scope) for c in fields]),
        "type": charts.hbars(f"PAKN theo loại, {stats.period.label}", [(c.label, c.count) for c in stats.by_type],
                             suffix=[vn_percent(c.count, stats.in_scope) for c in stats.by_type]),
        "agency": charts.agency_bars(f"Trả lời đúng hạn theo cơ quan, {stats.period.label}",
                                     [(a.name, a.on_time, a.late, a.pending) for a in stats.agencies]),
        "weeks": charts.columns(f"PAKN tiếp nhận theo tuần, {stats.period.label}",
                                [(f"Tuần {w.key} ({w.label})", w.count) for w in stats.weeks]),
    }


def template_helpers() -> dict[str, Any]:
    """Number formatting for the templates."""
    return {"vn_number": vn_number, "vn_percent": vn_percent, "vn_decimal": vn_decimal, "as_of_text": as_of_text,
            "tz": VN_TZ}


@bp.get("/")
@auth.login_required(*STATS_ROLES)
def page() -> Any:
    """The figures, charts and tables of a period (the current quarter by default).

    A quarter's figures are the kept ones (minutes old, the page says when); a date range is computed live.
    """
    period = requested_period()
    stats = store.figures(session(), period)
    user = auth.current_user(session())
    return render_template("stats/page.html", stats=stats, period=period, text=narrative(stats),
                           tables=tables(stats), charts=chart_set(stats), quarters=periods.recent_quarters(utcnow()),
                           personal=user is not None and user.role in PERSONAL_ROLES, period_args=period_args(),
                           **template_helpers())


@bp.get("/export.<fmt>")
@auth.login_required(*STATS_ROLES)
def export_file(fmt: str) -> Response:
    """``what=stats`` (default) or ``what=cases`` as CSV or XLSX; personal columns by role; audited."""
    if fmt not in FORMATS:
        abort(404)
    what = request.args.get("what", "stats")
    if what not in ("stats", "cases"):
        abort(400)
    period = requested_period()
    user = auth.current_user(session())
    assert user is not None
    personal = user.role in PERSONAL_ROLES and request.args.get("personal") == "1"
    if what == "stats":
        sheets: list[export.Sheet] = export.stats_sheets(compute(session(), period=period))
        rows = sum(len(s[2]) for s in sheets)
    else:
        header, case_rows = export.case_rows(session(), period=period, personal=personal)
        sheets, rows = [(f"PAKN {period.key}", header, case_rows)], len(case_rows)
    body = export.to_csv(sheets) if fmt == "csv" else export.to_xlsx(sheets)
    export.audit(session(), actor=user.username, what=what, fmt=fmt, period=period, rows=rows, personal=personal)
    session().commit()
    name = f"{'thong-ke' if what == 'stats' else 'danh-sach-pakn'}-{period.key}.{fmt}"
    response = Response(body, mimetype=FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
