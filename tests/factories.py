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
                            display_name=f"Cán bộ {role}", agency_code="bo-tnmt" if role == "agency" else None)


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
