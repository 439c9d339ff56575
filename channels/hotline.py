"""Hotline 19001547: keyed calls (console form, call-log files) and the PBX's CDR."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.base import InboundMessage
from gateway.constants import VN_TZ, Channel
from gateway.exceptions import CallLogError

KEYED_COLUMNS = ("call_id", "started_at", "caller", "caller_name", "address", "email", "title", "transcript")
CDR_COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
               "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield")
UNANSWERED = frozenset({"NO ANSWER", "BUSY", "FAILED", "CONGESTION"})
# keyed-call column → common record field
TO_RECORD = {"caller_name": "full_name", "caller": "phone", "address": "address", "email": "email",
             "title": "title", "transcript": "content"}


def parse(fields: Mapping[str, Any], *, call_id: str, remote_addr: str | None = None) -> InboundMessage:
    """A keyed call (console form or file row) → InboundMessage (external id = call id)."""
    mapped = {TO_RECORD[k]: v for k, v in fields.items() if k in TO_RECORD and v is not None}
    return InboundMessage(channel=Channel.hotline, fields=mapped, external_id=call_id or None,
                          remote_addr=remote_addr)


@dataclass(frozen=True)
class KeyedRow:
    """One row of a keyed-call file, as text, with its line number (or why it is unreadable)."""

    line: int
    values: dict[str, str]
    error: str | None = None


@dataclass(frozen=True)
class CdrRecord:
    """The CDR fields we use."""

    uniqueid: str
    src: str
    dst: str
    start: datetime | None
    answer: datetime | None
    duration: int
    billsec: int
    disposition: str


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CallLogError(line, "not UTF-8 text (save the file as UTF-8)") from None


def parse_time(value: str) -> datetime | None:
    """ISO 8601 or 'YYYY-MM-DD HH:MM:SS'; naive times are Vietnam time."""
    text = (value or "").strip()
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("/", "-"))
    return moment.replace(tzinfo=VN_TZ) if moment.tzinfo is None else moment


def _csv_rows(text: str) -> Iterator[KeyedRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise CallLogError(1, f"unreadable header: {exc}") from None
    missing = [c for c in KEYED_COLUMNS if c not in header]
    if missing:
        raise CallLogError(1, f"missing columns: {', '.join(missing)} (expected {', '.join(KEYED_COLUMNS)})")
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CallLogError(start, f"broken CSV ({exc}); check quotes from this line on") from None
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield KeyedRow(start, {}, f"{len(row)} fields, expected {len(header)}")
            continue
        yield KeyedRow(start, dict(zip(header, row, strict=True)))


def _jsonl_rows(text: str) -> Iterator[KeyedRow]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield KeyedRow(number, {}, f"not JSON ({exc.msg})")
            continue
        if not isinstance(value, dict):
            yield KeyedRow(number, {}, "not a JSON object")
            continue
        yield KeyedRow(number, {k: "" if v is None else str(v) for k, v in value.items()})


def read_keyed_calls(data: bytes, filename: str = "") -> list[KeyedRow]:
    """All rows of a keyed-call file (CSV or JSON Lines, UTF-8 with or without BOM).

    Raises CallLogError, naming the line, when the file itself is damaged (encoding,
    header, an unterminated quote): then nothing of it may be imported. Rows that are
    merely unreadable come back with ``error`` set and are reported one by one.
    """
    text = _decode(data)
    is_jsonl = filename.lower().endswith((".jsonl", ".ndjson", ".json")) or text.lstrip().startswith("{")
    return list(_jsonl_rows(text) if is_jsonl else _csv_rows(text))


def _int(value: str) -> int:
    return int(value) if value.strip().isdigit() else 0


def read_cdr(data: bytes) -> dict[str, CdrRecord]:
    """Asterisk's Master.csv (18 standard columns, no header) by uniqueid."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    records: dict[str, CdrRecord] = {}
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            raise CallLogError(start, f"broken CDR line ({exc})") from None
        if not row:
            continue
        if len(row) < len(CDR_COLUMNS):
            raise CallLogError(start, f"CDR line has {len(row)} columns, expected {len(CDR_COLUMNS)}")
        cdr = dict(zip(CDR_COLUMNS, row, strict=False))
        try:
            start_at, answer_at = parse_time(cdr["start"]), parse_time(cdr["answer"])
        except ValueError:
            raise CallLogError(start, f"CDR time not understood: {cdr['start']!r}") from None
        records[cdr["uniqueid"]] = CdrRecord(
            uniqueid=cdr["uniqueid"], src=cdr["src"], dst=cdr["dst"], start=start_at, answer=answer_at,
            duration=_int(cdr["duration"]), billsec=_int(cdr["billsec"]), disposition=cdr["disposition"].upper(),
        )
