import pytest

from normalizer.attachment import DOC, DOCX, JPG, PDF, XLS, XLSX, check, check_all, safe_name
from tests.factories import docx_bytes, exe_bytes, jpg_bytes, ole_bytes, pdf_bytes, xlsx_bytes, zip_bytes

MB = 1024 * 1024


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("anh.jpg", jpg_bytes(), JPG),
        ("ANH.JPEG", jpg_bytes(), JPG),
        ("don.pdf", pdf_bytes(), PDF),
        ("don.docx", docx_bytes(), DOCX),
        ("bang.xlsx", xlsx_bytes(), XLSX),
        ("don.doc", ole_bytes("WordDocument"), DOC),
        ("bang.xls", ole_bytes("Workbook"), XLS),
        ("văn bản.pdf", pdf_bytes(), PDF),
    ],
)
def test_accepted_by_content(name: str, data: bytes, expected: object) -> None:
    assert check(name, data, MB) == expected


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("don.jpg", pdf_bytes(), "mismatch"),  # a PDF named .jpg
        ("don.pdf", exe_bytes(), "bad_type"),  # an executable renamed .pdf
        ("setup.exe", exe_bytes(), "bad_type"),
        ("don.docx", zip_bytes(), "bad_type"),  # a ZIP is not a DOCX
        ("bang.xlsx", docx_bytes(), "mismatch"),
        ("don.doc", ole_bytes("Workbook"), "mismatch"),
        ("anh.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "bad_type"),
        ("trang.html", b"<html><script>alert(1)</script>", "bad_type"),
        ("rong.pdf", b"", "empty"),
        ("lon.pdf", pdf_bytes() + b"0" * MB, "too_large"),
        ("khongduoi", pdf_bytes(), "mismatch"),
    ],
)
def test_refused(name: str, data: bytes, code: str) -> None:
    assert check(name, data, MB) == code


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\x.pdf", "x.pdf"),
        ("/abs/path/don.pdf", "don.pdf"),
        ("đơn kiến nghị.pdf", "đơn kiến nghị.pdf"),
        ("a<b>c\x00.pdf", "a_b_c.pdf"),
        ("....", "tep-dinh-kem"),
        ("", "tep-dinh-kem"),
    ],
)
def test_safe_name(raw: str, safe: str) -> None:
    assert safe_name(raw) == safe


def test_batch_limits() -> None:
    files = [("a.pdf", pdf_bytes())] * 3
    assert check_all(files, max_files=2, max_bytes=MB, max_total=MB)[1][0].code == "too_many"
    big = [("a.pdf", pdf_bytes() + b"0" * 600_000)] * 2
    assert check_all(big, max_files=5, max_bytes=MB, max_total=MB)[1][0].code == "total_too_large"
    mixed = [("a.pdf", pdf_bytes()), ("b.jpg", pdf_bytes())]
    kinds, problems = check_all(mixed, max_files=5, max_bytes=MB, max_total=MB)
    assert kinds == [PDF] and [p.code for p in problems] == ["mismatch"]
