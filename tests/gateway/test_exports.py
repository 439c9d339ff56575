"""Exports of statistics and case lists (CSV, XLSX), the quarterly report command, and who may have them."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlmodel import Session, select

from gateway.constants import CaseStatus, Channel
from gateway.models import AuditLog
from gateway.stats import periods
from tests.factories import insert_cases, login, make_staff

Q3 = periods.parse_quarter("2026-Q3")


def quarter_of_cases(db: Session) -> None:
    """Five cases in Q3/2026 (one a formula trap), one in Q2."""
    rows: list[dict[str, Any]] = []
    for i in range(5):
        rows.append({"id": 1000 + i, "code": f"26-00000{i}-0", "channel": Channel.web, "status": CaseStatus.triage,
                     "created_at": Q3.start + timedelta(days=10 * i), "full_name": f"Lê Văn Bình {i}",
                     "phone": f"+8491200000{i}", "email": f"binh{i}@example.com", "address": f"Số {i} Hàng Bài",
                     "title": "=HYPERLINK(\"http://evil\")" if i == 4 else f"Phản ánh số {i}"})
    rows.append({"id": 2000, "channel": Channel.sms, "status": CaseStatus.triage,
                 "created_at": Q3.start - timedelta(days=3)})
    events = [{"case_id": r["id"], "at": r["created_at"], "to_status": CaseStatus.triage} for r in rows]
    insert_cases(db, rows, events)


def _xlsx(response: Any) -> openpyxl.Workbook:
    assert response.status_code == 200, response.text
    return openpyxl.load_workbook(io.BytesIO(response.data))


def test_case_list_exports_have_the_right_rows_and_personal_fields_by_role(client: Any, db: Session) -> None:
    quarter_of_cases(db)
    make_staff(db, "coordinator")
    make_staff(db, "operator")
    login(client, "coordinator")
    book = _xlsx(client.get("/thong-ke/export.xlsx?what=cases&quy=2026-Q3&personal=1"))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "Mã PAKN" and rows[0][-4:] == ("Họ tên", "Điện thoại", "Email", "Địa chỉ")
    assert [r[0] for r in rows[1:]] == [f"26-00000{i}-0" for i in range(5)]  # only Q3, oldest first
    assert rows[1][-3] == "+84912000000"
    assert rows[5][11] == "=HYPERLINK(\"http://evil\")"  # stored as text, never a formula
    assert sheet.cell(row=6, column=12).data_type == "s"  # type: ignore[union-attr]
    plain = _xlsx(client.get("/thong-ke/export.xlsx?what=cases&quy=2026-Q3"))
    assert "Họ tên" not in next(plain.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    text = client.get("/thong-ke/export.csv?what=cases&quy=2026-Q3").data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert len(table) == 6 and table[1][0] == "26-000000-0" and "+84912000000" not in text
    assert table[5][11] == "'=HYPERLINK(\"http://evil\")"  # CSV: the apostrophe defuses it
    client.post("/staff/logout")

    login(client, "operator")
    response = client.get("/thong-ke/export.csv?what=cases&quy=2026-Q3&personal=1")
    assert response.status_code == 200
    body = response.data.decode("utf-8-sig")
    assert "Họ tên" not in body and "binh0@example.com" not in body and "+8491200000" not in body
    audits = db.exec(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(a.actor, json.loads(a.detail)["personal"], json.loads(a.detail)["rows"]) for a in audits] == [
        ("coordinator1", True, 5), ("coordinator1", False, 5), ("coordinator1", False, 5), ("operator1", False, 5)]


def test_statistics_exports(client: Any, db: Session) -> None:
    quarter_of_cases(db)
    make_staff(db, "coordinator")
    login(client, "coordinator")
    book = _xlsx(client.get("/thong-ke/export.xlsx?quy=2026-Q3"))
    assert book.sheetnames[:3] == ["Báo cáo", "Tổng hợp", "Theo kênh tiếp nhận"]
    summary = {r[0]: r[1] for r in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert summary["Tiếp nhận"] == 5 and summary["Thuộc phạm vi xem xét, xử lý"] == 5
    assert book["Báo cáo"]["A3"].value.startswith("Trong Quý III/2026, Văn phòng điều phối đã tiếp nhận 5/5 PAKN")
    text = client.get("/thong-ke/export.csv?tu=2026-07-01&den=2026-07-15").data.decode("utf-8-sig")
    assert "Tiếp nhận,2" in text  # days 0 and 10 of the quarter
    assert client.get("/thong-ke/export.xlsx?quy=2026-Q9").status_code == 400
    assert client.get("/thong-ke/export.pdf").status_code == 404
    page = client.get("/thong-ke/?quy=2026-Q3")
    assert page.status_code == 200 and "Quý III/2026" in page.text
    assert page.text.count("<svg") == 3  # no agency had a case: no agency chart
    assert len(db.exec(select(AuditLog)).all()) == 2


@pytest.mark.parametrize("role", ["agency"])
def test_a_role_without_rights_gets_403(client: Any, db: Session, role: str) -> None:
    make_staff(db, role)
    login(client, role)
    for url in ("/thong-ke/", "/thong-ke/export.xlsx", "/thong-ke/export.csv?what=cases"):
        assert client.get(url).status_code == 403, url
    assert db.exec(select(AuditLog)).first() is None
    client.post("/staff/logout")
    assert client.get("/thong-ke/export.xlsx").status_code == 302  # anonymous: to the login page


def test_report_quarterly_command(app: Any, db: Session, tmp_path: Path) -> None:
    quarter_of_cases(db)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["report", "quarterly", "2026-Q3"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Báo cáo kết quả tiếp nhận, xử lý phản ánh, kiến nghị Quý III/2026")
    assert "Trong Quý III/2026, Văn phòng điều phối đã tiếp nhận 5/5 PAKN thuộc phạm vi xem xét, xử lý" in result.output
    assert "| Tiếp nhận | 5 |" in result.output
    target = tmp_path / "q3.xlsx"
    result = runner.invoke(args=["report", "quarterly", "2026-Q3", "--format", "xlsx", "--output", str(target)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(target)
    assert {r[0]: r[1] for r in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}["Tiếp nhận"] == 5
    md = tmp_path / "q2.md"
    assert runner.invoke(args=["report", "quarterly", "2026-Q2", "--output", str(md)]).exit_code == 0
    assert "đã tiếp nhận 0/1 PAKN" in md.read_text() or "0/1" in md.read_text()
    bad = runner.invoke(args=["report", "quarterly", "2026-07"])
    assert bad.exit_code == 2 and "YYYY-QN" in bad.output
