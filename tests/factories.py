"""Test data: valid form fields and real files of every accepted (and refused) kind."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from PIL import Image

VALID_FIELDS: dict[str, str] = {
    "full_name": "Nguyễn Thị Hồng Nhung",
    "email": "nhung.nguyen@example.com",
    "phone": "0912 345 678",
    "address": "Số 12 ngõ 34 Lý Thường Kiệt, phường Cửa Nam, Hà Nội",
    "title": "Chậm cấp giấy chứng nhận quyền sử dụng đất",
    "content": (
        "Tôi nộp hồ sơ cấp giấy chứng nhận quyền sử dụng đất tại bộ phận một cửa ngày 05/03 "
        "nhưng đến nay đã quá hạn 45 ngày vẫn chưa có kết quả, cán bộ không trả lời lý do."
    ),
}


def fields(**overrides: Any) -> dict[str, Any]:
    """Valid form fields with some overridden (None removes a field)."""
    data: dict[str, Any] = dict(VALID_FIELDS)
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def jpg_bytes(size: tuple[int, int] = (32, 24)) -> bytes:
    """A real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    """A minimal valid PDF."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def _ooxml(part: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr(f"{part}/document.xml", "<x/>")
    return out.getvalue()


def docx_bytes() -> bytes:
    """A minimal Office Open XML word-processing package."""
    return _ooxml("word")


def xlsx_bytes() -> bytes:
    """A minimal Office Open XML spreadsheet package."""
    return _ooxml("xl")


def ole_bytes(stream: str) -> bytes:
    """An OLE compound file header plus a directory entry named ``stream``."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + stream.encode("utf-16-le") + b"\x00" * 64


def exe_bytes() -> bytes:
    """The start of a Windows executable."""
    header = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
    return header + b"\x00" * 200 + b"This program cannot be run in DOS mode"


def zip_bytes() -> bytes:
    """A plain ZIP that is not an Office document."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("evil.exe", b"MZ")
    return out.getvalue()


PASSWORDS = {"operator": "van-hanh-2026!", "coordinator": "dieu-phoi-2026!", "agency": "co-quan-2026!!",
             "admin": "quan-tri-2026!!"}


def make_staff(session: Any, role: str, username: str | None = None) -> Any:
    """A staff account of ``role`` with a known password (PASSWORDS[role])."""
    from gateway import auth
    from gateway.constants import Role

    return auth.create_user(session, username=username or f"{role}1", password=PASSWORDS[role], role=Role(role),
                            display_name=f"Cán bộ {role}",
                            agency_code="bo-nong-nghiep-moi-truong" if role == "agency" else None)


def login(client: Any, role: str, username: str | None = None) -> Any:
    """Sign ``client`` in as the account made by :func:`make_staff`."""
    response = client.post("/staff/login", data={"username": username or f"{role}1", "password": PASSWORDS[role]})
    assert response.status_code == 302, response.text
    return response


CALL = {
    "caller_name": "Trần Văn Hùng",
    "address": "Thôn Đông, xã Phú Lương, huyện Phú Bình, Thái Nguyên",
    "email": "",
    "title": "Xã chậm xác nhận hồ sơ hưởng trợ cấp người có công",
    "transcript": ("Ông Hùng gọi phản ánh: hồ sơ đề nghị hưởng trợ cấp của bố ông nộp tại UBND xã từ tháng 6, "
                   "cán bộ xã hẹn nhiều lần nhưng chưa chuyển lên huyện."),
}


def keyed_call_rows(count: int, first: int = 0) -> list[dict[str, str]]:
    """Realistic keyed calls: Vietnamese text, quotes, commas, newlines, 9-digit numbers."""
    rows = []
    for i in range(first, first + count):
        caller = f"91{i % 10_000_000:07d}" if i % 3 == 0 else f"098{i % 10_000_000:07d}"  # every 3rd lost its 0
        rows.append({
            "call_id": f"1763712000.{i}", "started_at": f"2026-11-21 {8 + i % 9:02d}:{i % 60:02d}:{(i * 7) % 60:02d}",
            "caller": caller, "caller_name": f"Nguyễn Thị Lan {i}", "address": f"Số {i}, đường Lê Lợi, TP. Huế",
            "email": f"lan{i}@example.com" if i % 5 == 0 else "",
            "title": f"Phản ánh số {i}: chậm cấp giấy phép xây dựng",
            "transcript": f'Người gọi nói: "hồ sơ nộp ngày 1/10, hẹn 15 ngày",\nđến nay đã {20 + i % 30} ngày chưa có.',
        })
    return rows


def keyed_calls_csv(rows: list[dict[str, str]], *, bom: bool = True, crlf: bool = True) -> bytes:
    """A keyed-call CSV as the call centre's software writes it."""
    import csv

    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [], lineterminator="\r\n" if crlf else "\n")
    writer.writeheader()
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def keyed_calls_jsonl(rows: list[dict[str, str]]) -> bytes:
    """The same calls as JSON Lines."""
    import json

    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def cdr_line(uniqueid: str, src: str, start: str, disposition: str, billsec: int = 0) -> str:
    """One line of Asterisk's Master.csv (18 standard columns, Asterisk's quoting)."""
    answered = disposition == "ANSWERED"
    answer = start if answered else ""
    clid = f'"""Khach"" <{src}>"'
    return (f'"","{src}","19001547","hotline-in",{clid},"SIP/viettel-trunk-0000{uniqueid[-2:]}",'
            f'"{"SIP/op-01-000001" if answered else ""}","Dial","SIP/op-01,30","{start}","{answer}","{start}",'
            f'{billsec + 8},{billsec},"{disposition}","DOCUMENTATION","{uniqueid}",""\n')


