"""Importing keyed-call files and the PBX's CDR (command line and upload page)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, func, select

from channels import hotline
from config.settings import Settings
from gateway import calllog
from gateway.constants import Channel
from gateway.db import make_engine, new_session
from gateway.models import CallBack, Case, HotlineCall, InboundMessage
from gateway.storage import LocalStorage
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
    assert "Đã nhập 1000 cuộc gọi, bỏ qua 0 (đã nhập trước đó), 0 dòng lỗi." in first.output
    assert _count(db, Case) == 1000 and _count(db, HotlineCall) == 1000
    case = db.exec(select(Case).where(Case.external_id == "1763712000.3")).one()
    assert case.channel == Channel.hotline and case.phone == "+84910000003"  # "910000003": the lost 0 restored
    assert case.full_name == "Nguyễn Thị Lan 3" and '"hồ sơ nộp ngày 1/10, hẹn 15 ngày",\nđến nay' in case.content
    again = _run(app, str(path))
    assert "Đã nhập 0 cuộc gọi, bỏ qua 1000 (đã nhập trước đó), 0 dòng lỗi." in again.output
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
    assert "Đã nhập 1000 cuộc gọi" in result.output
    assert "Thêm 4 cuộc gọi nhỡ (theo CDR) vào danh sách gọi lại." in result.output
    assert "Dòng 11: lưu ý: Số gọi đến 0900000000 khác số trong CDR (0980000010)." in result.output
    assert "Dòng 21: lưu ý: Giờ bắt đầu 2026-11-21 23:59 khác giờ trong CDR (2026-11-21 08:20)." in result.output
    assert "CDR: lưu ý: Cuộc gọi 1763799999.5 từ số 0987000005 đã được nghe nhưng chưa được nhập." in result.output
    call = db.exec(select(HotlineCall).where(HotlineCall.call_id == "1763712000.7")).one()
    assert (call.disposition, call.billsec, call.duration) == ("ANSWERED", 127, 135)
    entries = db.exec(select(CallBack).order_by(CallBack.phone)).all()
    assert [e.phone for e in entries] == ["+842873000003", "+84987000001", "+84987000002", "+84987000004"]
    assert [e.reason for e in entries] == [f"Cuộc gọi nhỡ lúc 12:00 21/11/2026 ({why})" for why in (
        "Gọi không thành công", "Không nghe máy", "Máy bận", "Tổng đài nghẽn mạch")]
    again = _run(app, str(calls), "--cdr", str(master))
    assert "Đã nhập 0 cuộc gọi, bỏ qua 1000" in again.output and "cuộc gọi nhỡ" not in again.output
    assert _count(db, CallBack) == 4 and _count(db, Case) == 1000


def test_a_broken_row_refuses_the_file_and_names_the_line(app: Any, db: Session, tmp_path: Path) -> None:
    data = keyed_calls_csv(_one_line_rows(100), bom=False, crlf=False).decode()
    lines = data.split("\n")
    lines[60] = lines[60].replace("Phản ánh", '"Phản ánh', 1)  # an unterminated quote on file line 61
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = _run(app, str(path))
    assert result.exit_code == 1
    assert "dòng 61" in result.output and "chưa nhập dòng nào" in result.output
    assert _count(db, Case) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"call_id,started_at,caller\n1,2,3\n", "dòng 1: thiếu cột"),
        (keyed_calls_csv(keyed_call_rows(5), bom=False, crlf=False).replace("Nguyễn".encode(), "Nguy\xe9n".encode(
            "latin-1"), 1), "không phải văn bản UTF-8"),
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
    assert "Đã nhập 16 cuộc gọi, bỏ qua 0 (đã nhập trước đó), 4 dòng lỗi." in result.output
    assert "Dòng 8: lỗi: Số điện thoại không hợp lệ" in result.output
    assert "Dòng 13: lỗi: thiếu call_id" in result.output
    assert "Dòng 16: lỗi: Nội dung phản ánh, kiến nghị phải có ít nhất 20 ký tự." in result.output
    assert "Dòng 18: lỗi: có 9 cột, cần 8 cột" in result.output
    assert _count(db, Case) == 16


def test_jsonl_bad_lines_are_rejected_one_by_one(app: Any, db: Session, tmp_path: Path) -> None:
    data = keyed_calls_jsonl(keyed_call_rows(5)).decode().split("\n")
    data[2] = '{"call_id": "x", "caller": '
    data[3] = '["not", "an", "object"]'
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(data), encoding="utf-8")
    result = _run(app, str(path))
    assert "Đã nhập 3 cuộc gọi" in result.output
    assert "Dòng 3: lỗi: không phải JSON" in result.output
    assert "Dòng 4: lỗi: không phải một đối tượng JSON" in result.output


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
    assert "Đã nhập 30 cuộc gọi, bỏ qua 0 (đã nhập trước đó), 0 dòng lỗi." in response.text
    assert "Thêm 1 cuộc gọi nhỡ (theo CDR) vào danh sách gọi lại." in response.text
    assert "<pre" not in response.text
    assert db.exec(select(HotlineCall)).first().operator == "coordinator1"  # type: ignore[union-attr]
    broken = client.post("/hotline/import", content_type="multipart/form-data",
                         data={"calls": (io.BytesIO(b"call_id,caller\n1,2\n"), "x.csv")})
    assert broken.status_code == 400 and "Tệp không đọc được ở dòng 1" in broken.text
    huge = client.post("/hotline/import", content_type="multipart/form-data",
                       data={"calls": (io.BytesIO(keyed_calls_csv(keyed_call_rows(3001, 100))), "big.csv")})
    assert huge.status_code == 400 and "quá 3000 dòng" in huge.text and "import-calls" in huge.text
    assert _count(db, Case) == 30


def test_a_row_without_a_caller_takes_the_number_from_the_cdr(app: Any, db: Session, tmp_path: Path) -> None:
    rows = _one_line_rows(3)
    rows[1]["caller"] = ""
    calls, master = tmp_path / "calls.csv", tmp_path / "Master.csv"
    calls.write_bytes(keyed_calls_csv(rows))
    master.write_text(cdr_line(rows[1]["call_id"], "0987654321", rows[1]["started_at"], "ANSWERED", billsec=30),
                      encoding="utf-8")
    result = _run(app, str(calls), "--cdr", str(master))
    assert result.exit_code == 0, result.output
    assert "Dòng 3: lưu ý: Không có số gọi đến; lấy số 0987654321 từ CDR." in result.output
    case = db.exec(select(Case).where(Case.external_id == rows[1]["call_id"])).one()
    call = db.exec(select(HotlineCall).where(HotlineCall.call_id == rows[1]["call_id"])).one()
    assert case.phone == call.caller == "+84987654321"


def test_a_fixed_row_is_imported_on_the_next_run_and_the_others_skipped(app: Any, db: Session,
                                                                        tmp_path: Path) -> None:
    rows = _one_line_rows(1200)  # three batches
    rows[700]["caller"] = "12345"
    path = tmp_path / "calls.csv"
    path.write_bytes(keyed_calls_csv(rows))
    first = _run(app, str(path))
    assert first.exit_code == 2 and "Đã nhập 1199 cuộc gọi, bỏ qua 0 (đã nhập trước đó), 1 dòng lỗi." in first.output
    assert "Dòng 702: lỗi: Số điện thoại không hợp lệ" in first.output
    rows[700]["caller"] = "0912000700"
    path.write_bytes(keyed_calls_csv(rows))
    second = _run(app, str(path))
    assert second.exit_code == 0, second.output
    assert "Đã nhập 1 cuộc gọi, bỏ qua 1199 (đã nhập trước đó), 0 dòng lỗi." in second.output
    assert _count(db, Case) == _count(db, HotlineCall) == 1200
    refused = db.exec(select(InboundMessage).where(col(InboundMessage.accepted).is_(False))).all()
    assert [r.external_id for r in refused] == [rows[700]["call_id"]]  # the evidence of the refused attempt stays


def test_import_writes_a_batch_with_one_insert_per_table(settings: Settings, db: Session) -> None:
    engine = make_engine(settings.database_url)
    statements: list[str] = []
    commits: list[int] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    event.listen(engine, "commit", lambda *args: commits.append(1))
    data = keyed_calls_csv(keyed_call_rows(1200))
    with new_session(engine) as session:
        report = calllog.import_calls(session, rows=hotline.iter_keyed_calls(io.BytesIO(data), "calls.csv"),
                                      cdr=None, settings=settings, storage=LocalStorage(settings.upload_dir))
    engine.dispose()
    assert report.imported == 1200 and _count(db, Case) == 1200
    if settings.database_url.startswith("postgresql"):  # one round trip per table and batch (SQLite: no network)
        for table in ("pakn_case", "hotline_call", "inbound_message", "event"):
            # a COPY on the driver's cursor (not an INSERT through SQLAlchemy; tests/gateway/test_db.py)
            assert not [s for s in statements if s.startswith(f"INSERT INTO {table} ")], table
        assert len([s for s in statements if "nextval(pg_get_serial_sequence" in s]) == 3  # the ids, per batch
    assert len(commits) == 3  # one per batch (no CDR: nothing else to write)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_call_imported_meanwhile_by_someone_else_is_skipped(settings: Settings, db: Session) -> None:
    rows = _one_line_rows(20)
    engine = make_engine(settings.database_url)
    other = make_engine(settings.database_url)

    def concurrent_import(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # the ids are drawn right before the batch's COPY: after our check for calls imported before
        if "nextval(pg_get_serial_sequence" in statement and not _count(db, HotlineCall):
            with new_session(other) as session:  # commits the 6th call between our check and our insert
                case = Case(channel=Channel.hotline, external_id=rows[5]["call_id"], full_name="", name_key="",
                            phone="+84912000005", address="", title="Nhập từ máy khác", content="x" * 30)
                session.add(case)
                session.flush()
                session.add(HotlineCall(call_id=rows[5]["call_id"], caller="+84912000005", case_id=case.id,
                                        source="console"))
                session.commit()

    event.listen(engine, "before_cursor_execute", concurrent_import)
    data = keyed_calls_csv(rows)
    with new_session(engine) as session:
        report = calllog.import_calls(session, rows=hotline.iter_keyed_calls(io.BytesIO(data), "calls.csv"),
                                      cdr=None, settings=settings, storage=LocalStorage(settings.upload_dir))
    engine.dispose()
    other.dispose()
    assert (report.imported, report.duplicate_count, report.rejected) == (19, 1, [])
    assert report.duplicates == [(7, rows[5]["call_id"])]
    assert _count(db, HotlineCall) == 20


def test_upload_report_is_a_table_in_vietnamese(app: Any, db: Session) -> None:
    make_staff(db, "coordinator")
    client = app.test_client()
    login(client, "coordinator")
    rows = _one_line_rows(4)
    rows[2]["transcript"] = "ngắn"
    data = {"calls": (io.BytesIO(keyed_calls_csv(rows)), "calls.csv")}
    assert client.post("/hotline/import", content_type="multipart/form-data", data=data).status_code == 200
    rows[2]["transcript"] = "Người gọi phản ánh hồ sơ đất đai chậm giải quyết quá hạn."
    rows.append(rows[0])  # the same call twice in one file
    response = client.post("/hotline/import", content_type="multipart/form-data",
                           data={"calls": (io.BytesIO(keyed_calls_csv(rows)), "calls.csv")})
    assert response.status_code == 200
    page = response.text
    assert "Đã nhập 1 cuộc gọi, bỏ qua 4 (đã nhập trước đó), 0 dòng lỗi." in page
    assert "<table>" in page and "<th scope=\"col\">Chi tiết</th>" in page and "<pre" not in page
    assert f"<td>Dòng 2</td><td>Bỏ qua</td><td>Cuộc gọi {rows[0]['call_id']} đã nhập trước đó.</td>" in page
