"""The official letter: Vietnamese text extracted back exactly, the công văn's fixed parts."""

from __future__ import annotations

import io
import unicodedata
from datetime import UTC, datetime

from pypdf import PdfReader

from gateway.signing.letter import LetterContent, date_line, render

ANSWER = ("Về việc chậm cấp giấy chứng nhận quyền sử dụng đất, Sở Nông nghiệp và Môi trường đã yêu cầu Văn phòng "
          "đăng ký đất đai giải quyết hồ sơ trước ngày 30/11/2026; cán bộ Nguyễn Văn Hưởng chậm trễ đã bị kiểm điểm.\n"
          "Ủy ban nhân dân phường Cửa Nam sẽ trả kết quả tại bộ phận một cửa. Trân trọng cảm ơn Ông/Bà.")


def content(**changes: object) -> LetterContent:
    """A letter's content with some fields changed."""
    values: dict[str, object] = dict(
        agency_name="Bộ Nông nghiệp và Môi trường", number="26-000123-4/TL-PAKN", code="26-000123-4",
        place="Hà Nội", date=datetime(2026, 3, 5, 3, 0, tzinfo=UTC), addressee="Ông/Bà Nguyễn Thị Hồng Nhung",
        title="Chậm cấp giấy chứng nhận quyền sử dụng đất", received=datetime(2026, 2, 10, 2, 0, tzinfo=UTC),
        answer=ANSWER, signer_title="KT. BỘ TRƯỞNG\nTHỨ TRƯỞNG", signer_name="Trần Quốc Khánh",
        signed_by="Bộ Nông nghiệp và Môi trường")
    values.update(changes)
    return LetterContent(**values)  # type: ignore[arg-type]


def text_of(pdf: bytes) -> str:
    """All pages' text with runs of whitespace made one space (lines wrap where the layout says)."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_answer_is_extracted_exactly_with_its_diacritics() -> None:
    decomposed = unicodedata.normalize("NFD", ANSWER)  # typed on a keyboard that sends combining marks
    letter = render(content(answer=decomposed))
    text = text_of(letter.pdf)
    assert " ".join(ANSWER.split()) in text  # NFC, every diacritic intact
    assert unicodedata.is_normalized("NFC", text)
    for fixed in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BỘ NÔNG NGHIỆP VÀ MÔI",
                  "Số: 26-000123-4/TL-PAKN", "V/v trả lời PAKN 26-000123-4", "Hà Nội, ngày 05 tháng 3 năm 2026",
                  "Kính gửi: Ông/Bà Nguyễn Thị Hồng Nhung", "KT. BỘ TRƯỞNG THỨ TRƯỞNG", "Trần Quốc Khánh",
                  "Ký số bởi: Bộ Nông nghiệp và Môi trường", "tiếp nhận ngày 10/02/2026"):
        assert fixed in text, fixed


def test_the_font_is_embedded_and_the_signature_box_is_on_the_last_page() -> None:
    long_answer = "\n".join([ANSWER] * 12)
    letter = render(content(answer=long_answer))
    reader = PdfReader(io.BytesIO(letter.pdf))
    assert len(reader.pages) >= 2 and letter.signature_page == len(reader.pages) - 1
    fonts = {str(f) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert fonts
    font = reader.pages[0]["/Resources"]["/Font"]
    first = next(iter(font.values())).get_object()
    assert "DejaVuSerif" in str(first["/BaseFont"])
    descendant = first["/DescendantFonts"][0].get_object()
    assert "/FontFile2" in descendant["/FontDescriptor"].get_object()  # embedded, not a system font
    x1, y1, x2, y2 = letter.signature_box
    assert 0 < x1 < x2 <= 595 and 0 < y1 < y2 <= 842


def test_no_phone_or_email_in_the_letter() -> None:
    text = text_of(render(content()).pdf)
    assert "@" not in text and "0912" not in text


def test_date_line_in_vietnam_time() -> None:
    assert date_line("Hà Nội", datetime(2026, 11, 30, 18, 0, tzinfo=UTC)) == "Hà Nội, ngày 01 tháng 12 năm 2026"