def insert_cases(session: Any, cases: list[dict[str, Any]], events: list[dict[str, Any]] = (),  # type: ignore[assignment]
                 publications: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    """Bulk-insert cases (explicit ids), their events and publications: thousands in a second.

    Each case dict needs ``id``, ``channel``, ``status``, ``created_at``; the rest defaults.
    """
    import sqlalchemy as sa

    from gateway.models import Case, Event, Publication, new_token

    rows = []
    for spec in cases:
        row = {"receipt": new_token(), "code": None, "external_id": None, "full_name": "Người gửi thử",
               "name_key": "nguoi gui thu", "email": None, "phone": "+84912000000", "address": "Hà Nội",
               "title": "PAKN thử nghiệm", "content": "Nội dung thử nghiệm", "updated_at": spec["created_at"],
               "registered_at": spec["created_at"], "field": None, "case_type": None, "classification": None,
               "agency_id": None, "due_at": None, "answer": None, "answered_at": None, "follows_id": None,
               "duplicate_of_id": None, "created_by": None, "field_hint": None, "rating": None, "rated_at": None,
               "next_attempt_at": None, "attempts": 0, "last_error": None, "publish_consent": None}
        row.update(spec)
        rows.append(row)
    session.execute(sa.insert(Case.__table__), rows)  # type: ignore[attr-defined]
    if events:
        session.execute(sa.insert(Event.__table__), [  # type: ignore[attr-defined]
            {"actor": "test", "kind": "status", "from_status": None, "note": None, **e} for e in events])
    if publications:
        session.execute(sa.insert(Publication.__table__), [  # type: ignore[attr-defined]
            {"search_text": "", "proposed_by": "test", "decided_by": None, "decided_at": None, "reason": None,
             "published_at": None, **p} for p in publications])
    session.commit()


def realistic_cases(session: Any, n: int, *, now: Any = None, agency_code: str = "bo-nong-nghiep-moi-truong",
                    batch: int = 5000) -> None:
    """``n`` cases as a running service has them (bench/million.py's generator): 40 agencies (the first one
    coded ``agency_code``, make_staff's agency), statuses, follow-ups, inbound rows, events, publications."""
    import sqlalchemy as sa

    from bench.million import agency_rows, case_rows
    from gateway.models import Agency, Case, Event, InboundMessage, Publication, utcnow

    now = now or utcnow()
    if session.execute(sa.select(sa.func.count()).select_from(Agency)).scalar_one() == 0:
        agencies = agency_rows(now)
        agencies[0]["code"] = agency_code
        session.execute(sa.insert(Agency), agencies)

    def flush(chunk: list[Any]) -> None:
        session.execute(sa.insert(Case), [r.case for r in chunk])
        session.execute(sa.insert(InboundMessage), [r.inbound for r in chunk])
        events = [e for r in chunk for e in r.events]
        if events:
            session.execute(sa.insert(Event), events)
        publications = [r.publication for r in chunk if r.publication]
        if publications:
            session.execute(sa.insert(Publication), publications)

    chunk: list[Any] = []
    for rows in case_rows(n, now=now):
        chunk.append(rows)
        if len(chunk) >= batch:
            flush(chunk)
            chunk = []
    if chunk:
        flush(chunk)
    if session.get_bind().dialect.name == "postgresql":  # explicit ids: move the sequences past them
        for table in ("pakn_case", "inbound_message", "event", "agency"):
            session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
    session.commit()
