"""Publishing answered cases: propose (redacted drafts), edit, publish or decline, withdraw.

Nothing is public without the coordinator's decision. The public version lives in its
own row (``publication``); the case's own title, content and answer are never shown on
public pages. The case goes ``answered → published`` through :func:`gateway.cases.transition`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from config.settings import Settings
from gateway import cases
from gateway.constants import VN_TZ, CaseStatus, EventKind, PublicationStatus
from gateway.exceptions import PublicationError
from gateway.models import Case, Publication, utcnow
from gateway.publication.search import search_text
from normalizer.redact import Finding, Redaction, redact
from normalizer.text import clean_block, clean_line

PROPOSABLE = (CaseStatus.answered,)


@dataclass(frozen=True)
class Drafts:
    """The redacted title, content and answer of a case, with what was removed."""

    title: Redaction
    content: Redaction
    answer: Redaction


def consents(case: Case, settings: Settings) -> bool:
    """May this case be published, as far as its citizen is concerned?"""
    return case.publish_consent if case.publish_consent is not None else settings.publish_default


def redact_for(case: Case, text: str) -> Redaction:
    """Redact ``text`` knowing the sender's own name, email, address and phone."""
    return redact(text, names=[case.full_name] if case.full_name else [],
                  emails=[case.email] if case.email else [], addresses=[case.address] if case.address else [],
                  phones=[case.phone] if case.phone else [])


def drafts(case: Case) -> Drafts:
    """The redacted title, content and answer of ``case``."""
    return Drafts(title=redact_for(case, case.title), content=redact_for(case, case.content),
                  answer=redact_for(case, case.answer or ""))


def residue(case: Case, *, title: str, content: str, answer: str) -> list[Finding]:
    """Personal data still found in an edited public version."""
    return [f for text in (title, content, answer) for f in redact_for(case, text).findings]


def for_case(session: Session, *, case_id: int) -> Publication | None:
    """The case's publication row, if any."""
    return session.exec(select(Publication).where(Publication.case_id == case_id)).first()


def propose(session: Session, *, case: Case, actor: str, settings: Settings) -> Publication:
    """Propose an answered case for publication, with redacted drafts (the caller commits)."""
    assert case.id is not None
    if case.status not in PROPOSABLE or not case.answer:
        raise PublicationError("Chỉ đề xuất công khai PAKN đã có kết quả trả lời.")
    if not consents(case, settings):
        raise PublicationError("Người gửi không đồng ý công khai PAKN này.")
    existing = for_case(session, case_id=case.id)
    if existing is not None and existing.status in (PublicationStatus.proposed, PublicationStatus.published):
        return existing
    if existing is not None and existing.status == PublicationStatus.withdrawn:
        raise PublicationError("Người gửi đã yêu cầu gỡ công khai PAKN này.")
    found = drafts(case)
    removed = len(found.title.findings) + len(found.content.findings) + len(found.answer.findings)
    row = existing or Publication(case_id=case.id, title="", content="", answer="", proposed_by=actor)
    row.status, row.proposed_by, row.proposed_at = PublicationStatus.proposed, actor, utcnow()
    row.title, row.content, row.answer = found.title.text[:200], found.content.text, found.answer.text
    row.decided_by = row.decided_at = row.reason = None
    session.add(row)
    cases.record_event(session, case=case, actor=actor, kind=EventKind.publication,
                       note=f"Đề xuất công khai ({removed} thông tin cá nhân được che)")
    return row


