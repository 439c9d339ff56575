"""Importing the call centre's keyed-call files, checked against the PBX's CDR."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from rq import Queue
from sqlmodel import Session, select

from channels import hotline
from channels.hotline import CdrRecord, KeyedRow
from config.settings import Settings
from gateway import cases
from gateway.constants import VN_TZ, EventKind
from gateway.intake import submit
from gateway.models import CallBack, Case, HotlineCall, utcnow
from gateway.storage import Storage
from normalizer.phone import to_e164

TIME_TOLERANCE = timedelta(minutes=5)


@dataclass
class ImportReport:
    """What an import did, line by line where it matters."""

    imported: int = 0
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line, call id)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    callbacks: int = 0  # unanswered calls put on the call-back list

    def lines(self) -> list[str]:
        """The report as text lines (command line and upload page)."""
        out = [f"imported: {self.imported}", f"duplicates: {len(self.duplicates)}",
               f"rejected: {len(self.rejected)}", f"call-backs from the CDR: {self.callbacks}"]
        out += [f"  line {n}: rejected: {why}" for n, why in self.rejected]
        out += [f"  line {n}: duplicate of call {cid}, already imported" for n, cid in self.duplicates]
        out += [f"  line {n}: warning: {text}" for n, text in self.warnings]
        return out


def _same_number(a: str, b: str) -> bool:
    return (to_e164(a) or a.strip()) == (to_e164(b) or b.strip())


def _check_against_cdr(row: KeyedRow, cdr: CdrRecord, report: ImportReport) -> None:
    if not _same_number(row.values.get("caller", ""), cdr.src):
        report.warnings.append((row.line, f"caller {row.values.get('caller')} differs from the CDR's {cdr.src}"))
    try:
        keyed = hotline.parse_time(row.values.get("started_at", ""))
    except ValueError:
        keyed = None
    if keyed and cdr.start and abs(keyed - cdr.start) > TIME_TOLERANCE:
        report.warnings.append((row.line, f"started_at {keyed:%Y-%m-%d %H:%M} differs from the CDR's "
                                          f"{cdr.start.astimezone(VN_TZ):%Y-%m-%d %H:%M}"))
    if cdr.disposition != "ANSWERED":
        report.warnings.append((row.line, f"the CDR says {cdr.disposition} for a keyed call"))


def _call_row(row: KeyedRow, cdr: CdrRecord | None, operator: str | None) -> HotlineCall:
    values = row.values
    try:
        started = hotline.parse_time(values.get("started_at", "")) or (cdr.start if cdr else None)
    except ValueError:
        started = cdr.start if cdr else None
    caller = to_e164(values.get("caller", "")) or values.get("caller", "")[:20]
    return HotlineCall(call_id=values["call_id"], caller=caller, started_at=started, operator=operator,
                       source="import", duration=cdr.duration if cdr else None,
                       billsec=cdr.billsec if cdr else None, disposition=cdr.disposition if cdr else None)


def _import_row(session: Session, row: KeyedRow, *, cdr: CdrRecord | None, settings: Settings, storage: Storage,
                queue: Queue, operator: str | None, report: ImportReport) -> None:
    call_id = row.values.get("call_id", "").strip()
    if row.error or not call_id:
        report.rejected.append((row.line, row.error or "call_id is empty"))
        return
    if session.exec(select(HotlineCall.id).where(HotlineCall.call_id == call_id)).first():
        report.duplicates.append((row.line, call_id))
        return
    if cdr is not None:
        _check_against_cdr(row, cdr, report)
    message = hotline.parse(row.values, call_id=call_id)
    outcome = submit(session, message=message, settings=settings, storage=storage, queue=queue,
                     created_by=operator, call=_call_row(row, cdr, operator))
    if outcome.errors:
        reasons = "; ".join(m for msgs in outcome.errors.values() for m in msgs)
        report.rejected.append((row.line, reasons))
    elif outcome.duplicate:
        report.duplicates.append((row.line, call_id))
    else:
        report.imported += 1


def _unanswered(session: Session, cdr: dict[str, CdrRecord], keyed: set[str], report: ImportReport) -> None:
    for record in cdr.values():
        if record.disposition not in hotline.UNANSWERED or record.uniqueid in keyed:
            continue
        key = f"cdr-{hashlib.sha256(record.uniqueid.encode()).hexdigest()[:32]}"
        if session.exec(select(CallBack.id).where(CallBack.key == key)).first():
            continue
        when = record.start.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if record.start else "?"
        session.add(CallBack(key=key, phone=to_e164(record.src) or record.src[:20],
                             reason=f"Cuộc gọi nhỡ lúc {when} ({record.disposition})"))
        report.callbacks += 1
    session.commit()


def import_calls(session: Session, *, rows: list[KeyedRow], cdr: dict[str, CdrRecord] | None, settings: Settings,
                 storage: Storage, queue: Queue, operator: str | None = None,
                 progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import keyed calls (idempotent by call id); unanswered CDR calls become call-backs."""
    report = ImportReport()
    cdr = cdr or {}
    for row in rows:
        _import_row(session, row, cdr=cdr.get(row.values.get("call_id", "")), settings=settings, storage=storage,
                    queue=queue, operator=operator, report=report)
        if progress:
            progress(1)
    keyed = {r.values.get("call_id", "") for r in rows}
    for uniqueid, record in cdr.items():
        if record.disposition == "ANSWERED" and uniqueid not in keyed:
            report.warnings.append((0, f"answered call {uniqueid} from {record.src} has no keyed row"))
    _unanswered(session, cdr, keyed, report)
    return report


def note_callback_attempt(session: Session, *, entry: CallBack, actor: str, note: str | None, done: bool) -> None:
    """An operator called back: count it, and close the entry when done."""
    entry.attempts += 1
    entry.note = "\n".join(filter(None, [entry.note, f"{actor}: {note}" if note else None]))
    if done:
        entry.done_at = utcnow()
    session.add(entry)
    case = session.get(Case, entry.case_id) if entry.case_id else None
    if case is not None:
        cases.record_event(session, case=case, actor=actor, kind=EventKind.callback,
                           note=("Đã gọi lại" if done else "Gọi lại chưa được") + (f": {note}" if note else ""))
    session.commit()
