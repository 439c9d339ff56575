"""The signed answer of a case: made once (in the worker), stored, audited, linked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from config.settings import Settings
from gateway import cases
from gateway.constants import VN_TZ, EventKind
from gateway.exceptions import SigningError
from gateway.models import Agency, Attachment, Case, Event
from gateway.signing import config as signing_config
from gateway.storage import Storage
from normalizer import bounds

if TYPE_CHECKING:
    from gateway.signing.letter import LetterContent

log = logging.getLogger(__name__)
SOURCE = "signed"  # Attachment.source of the signed answer (one per case: a unique index)
TOKEN_SALT = b"pakn-signed-answer:"


def filename(case: Case) -> str:
    """The signed answer's file name."""
    return f"PAKN-{case.code}-tra-loi.pdf"


def signed_answer(session: Session, *, case_id: int) -> Attachment | None:
    """The stored signed answer of a case, if there is one."""
    return session.exec(select(Attachment).where(Attachment.case_id == case_id,
                                                 Attachment.source == SOURCE)).first()


def can_sign(settings: Settings, agency: Agency | None) -> bool:
    """True when the agency has a signing configuration.

    Called on the web tier, which need not hold the PINs or the tokens' libraries: those
    are checked where signing happens (the worker; ``agencies certificate status``).
    """
    return agency is not None and signing_config.load(settings).for_agency(agency.code) is not None


def unable_to_sign(session: Session, *, settings: Settings) -> list[tuple[Agency, str]]:
    """Active agencies whose answers go out unsigned, with the reason (for the coordinator's desk).

    Not configured, or configured but the agency's latest signing attempt failed.
    """
    config = signing_config.load(settings)
    found = []
    for agency in session.exec(select(Agency).where(Agency.active == True).order_by(Agency.name)).all():  # noqa: E712
        if config.for_agency(agency.code) is None:
            found.append((agency, "chưa cấu hình chứng thư số"))
            continue
        latest = session.exec(
            select(Event).join(Case, col(Case.id) == Event.case_id)
            .where(Case.agency_id == agency.id, col(Event.kind).in_([EventKind.signed, EventKind.signing_failed]))
            .order_by(col(Event.at).desc(), col(Event.id).desc()).limit(1)).first()
        if latest is not None and latest.kind == EventKind.signing_failed:
            when = latest.at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
            found.append((agency, f"lần ký gần nhất ({when}) không thành công: {latest.note or ''}"[:300]))
    return found


def _content(case: Case, agency: Agency, signer: signing_config.AgencySigner, holder: str) -> LetterContent:
    from gateway.signing.letter import LetterContent

    assert case.answer is not None and case.answered_at is not None and case.code is not None
    addressee = f"Ông/Bà {case.full_name}" if case.full_name else f"Người gửi phản ánh, kiến nghị mã {case.code}"
    return LetterContent(agency_name=agency.name, number=f"{case.code}/TL-PAKN", code=case.code, place=signer.place,
                         date=case.answered_at, addressee=addressee, title=case.title, received=case.created_at,
                         answer=case.answer, signer_title=signer.signer_title.replace("\\n", "\n"),
                         signer_name=signer.signer_name or holder, signed_by=holder)


