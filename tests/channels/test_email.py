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
