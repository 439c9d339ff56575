"""The 8088 command grammar on real-looking Vietnamese texts."""

import unicodedata

import pytest

from channels.sms import Keyword, parse_command

K = Keyword
NFD = unicodedata.normalize("NFD", "Tra cứu 26-000001-9")


@pytest.mark.parametrize(
    ("body", "keyword", "code", "text"),
    [
        # new PAKN, explicit and free text
        ("PA Đường ngõ 12 Kim Mã ngập nặng mỗi khi mưa, đề nghị kiểm tra", K.new, None,
         "Đường ngõ 12 Kim Mã ngập nặng mỗi khi mưa, đề nghị kiểm tra"),
        ("pa duong ngo 12 kim ma ngap nang moi khi mua", K.new, None, "duong ngo 12 kim ma ngap nang moi khi mua"),
        ("Pa: Cán bộ phường đòi tiền khi chứng thực giấy tờ", K.new, None,
         "Cán bộ phường đòi tiền khi chứng thực giấy tờ"),
        ("Phản ánh thủ tục cấp hộ chiếu quá chậm ở Hà Đông", K.new, None, "thủ tục cấp hộ chiếu quá chậm ở Hà Đông"),
        ("Xin hỏi vì sao hồ sơ đăng ký kinh doanh của tôi bị trả lại 3 lần", K.new, None,
         "Xin hỏi vì sao hồ sơ đăng ký kinh doanh của tôi bị trả lại 3 lần"),
        ("Huy xin phan anh viec cap so do cham qua 6 thang", K.new, None,
         "Huy xin phan anh viec cap so do cham qua 6 thang"),  # "Huy" is a name here
        ("Bs benh vien huyen thu them tien ngoai quy dinh", K.new, None,
         "Bs benh vien huyen thu them tien ngoai quy dinh"),  # "Bs" = bác sĩ, no code follows
        # do not publish (không công khai)
        ("KCK 26-000001-9", K.no_publish, "26-000001-9", ""),
        ("kck 260000019", K.no_publish, "260000019", ""),
        ("Không công khai 26-000001-9", K.no_publish, "26-000001-9", ""),
        ("KCK260000019", K.no_publish, "260000019", ""),
        ("Không công khai thông tin của tôi trên báo", K.new, None,
         "Không công khai thông tin của tôi trên báo"),  # no code: a PAKN like any other
        # status
        ("TC 26-000001-9", K.status, "26-000001-9", ""),
        ("tc 260000019", K.status, "260000019", ""),
        ("Tc 26.000001.9", K.status, "26.000001.9", ""),
        ("TRA CUU 26 000001 9", K.status, "26 000001 9", ""),
        ("tra cứu PAKN 26-000001-9", K.status, "PAKN 26-000001-9", ""),
        (NFD, K.status, "26-000001-9", ""),
        ("TC260000019", K.status, "260000019", ""),
        ("TC", K.status, None, ""),
        ("tc.", K.status, None, ""),
        ("26-000001-9", K.status, "26-000001-9", ""),  # just a code: asks for its status
        ("TC 26-000001-8", K.status, "26-000001-8", ""),  # mistyped: reported later
        # supplement, rating, disagreement
        ("BS 26-000001-9 Toi gui them so hop dong 123/HD", K.supplement, "26-000001-9",
         "Toi gui them so hop dong 123/HD"),
        ("bổ sung 260000019 đã nộp lại hồ sơ ngày 5/3", K.supplement, "260000019", "đã nộp lại hồ sơ ngày 5/3"),
        ("BS 26 000001 9 2 anh chup nua", K.supplement, "26 000001 9", "2 anh chup nua"),
        ("DG 26-000001-9 5", K.rate, "26-000001-9", "5"),
        ("đánh giá 260000019 4", K.rate, "260000019", "4"),
        ("dg 26-000001-9 9", K.rate, "26-000001-9", "9"),  # out of range: answered later
        ("KDY 26-000001-9 Tra loi chua dung quy dinh", K.disagree, "26-000001-9", "Tra loi chua dung quy dinh"),
        ("Không đồng ý 26-000001-9 vì chưa giải quyết", K.disagree, "26-000001-9", "vì chưa giải quyết"),
        # help, stop, start
        ("HD", K.help, None, ""),
        ("hd?", K.help, None, ""),
        ("Hướng dẫn", K.help, None, ""),
        ("HUY", K.stop, None, ""),
        ("Hủy", K.stop, None, ""),
        ("DK", K.start, None, ""),
        ("đăng ký", K.start, None, ""),
        ("", K.help, None, ""),
        ("   \n ", K.help, None, ""),
    ],
)
def test_grammar(body: str, keyword: Keyword, code: str | None, text: str) -> None:
    command = parse_command(body)
    assert (command.keyword, command.code, command.text) == (keyword, code, text)


@pytest.mark.parametrize("body", ["ok", "?", "alo", "KDY", "PA", "PA ngắn"])
def test_too_short_free_text_gets_help(body: str) -> None:
    command = parse_command(body)
    assert command.keyword is Keyword.new and command.too_short


def test_long_message_is_kept_whole() -> None:
    body = "PA " + ("Nội dung phản ánh dài về thủ tục đất đai. " * 40)[:1597]
    command = parse_command(body)
    assert command.keyword is Keyword.new and len(command.text) > 1500 and not command.too_short
