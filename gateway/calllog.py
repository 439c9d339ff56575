"""Importing the call centre's keyed-call files, checked against the PBX's CDR."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from channels import hotline
from channels.base import InboundMessage as Received
from channels.hotline import CdrRecord, KeyedRow
from config.settings import Settings
from gateway import cases, messages
from gateway.constants import DISPOSITION_LABELS_VI, VN_TZ, CaseStatus, Channel, EventKind
from gateway.db import copy_insert
from gateway.intake import MAX_RAW_FIELD, submit, validate
from gateway.models import CallBack, Case, Event, HotlineCall, InboundMessage, new_token, utcnow
from gateway.storage import Storage
from normalizer.phone import to_e164
from normalizer.text import match_key

TIME_TOLERANCE = timedelta(minutes=5)
BATCH_ROWS = 500  # rows per transaction: one set-based INSERT per table per batch
MAX_LISTED = 1000  # duplicates and warnings listed one by one; beyond this they are only counted


@dataclass
class ImportReport:
    """What an import did, line by line where it matters (rejected rows: every one)."""

    imported: int = 0
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line, call id), the first MAX_LISTED
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    warnings: list[tuple[int, str]] = field(default_factory=list)  # (line or 0 for the CDR, text)
    callbacks: int = 0  # unanswered calls put on the call-back list
    duplicate_count: int = 0
    warning_count: int = 0

    def duplicate(self, line: int, call_id: str) -> None:
        """Count a row whose call was imported before (listed up to MAX_LISTED)."""
        self.duplicate_count += 1
        if len(self.duplicates) < MAX_LISTED:
            self.duplicates.append((line, call_id))

    def warn(self, line: int, text: str) -> None:
        """Count a disagreement with the CDR (listed up to MAX_LISTED)."""
        self.warning_count += 1
        if len(self.warnings) < MAX_LISTED:
            self.warnings.append((line, text))

    def summary(self) -> str:
        """One Vietnamese sentence: imported, skipped, rejected."""
        return messages.text("calllog", "summary", imported=self.imported, duplicates=self.duplicate_count,
                             rejected=len(self.rejected))

    def rows(self) -> list[tuple[str, str, str]]:
        """(where, kind, detail) for each listed line: errors first, then skipped rows, then warnings."""
        def where(line: int) -> str:
            return messages.text("calllog", "line", line=line) if line else messages.text("calllog", "no_line")

        out = [(where(n), messages.text("calllog", "kind_rejected"), why) for n, why in self.rejected]
        out += [(where(n), messages.text("calllog", "kind_duplicate"), messages.text("calllog", "duplicate",
                                                                                      call_id=cid))
                for n, cid in self.duplicates]
        out += [(where(n), messages.text("calllog", "kind_warning"), text) for n, text in self.warnings]
        return out

    def unlisted(self) -> int:
        """Duplicates and warnings counted but not listed."""
        return self.duplicate_count - len(self.duplicates) + self.warning_count - len(self.warnings)

    def callback_text(self) -> str:
        """How many missed calls went on the call-back list."""
        return messages.text("calllog", "callbacks", count=self.callbacks)

    def more_text(self) -> str:
        """How many lines were counted but not listed."""
        return messages.text("calllog", "more", count=self.unlisted())

    def lines(self) -> list[str]:
        """The report as text lines (command line)."""
        out = [self.summary()] + ([self.callback_text()] if self.callbacks else [])
        out += [f"  {where}: {kind.lower()}: {detail}" for where, kind, detail in self.rows()]
        return out + (["  " + self.more_text()] if self.unlisted() else [])

    def _mark(self) -> tuple[int, int, int, int, int, int]:
        return (self.imported, len(self.duplicates), len(self.rejected), len(self.warnings), self.duplicate_count,
                self.warning_count)

    def _reset(self, mark: tuple[int, int, int, int, int, int]) -> None:
        self.imported, dup, rej, warn, self.duplicate_count, self.warning_count = mark
        del self.duplicates[dup:], self.rejected[rej:], self.warnings[warn:]


def disposition_label(disposition: str) -> str:
    """The CDR's disposition as operators read it ("NO ANSWER" → "Không nghe máy")."""
    return DISPOSITION_LABELS_VI.get(disposition, disposition)


def _same_number(a: str, b: str) -> bool:
    return (to_e164(a) or a.strip()) == (to_e164(b) or b.strip())


def _check_against_cdr(row: KeyedRow, cdr: CdrRecord, report: ImportReport) -> None:
    caller = row.values.get("caller", "")
    if not caller.strip():
        report.warn(row.line, messages.text("calllog", "caller_from_cdr", cdr=cdr.src))
    elif not _same_number(caller, cdr.src):
        report.warn(row.line, messages.text("calllog", "caller_differs", keyed=caller, cdr=cdr.src))
    try:
        keyed = hotline.parse_time(row.values.get("started_at", ""))
    except ValueError:
        keyed = None
    if keyed and cdr.start and abs(keyed - cdr.start) > TIME_TOLERANCE:
        report.warn(row.line, messages.text("calllog", "time_differs", keyed=f"{keyed:%Y-%m-%d %H:%M}",
                                            cdr=f"{cdr.start.astimezone(VN_TZ):%Y-%m-%d %H:%M}"))
    if cdr.disposition != "ANSWERED":
        report.warn(row.line, messages.text("calllog", "not_answered", disposition=disposition_label(cdr.disposition)))


