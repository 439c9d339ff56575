"""SMS encoding and segment counting (GSM 03.38 and UCS-2), and reply fitting."""

import pytest

from gateway import messages
from normalizer.text import fit, is_gsm7, segments, to_gsm7


@pytest.mark.parametrize(
    ("text", "gsm", "count"),
    [
        ("", True, 1),
        ("a" * 160, True, 1),
        ("a" * 161, True, 2),
        ("a" * 306, True, 2),
        ("a" * 307, True, 3),
        ("€" * 80, True, 1),  # 160 septets: each € is ESC + e
        ("€" * 81, True, 2),
        ("a" * 152 + "€" + "a" * 10, True, 2),  # the escape pair is never split
        ("a" * 152 + "€" + "a" * 152, True, 3),
        ("Đã tiếp nhận", False, 1),
        ("ạ" * 70, False, 1),
        ("ạ" * 71, False, 2),
        ("ạ" * 134, False, 2),
        ("ạ" * 135, False, 3),
        ("😀" * 35, False, 1),  # 70 UTF-16 code units
        ("😀" * 36, False, 2),
        ("a" * 66 + "😀" + "a" * 70, False, 3),  # the surrogate pair moves whole
        ("èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà", True, 1),
    ],
)
def test_segments(text: str, gsm: bool, count: int) -> None:
    assert is_gsm7(text) is gsm
    assert segments(text) == count


@pytest.mark.parametrize(
    ("text", "gsm"),
    [
        ("Đã tiếp nhận PAKN của Ông/Bà", "Da tiep nhan PAKN cua Ong/Ba"),
        ("“Trích dẫn” – gạch ngang… «ngoặc»", '"Trich dan" - gach ngang... "ngoac"'),
        ("Số tiền 5×10⁶ ₫", "So tien 5x10? ?"),
    ],
)
def test_to_gsm7(text: str, gsm: str) -> None:
    assert to_gsm7(text) == gsm
    assert is_gsm7(to_gsm7(text))


def test_fit_cuts_at_a_word_boundary_and_keeps_the_tail() -> None:
    tail = "https://pakn.example.gov.vn/lookup?code=26-000001-9"
    text = fit("Noi dung tra loi rat dai " * 30, tail=tail)
    assert segments(text) == 2 and text.endswith(" ... " + tail)
    assert text.split(" ... ")[0].split()[-1] in {"Noi", "dung", "tra", "loi", "rat", "dai"}  # whole words
    assert fit("ngan", tail=tail) == "ngan"
    assert segments(fit("x" * 1000)) <= 2


def test_every_sms_reply_fits_two_gsm7_segments() -> None:
    worst = dict(code="26-123456-7", parts=messages.text("sms", "ack_parts", parts=12), short_code="8088",
                 url="https://dichvucong.gov.vn/pakn/lookup?code=26-123456-7",
                 label="Đã chuyển cơ quan có thẩm quyền", received="31/12/2026",
                 items="; ".join(["26-123456-7 Đã chuyển cơ quan có thẩm quyền"] * 3), rating=5, days=30,
                due=" Hạn trả lời 31/12/2026, quá hạn 123 ngày làm việc.", late=123,
                hotline="19001547", follow_code="26-123457-5",
                title="Xã chậm xác nhận hồ sơ hưởng trợ cấp người có công với cách mạng"[:60] + "…")
    for key, template in messages.catalog()["sms"].items():
        if key == "status_list":
            continue  # lists are cut by fit() like any long text
        text = to_gsm7(template.format(**worst))
        assert is_gsm7(text), key
        assert segments(text) <= 2, (key, len(text))


def test_replies_with_diacritics_when_asked(tmp_path: object) -> None:
    from config.settings import Settings
    from gateway.notices import sms_text

    settings = Settings(secret_key="x" * 40)
    text = "Đã tiếp nhận PAKN, mã 26-000123-4. Tra cứu: nhắn TC 26-000123-4 gửi 8088"
    assert sms_text(text, settings) == "Da tiep nhan PAKN, ma 26-000123-4. Tra cuu: nhan TC 26-000123-4 gui 8088"
    accented = sms_text(text, settings.with_(sms_diacritics=True))
    assert accented == text and not is_gsm7(accented) and segments(accented) == 2
    long = sms_text("Nội dung trả lời rất dài " * 20, settings.with_(sms_diacritics=True), tail="https://x/l")
    assert segments(long) == 2 and long.endswith(" ... https://x/l")
