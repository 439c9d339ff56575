"""Hotline 19001547: keyed calls (console form, call-log files) and the PBX's CDR."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from channels.base import InboundMessage
from gateway.constants import VN_TZ, Channel
from gateway.exceptions import CallLogError
from normalizer import bounds

KEYED_COLUMNS = ("call_id", "started_at", "caller", "caller_name", "address", "email", "title", "transcript")
CDR_COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
               "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield")
MAX_DISPOSITION = 20  # hotline_call.disposition
UNANSWERED = frozenset({"NO ANSWER", "BUSY", "FAILED", "CONGESTION"})
BOM = b"\xef\xbb\xbf"
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
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
    duration: int | None  # None: not written in ASCII digits, or absurdly large
    billsec: int | None
    disposition: str


def parse_time(value: str) -> datetime | None:
    """ISO 8601 or 'YYYY-MM-DD HH:MM:SS'; naive times are Vietnam time."""
    text = (value or "").strip()
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("/", "-"))
    return moment.replace(tzinfo=VN_TZ) if moment.tzinfo is None else moment


def text_lines(stream: IO[bytes]) -> Iterator[str]:
    """The stream's lines, decoded as UTF-8 (a BOM dropped), one at a time: memory stays flat.

    Raises CallLogError naming the line that is not UTF-8.
    """
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CallLogError(number, "không phải văn bản UTF-8 (hãy lưu tệp dưới dạng UTF-8)") from None


RowCheck = Callable[[int, dict[str, str]], KeyedRow]


def unchecked_row(line: int, values: dict[str, str]) -> KeyedRow:
    """The row as read (for counting: whether a cell is usable does not change the count)."""
    return KeyedRow(line, values)


def _csv_rows(lines: Iterator[str], check: RowCheck) -> Iterator[KeyedRow]:
    reader = csv.reader(lines, strict=True)
    start = 1
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise CallLogError(1, f"không đọc được dòng tiêu đề ({exc})") from None
    missing = [c for c in KEYED_COLUMNS if c not in header]
    if missing:
        raise CallLogError(1, f"thiếu cột {', '.join(missing)} (cần các cột {', '.join(KEYED_COLUMNS)})")
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CallLogError(start, f"CSV hỏng ({exc}); kiểm tra dấu ngoặc kép từ dòng này trở đi") from None
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield KeyedRow(start, {}, f"có {len(row)} cột, cần {len(header)} cột")
            continue
        yield check(start, dict(zip(header, row, strict=True)))


def _jsonl_rows(lines: Iterator[str], check: RowCheck) -> Iterator[KeyedRow]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield KeyedRow(number, {}, f"không phải JSON ({exc.msg})")
            continue
        if not isinstance(value, dict):
            yield KeyedRow(number, {}, "không phải một đối tượng JSON")
            continue
        yield check(number, {str(k): "" if v is None else str(v) for k, v in value.items()})


def checked_row(line: int, values: dict[str, str]) -> KeyedRow:
    """The row, or the row with ``error`` set when its call id or a cell is unusable."""
    call_id = values.get("call_id", "").strip()
    problem = bounds.check_identifier(call_id, max_len=bounds.MAX_CALL_ID) if call_id else None
    if problem is not None:
        reason = {bounds.Problem.too_long: f"call_id dài quá {bounds.MAX_CALL_ID} ký tự"}.get(
            problem, "call_id chỉ được gồm ký tự ASCII in được, không có dấu cách")
        return KeyedRow(line, {}, reason)
    bad = [name for name, value in values.items() if bounds.has_forbidden(name) or bounds.has_forbidden(value)]
    if bad:
        column = bounds.strip_forbidden(bad[0])[:40]
        return KeyedRow(line, {}, f"có ký tự điều khiển (ví dụ NUL) ở cột {column!r}")
    return KeyedRow(line, values)


def iter_keyed_calls(stream: IO[bytes], filename: str = "", check: RowCheck = checked_row) -> Iterator[KeyedRow]:
    """The rows of a keyed-call file (CSV or JSON Lines, UTF-8 with or without BOM), read as a stream.

    Raises CallLogError, naming the line, when the file itself is damaged (encoding,
    header, an unterminated quote). Rows that are merely unreadable come back with
    ``error`` set and are reported one by one. Callers that must import nothing from a
    damaged file read it twice (:func:`count_keyed_calls` first). ``check`` turns each
    row's cells into a KeyedRow (by default :func:`checked_row`).
    """
    lines = text_lines(stream)
    first = next(lines, "")
    rest = itertools.chain([first], lines)
    is_jsonl = filename.lower().endswith(JSONL_SUFFIXES) or first.lstrip().startswith("{")
    return _jsonl_rows(rest, check) if is_jsonl else _csv_rows(rest, check)


def count_keyed_calls(stream: IO[bytes], filename: str = "") -> int:
    """Read the whole file once (constant memory) and count its rows; CallLogError if damaged."""
    return sum(1 for _row in iter_keyed_calls(stream, filename, check=unchecked_row))


def read_keyed_calls(data: bytes, filename: str = "") -> list[KeyedRow]:
    """All rows of a keyed-call file held in memory (see :func:`iter_keyed_calls`)."""
    return list(iter_keyed_calls(io.BytesIO(data), filename))


def read_cdr(data: bytes | IO[bytes]) -> dict[str, CdrRecord]:
    """Asterisk's Master.csv (18 standard columns, no header) by uniqueid, read as a stream."""
    reader = csv.reader(text_lines(io.BytesIO(data) if isinstance(data, bytes) else data), strict=True)
    records: dict[str, CdrRecord] = {}
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            raise CallLogError(start, f"dòng CDR hỏng ({exc})") from None
        if not row:
            continue
        if len(row) < len(CDR_COLUMNS):
            raise CallLogError(start, f"dòng CDR có {len(row)} cột, cần {len(CDR_COLUMNS)} cột")
        cdr = dict(zip(CDR_COLUMNS, row, strict=False))
        if any(bounds.has_forbidden(value) for value in cdr.values()):
            raise CallLogError(start, "có ký tự điều khiển (ví dụ NUL) trong dòng CDR")
        if len(cdr["disposition"]) > MAX_DISPOSITION or len(cdr["src"]) > bounds.MAX_CALL_ID:
            raise CallLogError(start, "trạng thái cuộc gọi hoặc số gọi đến trong CDR quá dài")
        try:
            start_at, answer_at = parse_time(cdr["start"]), parse_time(cdr["answer"])
        except ValueError:
            raise CallLogError(start, f"không hiểu thời gian trong CDR: {cdr['start']!r}") from None
        records[cdr["uniqueid"]] = CdrRecord(
            uniqueid=cdr["uniqueid"], src=cdr["src"], dst=cdr["dst"], start=start_at, answer=answer_at,
            duration=bounds.ascii_int(cdr["duration"]), billsec=bounds.ascii_int(cdr["billsec"]),
            disposition=cdr["disposition"].strip().upper(),
        )