def _with_cdr_caller(row: KeyedRow, cdr: CdrRecord | None) -> KeyedRow:
    """A row keyed without the caller's number takes the number the PBX recorded."""
    if cdr is None or row.values.get("caller", "").strip() or not cdr.src.strip():
        return row
    return replace(row, values={**row.values, "caller": cdr.src.strip()})


def _call_values(row: KeyedRow, cdr: CdrRecord | None, operator: str | None,
                 caller: str | None = None) -> dict[str, Any]:
    """hotline_call's columns; ``caller``: the number already normalized (E.164), when known."""
    values = row.values
    try:
        started = hotline.parse_time(values.get("started_at", "")) or (cdr.start if cdr else None)
    except ValueError:
        started = cdr.start if cdr else None
    caller = caller or to_e164(values.get("caller", "")) or values.get("caller", "")[:20]
    return dict(call_id=values["call_id"], caller=caller, started_at=started, operator=operator, source="import",
                duration=cdr.duration if cdr else None, billsec=cdr.billsec if cdr else None,
                disposition=cdr.disposition if cdr else None)


def _call_row(row: KeyedRow, cdr: CdrRecord | None, operator: str | None) -> HotlineCall:
    return HotlineCall(**_call_values(row, cdr, operator))


def _import_row(session: Session, row: KeyedRow, *, cdr: CdrRecord | None, settings: Settings, storage: Storage,
                operator: str | None, report: ImportReport) -> None:
    """One row in its own transaction (the fallback when a batch meets a concurrent import)."""
    call_id = row.values.get("call_id", "").strip()
    if row.error or not call_id:
        report.rejected.append((row.line, row.error or EMPTY_CALL_ID))
        return
    if session.exec(select(HotlineCall.id).where(HotlineCall.call_id == call_id)).first():
        report.duplicate(row.line, call_id)
        return
    if cdr is not None:
        _check_against_cdr(row, cdr, report)
    row = _with_cdr_caller(row, cdr)
    message = hotline.parse(row.values, call_id=call_id)
    outcome = submit(session, message=message, settings=settings, storage=storage,
                     created_by=operator, call=_call_row(row, cdr, operator))
    if outcome.errors:
        report.rejected.append((row.line, _reasons(outcome.errors)))
    elif outcome.duplicate:
        report.duplicate(row.line, call_id)
    else:
        report.imported += 1


EMPTY_CALL_ID = "thiếu call_id"


def _reasons(errors: dict[str, list[str]]) -> str:
    return "; ".join(m for msgs in errors.values() for m in msgs)


def _payload(message: Received) -> str:
    fields = {k: v[:MAX_RAW_FIELD] if isinstance(v, str) else repr(v)[:MAX_RAW_FIELD]
              for k, v in message.fields.items()}
    return json.dumps({"fields": fields, "files": []}, ensure_ascii=False)


@dataclass
class _Accepted:
    """A valid row of a batch, with what will be written for it."""

    row: KeyedRow
    message: Received
    case: dict[str, Any]  # pakn_case's columns
    cdr: CdrRecord | None


def _import_batch(session: Session, batch: Sequence[KeyedRow], *, cdr: dict[str, CdrRecord], settings: Settings,
                  storage: Storage, operator: str | None, report: ImportReport) -> None:
    """Validate a batch, then write it with one INSERT per table and one commit.

    Rows already imported (by an earlier run, or the console) are found with one query.
    If another import commits the same call meanwhile, the batch is rolled back and its
    rows go one by one, each reported as before.
    """
    mark = report._mark()
    ids = [r.values.get("call_id", "").strip() for r in batch if not r.error]
    existing = set(session.exec(select(HotlineCall.call_id).where(col(HotlineCall.call_id).in_(
        [i for i in ids if i])))) if any(ids) else set()
    accepted: list[_Accepted] = []
    refused: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in batch:
        call_id = row.values.get("call_id", "").strip()
        if row.error or not call_id:
            report.rejected.append((row.line, row.error or EMPTY_CALL_ID))
            continue
        if call_id in existing or call_id in seen:
            report.duplicate(row.line, call_id)
            continue
        record_cdr = cdr.get(call_id)
        if record_cdr is not None:
            _check_against_cdr(row, record_cdr, report)
        row = _with_cdr_caller(row, record_cdr)
        message = hotline.parse(row.values, call_id=call_id)
        record, _kinds, errors = validate(message, settings)
        if errors or record is None:
            report.rejected.append((row.line, _reasons(errors)))
            refused.append(dict(channel=Channel.hotline, external_id=call_id, payload=_payload(message),
                                accepted=False, error=json.dumps(errors, ensure_ascii=False), case_id=None,
                                handled_at=None))
            continue
        seen.add(call_id)
        case = dict(receipt=new_token(), channel=Channel.hotline, external_id=call_id, full_name=record.full_name,
                    name_key=match_key(record.full_name)[:100], email=record.email, phone=record.phone,
                    address=record.address, title=record.title, content=record.content, created_by=operator,
                    publish_consent=record.publish)
        accepted.append(_Accepted(row, message, case, record_cdr))
    try:
        _write_batch(session, accepted, refused, operator=operator)
    except IntegrityError:
        session.rollback()
        report._reset(mark)
        for row in batch:
            _import_row(session, row, cdr=cdr.get(row.values.get("call_id", "").strip()), settings=settings,
                        storage=storage, operator=operator, report=report)
        return
    report.imported += len(accepted)