def publish(session: Session, *, publication: Publication, case: Case, title: str, content: str, answer: str,
            actor: str, settings: Settings, checked: bool = False) -> None:
    """Publish the (edited) public version; refuse while personal data remains unless ``checked``."""
    title, content, answer = clean_line(title)[:200], clean_block(content), clean_block(answer)
    if publication.status != PublicationStatus.proposed:
        raise PublicationError("PAKN này không ở trạng thái chờ quyết định công khai.")
    if case.status not in PROPOSABLE:
        raise PublicationError("PAKN không còn ở trạng thái đã trả lời (có thể người dân không đồng ý với kết quả).")
    if not consents(case, settings):
        raise PublicationError("Người gửi không đồng ý công khai PAKN này.")
    if len(title) < 5 or len(content) < 10 or len(answer) < 10:
        raise PublicationError("Bản công khai cần có tiêu đề, nội dung và kết quả trả lời.")
    left = residue(case, title=title, content=content, answer=answer)
    if left and not checked:
        listed = ", ".join(sorted({f"{f.kind.value} «{f.text}»" for f in left}))
        raise PublicationError(f"Bản công khai còn thông tin cá nhân: {listed}. Sửa lại, hoặc đánh dấu "
                               "“Đã kiểm tra” nếu đó không phải thông tin cá nhân.")
    now = utcnow()
    publication.title, publication.content, publication.answer = title, content, answer
    publication.search_text = search_text(title, content, answer)
    publication.status, publication.decided_by, publication.decided_at = PublicationStatus.published, actor, now
    publication.published_at = now
    session.add(publication)
    cases.transition(session, case=case, to=CaseStatus.published, actor=actor,
                     note=f"Công khai kết quả ngày {now:%d/%m/%Y}")


def _end(session: Session, *, publication: Publication, case: Case, reason: str, actor: str,
         start: PublicationStatus, end: PublicationStatus, what: str, not_in_start: str) -> None:
    """Move ``publication`` from ``start`` to ``end`` with the coordinator's reason, recorded on the case."""
    reason = clean_line(reason)
    if len(reason) < 5:
        raise PublicationError(f"Nêu lý do {what}.")
    if publication.status != start:
        raise PublicationError(not_in_start)
    publication.status, publication.reason = end, reason[:1000]
    publication.decided_by, publication.decided_at = actor, utcnow()
    session.add(publication)
    note = f"{what[0].upper()}{what[1:]}: {reason}"
    cases.record_event(session, case=case, actor=actor, kind=EventKind.publication, note=note)


def decline(session: Session, *, publication: Publication, case: Case, reason: str, actor: str) -> None:
    """Do not publish, with the reason (recorded on the case)."""
    _end(session, publication=publication, case=case, reason=reason, actor=actor,
         start=PublicationStatus.proposed, end=PublicationStatus.declined, what="không công khai",
         not_in_start="PAKN này không ở trạng thái chờ quyết định công khai.")


def take_down(session: Session, *, publication: Publication, case: Case, reason: str, actor: str) -> None:
    """The coordinator removes a published case from the public pages, with the reason."""
    _end(session, publication=publication, case=case, reason=reason, actor=actor,
         start=PublicationStatus.published, end=PublicationStatus.withdrawn, what="gỡ công khai",
         not_in_start="PAKN này không đang được công khai.")


def refuse(session: Session, *, case: Case, actor: str, via: str) -> bool:
    """The citizen asks not to be published: remembered, and a public version is taken down.

    Returns True when something public (or proposed) was withdrawn.
    """
    assert case.id is not None
    case.publish_consent = False
    case.updated_at = utcnow()
    session.add(case)
    row = for_case(session, case_id=case.id)
    withdrawn = row is not None and row.status in (PublicationStatus.proposed, PublicationStatus.published)
    if row is not None and withdrawn:
        row.status, row.reason = PublicationStatus.withdrawn, f"Người gửi yêu cầu không công khai ({via})"
        row.decided_by, row.decided_at = actor, utcnow()
        session.add(row)
    cases.record_event(session, case=case, actor=actor, kind=EventKind.publication,
                       note=f"Người gửi không đồng ý công khai ({via})"
                       + ("; đã gỡ khỏi trang công khai" if withdrawn else ""))
    return withdrawn


def published_on(session: Session, *, case: Case) -> date | None:
    """The Vietnam date on which ``case`` was published, or None."""
    row = for_case(session, case_id=case.id or 0)
    if row is None or row.status != PublicationStatus.published or row.published_at is None:
        return None
    return row.published_at.astimezone(VN_TZ).date()
