"""The answer as a Vietnamese official letter (công văn), rendered with fpdf2.

Layout after Nghị định 30/2020/NĐ-CP (thể thức văn bản hành chính): the agency's name and
the national motto side by side, the number and the place/date line, the excerpt
("V/v trả lời PAKN …"), the addressee, the text, the recipients and the signature block.
The font is DejaVu Serif, shipped in ``fonts/`` (Bitstream Vera licence, full Vietnamese
coverage), so no system font package is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from gateway.constants import VN_TZ
from normalizer.text import nfc

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR = FONTS / "DejaVuSerif.ttf"
BOLD = FONTS / "DejaVuSerif-Bold.ttf"
FAMILY = "DejaVuSerif"
MM_TO_PT = 72 / 25.4
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT, TOP = 25.0, 20.0, 18.0  # margins (mm), as for printed công văn
SIGNATURE_BOX = (70.0, 24.0)  # width, height (mm) of the visible signature field
MOTTO_1 = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class LetterContent:
    """What goes in the letter (no phone number, no email: the addressee is the name only)."""

    agency_name: str
    number: str  # e.g. "26-000123-4/TL-PAKN"
    code: str
    place: str
    date: datetime
    addressee: str
    title: str
    received: datetime
    answer: str
    signer_title: str
    signer_name: str
    signed_by: str | None = None  # the certificate's holder, written in the signature box


@dataclass(frozen=True)
class Letter:
    """The rendered PDF and where its signature field goes (page index, box in PDF points)."""

    pdf: bytes
    signature_page: int
    signature_box: tuple[int, int, int, int]


def _clean(text: str) -> str:
    return _CONTROL.sub("", nfc(text).replace("\r\n", "\n").replace("\r", "\n"))


def date_line(place: str, when: datetime) -> str:
    """'Hà Nội, ngày 05 tháng 3 năm 2026' (day and month below 10 written as 0x and x)."""
    local = when.astimezone(VN_TZ)
    return f"{place}, ngày {local.day:02d} tháng {local.month} năm {local.year}"


def _centered(pdf: FPDF, x: float, width: float, text: str, *, size: float, bold: bool = False,
              line: float | None = None) -> None:
    pdf.set_font(FAMILY, "B" if bold else "", size)
    pdf.set_x(x)
    pdf.multi_cell(width, line or size * 0.5, text, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)


def _underline(pdf: FPDF, x_center: float, width: float) -> None:
    y = pdf.get_y() + 0.8
    pdf.line(x_center - width / 2, y, x_center + width / 2, y)
    pdf.set_y(y + 2)


def render(content: LetterContent) -> Letter:
    """The letter as PDF bytes, with the place reserved for the visible signature."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.add_font(FAMILY, "", str(REGULAR))
    pdf.add_font(FAMILY, "B", str(BOLD))
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_title(f"Trả lời PAKN {content.code}")
    pdf.set_author(_clean(content.agency_name))
    pdf.set_subject(f"V/v trả lời PAKN {content.code}")
    pdf.set_creator("PAKN gateway")
    pdf.set_lang("vi-VN")
    pdf.add_page()

    left_w, right_x = 68.0, LEFT + 62.0
    right_w = PAGE_W - RIGHT - right_x
    top = pdf.get_y()
    _centered(pdf, LEFT, left_w, _clean(content.agency_name).upper(), size=11, bold=True, line=5.5)
    _underline(pdf, LEFT + left_w / 2, 25)
    _centered(pdf, LEFT, left_w, f"Số: {content.number}", size=12, line=6)
    _centered(pdf, LEFT, left_w, f"V/v trả lời PAKN {content.code}", size=11, line=5.5)
    left_bottom = pdf.get_y()
    pdf.set_y(top)
    _centered(pdf, right_x, right_w, MOTTO_1, size=10.5, bold=True, line=5.5)
    _centered(pdf, right_x, right_w, MOTTO_2, size=11.5, bold=True, line=6)
    _underline(pdf, right_x + right_w / 2, 58)
    pdf.set_y(pdf.get_y() + 5.5)
    _centered(pdf, right_x, right_w, date_line(_clean(content.place), content.date), size=12, line=6)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)

    body_w = PAGE_W - LEFT - RIGHT
    _centered(pdf, LEFT, body_w, f"Kính gửi: {_clean(content.addressee)}", size=13, line=7)
    pdf.ln(4)
    pdf.set_font(FAMILY, "", 12.5)
    received = content.received.astimezone(VN_TZ).strftime("%d/%m/%Y")
    intro = (f"{_clean(content.agency_name)} nhận được phản ánh, kiến nghị mã {content.code} "
             f"(tiếp nhận ngày {received}) về việc: {_clean(content.title)}. Sau khi xem xét, "
             f"{_clean(content.agency_name)} trả lời như sau:")
    for paragraph in [intro, *_clean(content.answer).split("\n")]:
        pdf.set_x(LEFT)
        pdf.multi_cell(body_w, 6.5, paragraph, align="J", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.ln(1.5)
    return _signature_block(pdf, content)


def _signature_block(pdf: FPDF, content: LetterContent) -> Letter:
    title_lines = _clean(content.signer_title).upper().count("\n") + 1
    needed = 10 + title_lines * 6 + SIGNATURE_BOX[1] + 12
    if pdf.get_y() + needed > PAGE_H - 20:
        pdf.add_page()
    pdf.ln(5)
    top = pdf.get_y()
    right_x, right_w = LEFT + 75.0, PAGE_W - RIGHT - (LEFT + 75.0)
    pdf.set_font(FAMILY, "B", 11)
    pdf.set_xy(LEFT, top)
    pdf.cell(60, 5, "Nơi nhận:", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 10)
    for line in ("- Như trên;", "- Văn phòng điều phối PAKN;", "- Lưu: VT."):
        pdf.set_x(LEFT)
        pdf.cell(60, 4.5, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(top)
    _centered(pdf, right_x, right_w, _clean(content.signer_title).upper(), size=12.5, bold=True, line=6)
    box_w, box_h = SIGNATURE_BOX
    box_x, box_y = right_x + (right_w - box_w) / 2, pdf.get_y() + 2
    if content.signed_by:
        pdf.set_font(FAMILY, "", 9)
        pdf.set_xy(box_x + 2, box_y + 5)
        note = (f"Ký số bởi: {_clean(content.signed_by)}\n"
                f"Ngày ký: {content.date.astimezone(VN_TZ):%d/%m/%Y %H:%M} (GMT+7)")
        pdf.multi_cell(box_w - 4, 4.5, note, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(box_y + box_h + 2)
    _centered(pdf, right_x, right_w, _clean(content.signer_name), size=12.5, bold=True, line=6)
    page = pdf.page_no() - 1
    box = (round(box_x * MM_TO_PT), round((PAGE_H - box_y - box_h) * MM_TO_PT),
           round((box_x + box_w) * MM_TO_PT), round((PAGE_H - box_y) * MM_TO_PT))
    return Letter(pdf=bytes(pdf.output()), signature_page=page, signature_box=box)