def _insert_cases(session: Session, cases: list[dict[str, Any]]) -> Sequence[int]:
    """Insert the cases; their ids, in order.

    PostgreSQL: the ids are drawn from the table's sequence first, so the rows go by COPY
    with their ids (a multi-row INSERT … RETURNING of 500 rows costs more to build and
    parse than to run). Elsewhere: INSERT … RETURNING.
    """
    table = Case.__table__  # type: ignore[attr-defined]
    if session.get_bind().dialect.name != "postgresql":
        return session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                               cases).scalars().all()
    sequence = func.pg_get_serial_sequence(table.name, table.c.id.name)
    ids = sorted(session.execute(select(func.nextval(sequence)).select_from(
        func.generate_series(1, len(cases)))).scalars().all())
    copy_insert(session, table, [{**case, "id": case_id} for case, case_id in zip(cases, ids, strict=True)])
    return ids


def _write_batch(session: Session, accepted: list[_Accepted], refused: list[dict[str, Any]],
                 operator: str | None) -> None:
    """One COPY (PostgreSQL) or executemany INSERT per table (cases first, for their ids), then one commit."""
    tables = {m: m.__table__ for m in (Case, HotlineCall, InboundMessage, Event)}  # type: ignore[union-attr]
    now = utcnow()
    if accepted:
        ids = _insert_cases(session, [a.case for a in accepted])
        actor = operator or Channel.hotline.value
        copy_insert(session, tables[HotlineCall], [
            {**_call_values(a.row, a.cdr, operator, caller=a.case["phone"]), "case_id": case_id}
            for a, case_id in zip(accepted, ids, strict=True)])
        refused = refused + [dict(channel=Channel.hotline, external_id=a.message.external_id,
                                  payload=_payload(a.message), accepted=True, error=None, case_id=case_id,
                                  handled_at=now) for a, case_id in zip(accepted, ids, strict=True)]
        copy_insert(session, tables[Event], [
            dict(case_id=case_id, at=now, actor=actor, kind=EventKind.status, to_status=CaseStatus.received)
            for case_id in ids])
    if refused:
        copy_insert(session, tables[InboundMessage], refused)
    session.commit()


def _unanswered(session: Session, cdr: dict[str, CdrRecord], keyed: set[str], report: ImportReport) -> None:
    for record in cdr.values():
        if record.disposition not in hotline.UNANSWERED or record.uniqueid in keyed:
            continue
        key = f"cdr-{hashlib.sha256(record.uniqueid.encode()).hexdigest()[:32]}"
        if session.exec(select(CallBack.id).where(CallBack.key == key)).first():
            continue
        when = record.start.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if record.start else "?"
        session.add(CallBack(key=key, phone=to_e164(record.src) or record.src[:20],
                             reason=messages.text("calllog", "missed_call", when=when,
                                                  disposition=disposition_label(record.disposition))))
        report.callbacks += 1
    session.commit()


def import_calls(session: Session, *, rows: Iterable[KeyedRow], cdr: dict[str, CdrRecord] | None,
                 settings: Settings, storage: Storage, operator: str | None = None,
                 progress: Callable[[int], None] | None = None, batch_rows: int = BATCH_ROWS) -> ImportReport:
    """Import keyed calls (idempotent by call id), ``batch_rows`` per transaction; unanswered CDR calls
    become call-backs.

    ``rows`` may be a stream (:func:`channels.hotline.iter_keyed_calls`): memory holds one
    batch, the report's listed lines, and the CDR's call ids that had a keyed row.
    """
    report = ImportReport()
    cdr = cdr or {}
    keyed: set[str] = set()  # CDR calls that have a keyed row (bounded by the CDR, not the file)
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, batch_rows)):
        keyed.update(cid for r in batch if (cid := r.values.get("call_id", "").strip()) in cdr)
        _import_batch(session, batch, cdr=cdr, settings=settings, storage=storage, operator=operator, report=report)
        if progress:
            progress(len(batch))
    for uniqueid, record in cdr.items():
        if record.disposition == "ANSWERED" and uniqueid not in keyed:
            report.warn(0, messages.text("calllog", "not_keyed", call_id=uniqueid, src=record.src))
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
