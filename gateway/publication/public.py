"""Public pages ``/cong-khai``: published questions and answers, their search, an Atom feed, a summary.

Only the coordinator-approved public version (``publication`` row) and non-personal case
facts (code, dates, field, agency) are ever rendered here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from sqlmodel import select

from gateway import codes, messages
from gateway.exceptions import CodeError, PeriodError
from gateway.fields import all_fields
from gateway.models import Agency, Case, Publication, utcnow
from gateway.publication import search
from gateway.services import services, session
from gateway.signing.service import signed_answer
from gateway.stats import periods, store
from gateway.stats.report import narrative, tables
from gateway.stats.views import chart_set, template_helpers
from normalizer import bounds

bp = Blueprint("public", __name__)
PAGE_SIZE = 20
FEED_SIZE = 50
ATOM = "http://www.w3.org/2005/Atom"


@bp.app_context_processor
def publication_default() -> dict[str, bool]:
    """The submit form's publication checkbox follows PUBLISH_DEFAULT."""
    return {"publish_default": services().settings.publish_default}


def _field_names() -> dict[str, str]:
    return {f.code: f.name for f in all_fields()}


MAX_PAGE = 100_000  # "trang": past this is no page (and OFFSET stays far from bigint)


def _filters() -> tuple[search.Filters, periods.Period | None]:
    for name in ("q", "linh_vuc", "co_quan", "quy"):
        if problem := bounds.check_text(request.args.get(name, ""), max_len=bounds.MAX_QUERY):
            abort(400, description=messages.bounds_error(problem, bounds.MAX_QUERY))
    quarter = None
    if request.args.get("quy"):
        try:
            quarter = periods.parse_quarter(request.args["quy"])
        except PeriodError:
            abort(400, description="Quý không hợp lệ (ví dụ 2026-Q3).")
    return search.Filters(query=request.args.get("q", "")[:200], field=request.args.get("linh_vuc") or None,
                          agency=request.args.get("co_quan") or None, start=quarter.start if quarter else None,
                          end=quarter.end if quarter else None), quarter


@bp.get("/")
def index() -> Any:
    """Published cases, newest first; filters by field, agency and quarter; diacritic-blind search."""
    filters, quarter = _filters()
    page = max(1, bounds.ascii_int(request.args.get("trang", "1"), maximum=MAX_PAGE) or 1)
    rows, total = search.published(session(), filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    agencies = session().exec(select(Agency).where(Agency.active == True).order_by(Agency.name)).all()  # noqa: E712
    current = periods.quarter_of(utcnow())
    summary = store.figures(session(), quarter or current)
    args = {k: v for k, v in request.args.items() if k != "trang"}
    return render_template("public/index.html", rows=rows, total=total, page=page, pages=-(-total // PAGE_SIZE),
                           filters=filters, quarter=quarter, agencies=agencies, fields=all_fields(),
                           field_names=_field_names(), quarters=periods.recent_quarters(utcnow()), summary=summary,
                           args=args, **template_helpers())


@bp.get("/thong-ke")
def summary() -> Any:
    """The public summary of a quarter: aggregate figures and charts, nothing about any one person.

    The figures are the kept ones (gateway/stats/store.py), minutes old; the page says when they were computed.
    """
    try:
        period = periods.parse_quarter(request.args["quy"]) if request.args.get("quy") else periods.quarter_of(utcnow())
    except PeriodError:
        abort(400, description="Quý không hợp lệ (ví dụ 2026-Q3).")
    stats = store.figures(session(), period)
    return render_template("public/summary.html", stats=stats, period=period, text=narrative(stats),
                           tables=tables(stats), charts=chart_set(stats), quarters=periods.recent_quarters(utcnow()),
                           **template_helpers())


def _published_by_code(code_text: str) -> tuple[Publication, Case, Agency | None]:
    try:
        code = codes.parse(code_text)
    except CodeError:
        abort(404)
    found = search.by_code(session(), code=str(code))
    if found is None:
        abort(404)
    return found


@bp.get("/<code_text>")
def case_page(code_text: str) -> Any:
    """One published case by its PAKN code (any accepted spelling)."""
    publication, case, agency = _published_by_code(code_text)
    signed = signed_answer(session(), case_id=case.id or 0)  # its hash, not the letter: the letter names the citizen
    return render_template("public/case.html", p=publication, case=case, agency=agency, signed=signed,
                           field_name=_field_names().get(case.field or "", ""), **template_helpers())


@bp.get("/feed.atom")
def feed() -> Response:
    """Atom feed of the latest published answers."""
    rows, _ = search.published(session(), search.Filters(), limit=FEED_SIZE)
    base = services().settings.public_base_url
    root = ET.Element("feed", xmlns=ATOM, attrib={"xml:lang": "vi"})
    ET.SubElement(root, "title").text = "Kết quả trả lời phản ánh, kiến nghị được công khai"
    ET.SubElement(root, "id").text = f"{base}{url_for('public.index')}"
    ET.SubElement(root, "link", href=f"{base}{url_for('public.feed')}", rel="self")
    ET.SubElement(root, "link", href=f"{base}{url_for('public.index')}", rel="alternate")
    updated = rows[0][0].published_at if rows else utcnow()
    ET.SubElement(root, "updated").text = (updated or utcnow()).isoformat()
    author = ET.SubElement(root, "author")
    ET.SubElement(author, "name").text = "Văn phòng điều phối PAKN"
    for publication, case, agency in rows:
        entry = ET.SubElement(root, "entry")
        link = f"{base}{url_for('public.case_page', code_text=case.code)}"
        ET.SubElement(entry, "title").text = f"PAKN {case.code}: {publication.title}"
        ET.SubElement(entry, "id").text = link
        ET.SubElement(entry, "link", href=link, rel="alternate")
        ET.SubElement(entry, "updated").text = (publication.published_at or utcnow()).isoformat()
        ET.SubElement(entry, "published").text = (publication.published_at or utcnow()).isoformat()
        if agency is not None:
            ET.SubElement(entry, "category", term=agency.code, label=agency.name)
        ET.SubElement(entry, "summary").text = publication.content[:500]
        ET.SubElement(entry, "content", type="text").text = (
            f"{publication.content}\n\nKết quả trả lời{f' của {agency.name}' if agency else ''}:\n{publication.answer}")
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, mimetype="application/atom+xml; charset=utf-8")
