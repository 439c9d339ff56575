"""CSV and XLSX files of the statistics and of a period's case list."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus
from gateway.fields import all_fields
from gateway.models import Agency, AuditLog, Case
from gateway.stats.compute import CHANNEL_LABELS, TYPE_LABELS, Stats
from gateway.stats.periods import Period
from gateway.stats.report import narrative, tables

Sheet = tuple[str, Sequence[str], list[list[object]]]
CASE_HEADER = ("Mã PAKN", "Ngày tiếp nhận", "Kênh", "Trạng thái", "Loại", "Lĩnh vực", "Cơ quan xử lý", "Hạn trả lời",
               "Ngày trả lời", "Đúng hạn", "Đánh giá", "Tiêu đề")
PERSONAL_HEADER = ("Họ tên", "Điện thoại", "Email", "Địa chỉ")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[\d .]+")


def _safe(value: object) -> object:
    """CSV text that a spreadsheet would run as a formula gets an apostrophe (numbers like +84… stay)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _local(moment: datetime | None) -> str:
    return moment.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def case_rows(session: Session, *, period: Period, personal: bool) -> tuple[Sequence[str], list[list[object]]]:
    """Every case received in ``period`` (oldest first); personal columns only when ``personal``."""
    fields = {f.code: f.name for f in all_fields()}
    query = (
        sa.select(Case, col(Agency.name))
        .outerjoin(Agency, col(Agency.id) == col(Case.agency_id))
        .where(col(Case.created_at) >= period.start, col(Case.created_at) < period.end)
        .order_by(col(Case.created_at), col(Case.id))
    )
    rows: list[list[object]] = []
    for case, agency_name in session.execute(query):
        on_time = ("" if not (case.answered_at and case.due_at)
                   else "có" if case.answered_at <= case.due_at else "không")
        row: list[object] = [
            case.code or "", _local(case.created_at), CHANNEL_LABELS.get(case.channel, case.channel.value),
            STATUS_LABELS_VI[CaseStatus(case.status)], TYPE_LABELS.get(case.case_type or "", ""),
            fields.get(case.field or "", ""), agency_name or "", _local(case.due_at), _local(case.answered_at),
            on_time, case.rating or "", case.title,
        ]
        if personal:
            row += [case.full_name, case.phone, case.email or "", case.address]
        rows.append(row)
    return (CASE_HEADER + PERSONAL_HEADER) if personal else CASE_HEADER, rows


def stats_sheets(stats: Stats) -> list[Sheet]:
    """The statistics as sheets (the narrative first)."""
    return [("Báo cáo", ("Nội dung",), [[stats.period.label], [narrative(stats)]]), *tables(stats)]


def to_csv(sheets: Sequence[Sheet]) -> bytes:
    """One CSV (UTF-8 with BOM, for Excel): each sheet under its title, a blank line between."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for i, (title, header, rows) in enumerate(sheets):
        if len(sheets) > 1:
            if i:
                writer.writerow([])
            writer.writerow([title])
        writer.writerow(header)
        writer.writerows([[_safe(v) for v in row] for row in rows])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """One workbook, a worksheet per sheet (header in bold, text never read as a formula)."""
    from openpyxl import Workbook  # imported when used: 0.3 s at the start of every process otherwise
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(list(row))
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text stays text: a citizen's "=…" is never a formula
        for column in sheet.columns:
            width = max((len(str(c.value or "")) for c in column), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(80, max(10, width + 2))
        if title == "Báo cáo":
            sheet.column_dimensions["A"].width = 120
            for row_cells in sheet.iter_rows(min_row=2):
                row_cells[0].alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def audit(session: Session, *, actor: str, what: str, fmt: str, period: Period, rows: int, personal: bool) -> None:
    """Record an export (the caller commits)."""
    session.add(AuditLog(actor=actor, action=f"export-{what}", detail=json.dumps(
        {"period": period.key, "format": fmt, "rows": rows, "personal": personal}, ensure_ascii=False)))
