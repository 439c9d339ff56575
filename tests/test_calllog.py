"""Importing keyed-call files and the PBX's CDR (command line and upload page)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from gateway.constants import Channel
from gateway.models import CallBack, Case, HotlineCall
from tests.factories import (
    cdr_line,
    keyed_call_rows,
    keyed_calls_csv,
    keyed_calls_jsonl,
    login,
    make_staff,
)


def _count(db: Session, model: Any) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


def _one_line_rows(count: int) -> list[dict[str, str]]:
    """Rows whose text has no newline, so that file line = row number + 2."""
    rows = keyed_call_rows(count)
    for row in rows:
        row["transcript"] = row["transcript"].replace("\n", " ")
    return rows


def _run(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["import-calls", *args])


@pytest.mark.slow
def test_csv_day_of_calls_imports_once(app: Any, db: Session, tmp_path: Path) -> None:
    rows = keyed_call_rows(1000)
    path = tmp_path / "calls-2026-11-21.csv"
    path.write_bytes(keyed_calls_csv(rows, bom=True, crlf=True))
    first = _run(app, str(path))
    assert first.exit_code == 0, first.output
    assert "imported: 1000" in first.output and "duplicates: 0" in first.output and "rejected: 0" in first.output
    assert _count(db, Case) == 1000 and _count(db, HotlineCall) == 1000
    case = db.exec(select(Case).where(Case.external_id == "1763712000.3")).one()
    assert case.channel == Channel.hotline and case.phone == "+84910000003"  # "910000003": the lost 0 restored
    assert case.full_name == "Nguyễn Thị Lan 3" and '"hồ sơ nộp ngày 1/10, hẹn 15 ngày",\nđến nay' in case.content
    again = _run(app, str(path))
    assert "imported: 0" in again.output and "duplicates: 1000" in again.output
    assert _count(db, Case) == 1000


@pytest.mark.slow
def test_jsonl_with_the_cdr(app: Any, db: Session, tmp_path: Path) -> None:
    rows = keyed_call_rows(1000)
    rows[10]["caller"] = "0900000000"  # the operator mistyped the number
    rows[20]["started_at"] = "2026-11-21 23:59:00"  # the operator's clock was wrong
    calls = tmp_path / "calls.jsonl"
    calls.write_bytes(keyed_calls_jsonl(rows))
    cdr = "".join(cdr_line(r["call_id"], keyed_call_rows(1, i)[0]["caller"].rjust(10, "0"), r["started_at"]
                           if i != 20 else "2026-11-21 08:20:00", "ANSWERED", billsec=120 + i % 60)
                  for i, r in enumerate(rows))
    missed = [("1763799999.1", "0987000001", "NO ANSWER"), ("1763799999.2", "0987000002", "BUSY"),
              ("1763799999.3", "02873000003", "FAILED"), ("1763799999.4", "0987000004", "CONGESTION")]
    cdr += "".join(cdr_line(uid, src, "2026-11-21 12:00:00", disp) for uid, src, disp in missed)
    cdr += cdr_line("1763799999.5", "0987000005", "2026-11-21 12:05:00", "ANSWERED", billsec=60)
    master = tmp_path / "Master.csv"
    master.write_text(cdr, encoding="utf-8")
    result = _run(app, str(calls), "--cdr", str(master))
    assert result.exit_code == 0, result.output
    assert "imported: 1000" in result.output and "call-backs from the CDR: 4" in result.output
    assert "line 11: warning: caller 0900000000 differs from the CDR's" in result.output
    assert "line 21: warning: started_at 2026-11-21 23:59 differs from the CDR's 2026-11-21 08:20" in result.output
    assert "answered call 1763799999.5 from 0987000005 has no keyed row" in result.output
    call = db.exec(select(HotlineCall).where(HotlineCall.call_id == "1763712000.7")).one()
    assert (call.disposition, call.billsec, call.duration) == ("ANSWERED", 127, 135)
    entries = db.exec(select(CallBack).order_by(CallBack.phone)).all()
    assert [e.phone for e in entries] == ["+842873000003", "+84987000001", "+84987000002", "+84987000004"]
    assert all("Cuộc gọi nhỡ lúc 12:00 21/11/2026" in e.reason for e in entries)
    again = _run(app, str(calls), "--cdr", str(master))
    assert "imported: 0" in again.output and "call-backs from the CDR: 0" in again.output
    assert _count(db, CallBack) == 4 and _count(db, Case) == 1000


def test_a_broken_row_refuses_the_file_and_names_the_line(app: Any, db: Session, tmp_path: Path) -> None:
    data = keyed_calls_csv(_one_line_rows(100), bom=False, crlf=False).decode()
    lines = data.split("\n")
    lines[60] = lines[60].replace("Phản ánh", '"Phản ánh', 1)  # an unterminated quote on file line 61
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = _run(app, str(path))
    assert result.exit_code == 1
    assert "line 61" in result.output and "nothing was imported" in result.output
    assert _count(db, Case) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"call_id,started_at,caller\n1,2,3\n", "line 1"),
        (keyed_calls_csv(keyed_call_rows(5), bom=False, crlf=False).replace("Nguyễn".encode(), "Nguy\xe9n".encode(
            "latin-1"), 1), "not UTF-8 text"),
    ],
)
def test_wrong_columns_or_encoding(app: Any, db: Session, tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "calls.csv"
    path.write_bytes(data)
    result = _run(app, str(path))
    assert result.exit_code == 1 and message in result.output
    assert _count(db, Case) == 0


def test_bad_rows_are_reported_and_the_rest_kept(app: Any, db: Session, tmp_path: Path) -> None:
    rows = _one_line_rows(20)
    rows[6]["caller"] = "12345"
    rows[11]["call_id"] = ""
    rows[14]["transcript"] = "ngắn"
    data = keyed_calls_csv(rows, bom=False, crlf=False).decode().split("\n")
    data[17] = data[17] + ",thừa một cột"
    path = tmp_path / "calls.csv"
    path.write_text("\n".join(data), encoding="utf-8")
    result = _run(app, str(path))
    assert result.exit_code == 2
    assert "imported: 16" in result.output and "rejected: 4" in result.output
    assert "line 8: rejected: Số điện thoại không hợp lệ" in result.output
    assert "line 13: rejected: call_id is empty" in result.output
    assert "line 16: rejected: Nội dung phản ánh, kiến nghị phải có ít nhất 20 ký tự." in result.output
    assert "line 18: rejected: 9 fields, expected 8" in result.output
    assert _count(db, Case) == 16


def test_jsonl_bad_lines_are_rejected_one_by_one(app: Any, db: Session, tmp_path: Path) -> None:
    data = keyed_calls_jsonl(keyed_call_rows(5)).decode().split("\n")
    data[2] = '{"call_id": "x", "caller": '
    data[3] = '["not", "an", "object"]'
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(data), encoding="utf-8")
    result = _run(app, str(path))
    assert "imported: 3" in result.output
    assert "line 3: rejected: not JSON" in result.output and "line 4: rejected: not a JSON object" in result.output


def test_upload_page(app: Any, db: Session) -> None:
    make_staff(db, "coordinator")
    client = app.test_client()
    login(client, "coordinator")
    rows = keyed_call_rows(30)
    cdr = cdr_line("1763799999.1", "0987000001", "2026-11-21 12:00:00", "NO ANSWER")
    response = client.post("/hotline/import", content_type="multipart/form-data",
                           data={"calls": (io.BytesIO(keyed_calls_csv(rows)), "calls.csv"),
                                 "cdr": (io.BytesIO(cdr.encode()), "Master.csv")})
    assert response.status_code == 200
    assert "imported: 30" in response.text and "call-backs from the CDR: 1" in response.text
    assert db.exec(select(HotlineCall)).first().operator == "coordinator1"  # type: ignore[union-attr]
    broken = client.post("/hotline/import", content_type="multipart/form-data",
                         data={"calls": (io.BytesIO(b"call_id,caller\n1,2\n"), "x.csv")})
    assert broken.status_code == 400 and "Tệp không đọc được ở dòng 1" in broken.text
    huge = client.post("/hotline/import", content_type="multipart/form-data",
                       data={"calls": (io.BytesIO(keyed_calls_csv(keyed_call_rows(3001, 100))), "big.csv")})
    assert huge.status_code == 400 and "quá 3000 dòng" in huge.text and "import-calls" in huge.text
    assert _count(db, Case) == 30