def ensure_signed_answer(session: Session, *, case: Case, settings: Settings, storage: Storage) -> Attachment | None:
    """The case's signed answer, made and committed if it does not exist yet; idempotent.

    None when there is nothing to sign (no answer) or the agency has no certificate
    configured: the answer then goes out unsigned. Raises SigningError when the agency
    has one but signing fails (token absent, wrong PIN, TSA down). Commits its own work.
    """
    if case.id is None or case.answer is None or case.agency_id is None or case.answered_at is None:
        return None
    existing = signed_answer(session, case_id=case.id)
    if existing is not None:
        return existing
    agency = session.get(Agency, case.agency_id)
    config = signing_config.load(settings)
    signer_config = config.for_agency(agency.code) if agency else None
    if agency is None or signer_config is None:
        return None
    from gateway.signing.letter import render  # pyHanko and fpdf2 load only where signing happens
    from gateway.signing.signer import common_name, open_signer, sign_letter

    with open_signer(signer_config) as signer:
        holder = common_name(signer)
        letter = render(_content(case, agency, signer_config, holder))
        pdf = sign_letter(letter, signer=signer, tsa_url=config.tsa_url, location=signer_config.place,
                          reason=f"Trả lời PAKN {case.code}")
    digest = hashlib.sha256(pdf).hexdigest()
    key = storage.save(pdf)
    row = Attachment(case_id=case.id, filename=filename(case), storage_key=key, content_type="application/pdf",
                     size=len(pdf), sha256=digest, source=SOURCE)
    session.add(row)
    cases.record_event(session, case=case, actor=f"agency:{agency.code}", kind=EventKind.signed,
                       note=f"Văn bản trả lời ký số bởi {holder}"
                            f"{' (chứng thư thử nghiệm)' if signer_config.development else ''}; SHA-256 {digest}")
    try:
        session.commit()
    except IntegrityError:  # another worker signed it first: keep theirs
        session.rollback()
        storage.delete(key)
        return signed_answer(session, case_id=case.id)
    return row


def signed_answer_or_unsigned(session: Session, *, case: Case, settings: Settings,
                              storage: Storage) -> Attachment | None:
    """For the sender: the signed answer, or None when it cannot be made (recorded on the case).

    A failing token must not keep the citizen waiting: the answer goes out unsigned and
    the failure is in the audit trail and the log.
    """
    try:
        return ensure_signed_answer(session, case=case, settings=settings, storage=storage)
    except SigningError as exc:
        session.rollback()
        log.error("case %s: answer not signed: %s", case.id, exc)
        cases.record_event(session, case=case, actor="worker", kind=EventKind.signing_failed,
                           note=f"Không ký số được văn bản trả lời, gửi bản không ký: {exc}"[:1000])
        session.commit()
        return None


# --- the short link in SMS answers ------------------------------------------------

def _mac(settings: Settings, case_id: int) -> str:
    digest = hmac.new(settings.secret_key.encode(), TOKEN_SALT + str(case_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:16]


def document_token(settings: Settings, *, case_id: int) -> str:
    """A short unguessable token for one case's signed answer (``<id>-<96-bit MAC>``)."""
    return f"{case_id}-{_mac(settings, case_id)}"


def read_document_token(settings: Settings, token: str) -> int | None:
    """The case id of a valid token, else None."""
    text, _, mac = token.partition("-")
    case_id = bounds.ascii_int(text)  # not str.isdigit: "²" is a digit to it, and int() refuses it
    if case_id is None:
        return None
    return case_id if hmac.compare_digest(mac.encode(), _mac(settings, case_id).encode()) else None


def document_url(settings: Settings, *, case_id: int) -> str:
    """The short link to a case's signed answer (sent by SMS)."""
    return f"{settings.public_base_url}/vb/{document_token(settings, case_id=case_id)}"


def verify_url(settings: Settings, code: str | None = None) -> str:
    """The public verification page (for a code, when given)."""
    return f"{settings.public_base_url}/verify" + (f"?code={code}" if code else "")



def sign_missing(session: Session, *, settings: Settings, storage: Storage, limit: int = 20) -> int:
    """Sign answers that no message carried to the worker (e.g. a landline caller's call-back).

    Answered cases of agencies with a certificate, without a signed answer and without a
    failed attempt; at most ``limit`` per run. Returns how many were signed.
    """
    config = signing_config.load(settings)
    if not config.agencies:
        return 0
    failed = select(Event.case_id).where(Event.kind == EventKind.signing_failed)
    signed = select(Attachment.case_id).where(Attachment.source == SOURCE)
    rows = session.exec(
        select(Case).join(Agency, col(Agency.id) == Case.agency_id)
        .where(col(Case.answered_at).is_not(None), col(Case.answer).is_not(None),
               col(Agency.code).in_(list(config.agencies)), col(Case.id).not_in(signed), col(Case.id).not_in(failed))
        .order_by(col(Case.answered_at)).limit(limit)).all()
    done = 0
    for case in rows:
        done += signed_answer_or_unsigned(session, case=case, settings=settings, storage=storage) is not None
    return done
