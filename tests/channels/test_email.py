"""Emails as mail clients read them."""

import email
import email.policy

import pytest

from channels.base import FileAttachment, OutboundMessage
from channels.email import build


@pytest.mark.parametrize("subject", [
    "[PAKN 26-000001-9] Chậm cấp giấy chứng nhận quyền sử dụng đất",
    "[PAKN 26-000001-9] Đã tiếp nhận phản ánh, kiến nghị: " + "Cán bộ một cửa phường hẹn trả kết quả " * 6,
])
def test_vietnamese_subjects_survive_the_round_trip(subject: str) -> None:
    raw = bytes(build(OutboundMessage(recipient="a@example.com", subject=subject, body="Nội dung"), "p@x.example"))
    assert max(len(line) for line in raw.split(b"\n")) <= 998
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == subject


def test_html_alternative_and_attachments() -> None:
    raw = bytes(build(OutboundMessage(recipient="a@example.com", subject="s", body="văn bản", html="<p>văn bản</p>",
                                      attachments=(FileAttachment("PAKN-1.ics", "text/calendar", b"BEGIN:VCALENDAR"),)),
                      "p@x.example"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    types = [part.get_content_type() for part in parsed.walk()]
    assert "text/plain" in types and "text/html" in types and "text/calendar" in types
    assert parsed.get_body(("plain",)).get_content().strip() == "văn bản"  # type: ignore[union-attr]


def test_every_text_attachment_carries_charset_utf8() -> None:
    files = (FileAttachment("a.vcf", "text/vcard", "FN:Nguyễn Văn An\r\n".encode()),
             FileAttachment("a.ics", "text/calendar", "SUMMARY:Hạn trả lời\r\n".encode()),
             FileAttachment("a.pdf", "application/pdf", b"%PDF-1.4"))
    raw = bytes(build(OutboundMessage(recipient="a@example.com", subject="s", body="b", attachments=files),
                      "p@x.example"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    found = {p.get_filename(): p for p in parsed.iter_attachments()}  # type: ignore[attr-defined]
    assert found["a.vcf"].get_content_charset() == "utf-8" and "Nguyễn Văn An" in found["a.vcf"].get_content()
    assert found["a.ics"].get_content_charset() == "utf-8" and "Hạn trả lời" in found["a.ics"].get_content()
    assert found["a.pdf"].get_content_charset() is None and found["a.pdf"].get_content() == b"%PDF-1.4"
