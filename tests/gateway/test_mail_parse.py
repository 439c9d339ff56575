"""Reading replies: quotes and signatures cut, charsets decoded, auto-replies and bounces recognised."""

from __future__ import annotations

import pytest

from gateway.mailbox.parse import html_to_text, is_progress, read, strip_reply


@pytest.mark.parametrize(("text", "kept"), [
    ("Đã giải quyết.\n\nOn Mon, Nov 23, 2026 at 8:00 AM PAKN <pakn@x.vn> wrote:\n> cũ", "Đã giải quyết."),
    ("Đã giải quyết.\n\nOn Mon, Nov 23, 2026 at 8:00 AM PAKN <pakn@x.vn>\nwrote:\n> cũ", "Đã giải quyết."),
    ("Đã giải quyết.\nVào Th 2, 23 thg 11, 2026 vào lúc 08:00 PAKN <pakn@x.vn> đã viết:\n> cũ", "Đã giải quyết."),
    ("Đã giải quyết.\n-----Original Message-----\nFrom: PAKN", "Đã giải quyết."),
    ("Đã giải quyết.\n\nTừ: PAKN <pakn@x.vn>\nĐã gửi: Thứ Hai\nĐến: a@b\nTiêu đề: x\n\ncũ", "Đã giải quyết."),
    ("Đã giải quyết.\n-- \nNguyễn Văn A\nPhòng Đăng ký", "Đã giải quyết."),
    ("Đã giải quyết.\n\nGửi từ iPhone của tôi", "Đã giải quyết."),
    ("Từ ngày 1/12 hồ sơ trả tại một cửa.\nNgày mai có.", "Từ ngày 1/12 hồ sơ trả tại một cửa.\nNgày mai có."),
])
def test_strip_reply_keeps_only_the_new_text(text: str, kept: str) -> None:
    assert strip_reply(text) == kept


def test_html_to_text_stops_at_the_quote_and_skips_styles() -> None:
    html = ("<html><head><style>p{color:red}</style></head><body><p>Dòng một</p><p>Dòng&nbsp;hai &amp; ba</p>"
            "<div class='gmail_quote'>cũ</div><p>sau trích dẫn</p></body></html>")
    assert html_to_text(html) == "Dòng một\n\nDòng hai & ba"


def test_charsets_and_flags() -> None:
    latin = (b"From: a@b.vn\r\nTo: pakn+26-000001-9@x.vn\r\nSubject: =?windows-1258?Q?Ti=D2=EAn_=F0o=F2?=\r\n"
             b"Message-ID: <1@b.vn>\r\nContent-Type: text/plain; charset=windows-1258\r\n"
             b"Content-Transfer-Encoding: 8bit\r\n\r\n") + "Kính gửi".encode("cp1258", errors="replace")
    mail = read(latin)
    assert mail.codes() == ["26-000001-9"] and mail.message_id == "<1@b.vn>"
    assert not mail.auto_reply and not mail.bounce
    unknown = read(b"From: a@b.vn\r\nSubject: x\r\nContent-Type: text/plain; charset=x-unknown-8\r\n\r\nN\xe1\xbb\x99i")
    assert unknown.text == "Nội"  # an unknown charset: UTF-8 tried next
    out_of_office = read(b"From: a@b.vn\r\nSubject: Out of Office: x\r\n\r\nI am away")
    assert out_of_office.auto_reply and not read(b"From: a@b.vn\r\nAuto-Submitted: no\r\n\r\nx").auto_reply
    assert is_progress("Re: tien do [PAKN 26-000001-9]") and is_progress("TIẾN ĐỘ") and not is_progress("Trả lời")
    assert read(b"From: a@b.vn\r\n\r\nx").key != read(b"From: a@b.vn\r\n\r\ny").key  # no Message-ID: by content


def test_a_dmarc_failure_reported_by_our_server_marks_the_message_spoofed() -> None:
    head = b"From: vanthu@nnmt.gov.example\r\nSubject: Re: PAKN\r\n"
    failed = b"Authentication-Results: mx.pakn.example.gov.vn; spf=fail; dmarc=fail header.from=nnmt.gov.example\r\n"
    passed = b"Authentication-Results: mx.pakn.example.gov.vn; dkim=pass; dmarc=pass header.from=nnmt.gov.example\r\n"
    assert read(failed + head + b"\r\nx").spoofed
    assert not read(passed + head + b"\r\nx").spoofed and not read(head + b"\r\nx").spoofed
