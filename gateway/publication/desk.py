"""The coordinator's publication desk: propose, compare, edit, publish or decline."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlmodel import col, select

from gateway import auth, cases
from gateway.constants import VN_TZ, CaseStatus, EventKind, PublicationStatus, Role
from gateway.exceptions import PublicationError
from gateway.models import Case, Publication
from gateway.publication import service
from gateway.services import services, session
from normalizer.redact import Redaction

bp = Blueprint("publication", __name__)
LIST_LIMIT = 100


def _me() -> str:
    return auth.current_user(session()).username  # type: ignore[union-attr]


def highlight(text: str, redaction: Redaction) -> Markup:
    """The original text with each piece of personal data marked."""
    out, last = [], 0
    for finding in redaction.findings:
        out.append(escape(text[last:finding.start]))
        out.append(Markup('<mark class="pii" title="{}">{}</mark>').format(finding.kind.value, finding.text))
        last = finding.end
    out.append(escape(text[last:]))
    return Markup("").join(out)


@bp.get("/")
@auth.login_required(Role.coordinator)
def desk() -> Any:
    """Proposals waiting for a decision, answered cases that could be proposed, recent decisions."""
    db, settings = session(), services().settings
    proposed = db.exec(select(Publication, Case).join(Case, col(Case.id) == col(Publication.case_id))
                       .where(Publication.status == PublicationStatus.proposed)
                       .order_by(col(Publication.proposed_at))).all()
    taken = select(Publication.case_id)
    candidates = db.exec(select(Case).where(Case.status == CaseStatus.answered, col(Case.id).not_in(taken))
                         .order_by(col(Case.answered_at).desc()).limit(LIST_LIMIT)).all()
    decided = db.exec(select(Publication, Case).join(Case, col(Case.id) == col(Publication.case_id))
                      .where(col(Publication.status) != PublicationStatus.proposed)
                      .order_by(col(Publication.decided_at).desc()).limit(30)).all()
    return render_template("publication/desk.html", proposed=proposed, candidates=candidates, decided=decided,
                           consents=lambda c: service.consents(c, settings), tz=VN_TZ)


@bp.post("/propose/<int:case_id>")
@auth.login_required(Role.coordinator)
def propose(case_id: int) -> Any:
    """Propose an answered case: the redacted drafts are made and the editor opens."""
    case = session().get(Case, case_id) or abort(404)
    try:
        service.propose(session(), case=case, actor=_me(), settings=services().settings)
    except PublicationError as exc:
        session().rollback()
        abort(409, description=str(exc))
    session().commit()
    return redirect(url_for("publication.editor", case_id=case_id), code=303)


@bp.route("/<int:case_id>", methods=["GET", "POST"])
@auth.login_required(Role.coordinator)
def editor(case_id: int) -> Any:
    """Originals (personal data marked) beside the editable public version; publish or decline."""
    db = session()
    case = db.get(Case, case_id) or abort(404)
    publication = service.for_case(db, case_id=case_id) or abort(404)
    error, status = None, 200
    if request.method == "POST":
        try:
            if request.form.get("action") == "publish":
                service.publish(db, publication=publication, case=case, title=request.form.get("title", ""),
                                content=request.form.get("content", ""), answer=request.form.get("answer", ""),
                                actor=_me(), settings=services().settings, checked=request.form.get("checked") == "1")
            elif request.form.get("action") == "take_down":
                service.take_down(db, publication=publication, case=case, reason=request.form.get("reason", ""),
                                  actor=_me())
            elif request.form.get("action") == "decline":
                service.decline(db, publication=publication, case=case, reason=request.form.get("reason", ""),
                                actor=_me())
            else:
                abort(400)
            db.commit()
            return redirect(url_for("publication.editor", case_id=case_id), code=303)
        except PublicationError as exc:
            db.rollback()
            error, status = str(exc), 400
            publication = service.for_case(db, case_id=case_id) or abort(404)
            publication.title = request.form.get("title", publication.title)
            publication.content = request.form.get("content", publication.content)
            publication.answer = request.form.get("answer", publication.answer)
    if request.method == "GET":
        cases.record_event(db, case=case, actor=_me(), kind=EventKind.view, note="Xem bản gốc để công khai")
        db.commit()
    found = service.drafts(case)
    originals = {"title": highlight(case.title, found.title), "content": highlight(case.content, found.content),
                 "answer": highlight(case.answer or "", found.answer)}
    findings = [*found.title.findings, *found.content.findings, *found.answer.findings]
    return render_template("publication/editor.html", case=case, publication=publication, originals=originals,
                           findings=findings, error=error, tz=VN_TZ, PublicationStatus=PublicationStatus), status
