"""Redaction: real-style Vietnamese texts, what must go and what must stay."""

from __future__ import annotations

import pytest

from normalizer.redact import Kind, find, redact

NAME = "Nguyễn Thị Hồng Nhung"

# (text, sender's name, expected redacted text)
CASES: list[tuple[str, str, str]] = [
    # phones in every spelling people use
    ("Đề nghị cán bộ gọi lại cho tôi theo số 0912 345 678 hoặc 091.234.5678.", "",
     "Đề nghị cán bộ gọi lại cho tôi theo số [số điện thoại] hoặc [số điện thoại]."),
    ("Liên hệ: +84 98 765 43 21, máy bàn 024 3825 1234 (giờ hành chính).", "",
     "Liên hệ: [số điện thoại], máy bàn [số điện thoại] (giờ hành chính)."),
    ("SĐT 84912345678", "", "SĐT [số điện thoại]"),
    # emails
    ("Kết quả xin gửi về nhung.nguyen@example.com giúp tôi.", "", "Kết quả xin gửi về [email] giúp tôi."),
    # identity documents
    ("Tôi có CCCD số 001088012345 cấp ngày 10/5/2021 tại Cục Cảnh sát QLHC về TTXH.", "",
     "Tôi có CCCD số [số giấy tờ] cấp ngày 10/5/2021 tại Cục Cảnh sát QLHC về TTXH."),
    ("CMND: 012345678, cấp tại Công an Hà Nội.", "", "CMND: [số giấy tờ], cấp tại Công an Hà Nội."),
    ("Mã định danh 001 088 012 345 của tôi đã được xác thực mức 2.", "",
     "Mã định danh [số giấy tờ] của tôi đã được xác thực mức 2."),
    ("Hộ chiếu số C1234567 bị giữ quá hạn tại phòng Quản lý xuất nhập cảnh.", "",
     "Hộ chiếu số [số giấy tờ] bị giữ quá hạn tại phòng Quản lý xuất nhập cảnh."),
    # licence plates
    ("Xe ô tô biển kiểm soát 29A-123.45 bị giữ 60 ngày chưa trả.", "",
     "Xe ô tô biển kiểm soát [biển số xe] bị giữ 60 ngày chưa trả."),
    ("Xe máy 29-B1 123.45 và xe tải 51C-12345 đã nộp phạt.", "",
     "Xe máy [biển số xe] và xe tải [biển số xe] đã nộp phạt."),
    # bank accounts
    ("Tiền hỗ trợ chưa về số tài khoản 0011004123456 tại Vietcombank.", "",
     "Tiền hỗ trợ chưa về số tài khoản [số tài khoản] tại Vietcombank."),
    ("STK: 1903 5678 9012 34 Techcombank, chủ TK là tôi.", "",
     "STK: [số tài khoản] Techcombank, chủ TK là tôi."),
    ("Tài khoản Agribank số 1500205123456 bị phong tỏa.", "",
     "Tài khoản Agribank số [số tài khoản] bị phong tỏa."),
    # house numbers
    ("Nhà tôi ở số 12 ngõ 34 Lý Thường Kiệt, phường Cửa Nam.", "",
     "Nhà tôi ở số [số nhà] ngõ 34 Lý Thường Kiệt, phường Cửa Nam."),
    ("Địa chỉ: số nhà 15B, tổ 3, phường Quang Trung.", "", "Địa chỉ: số nhà [số nhà], tổ 3, phường Quang Trung."),
    ("Cống trước nhà 123/45 Nguyễn Trãi bị vỡ.", "", "Cống trước nhà [số nhà] Nguyễn Trãi bị vỡ."),
    # the sender's name and its parts, with and without diacritics
    (f"Tôi là {NAME}, trú tại Hà Nội. Chị Nhung đã nộp hồ sơ.", NAME,
     "Tôi là [họ tên], trú tại Hà Nội. Chị [họ tên] đã nộp hồ sơ."),
    ("Toi la Nguyen Thi Hong Nhung, de nghi xem xet.", NAME, "Toi la [họ tên], de nghi xem xet."),
    ("Bà Hồng Nhung và con trai đã đến UBND phường ba lần.", NAME,
     "Bà [họ tên] và con trai đã đến UBND phường ba lần."),
    ("Ong Hung goi phan anh: ho so cua bo ong Hung nop tai xa.", "Trần Văn Hùng",
     "Ong [họ tên] goi phan anh: ho so cua bo ong [họ tên] nop tai xa."),
    ("Hùng cho biết hồ sơ đã nộp từ tháng 6.", "Trần Văn Hùng", "[họ tên] cho biết hồ sơ đã nộp từ tháng 6."),
    # a given name that is also part of a place name stays in the place name
    ("Chị Hà ở quận Hoàn Kiếm, Hà Nội phản ánh việc chậm cấp phép.", "Lê Thu Hà",
     "Chị [họ tên] ở quận Hoàn Kiếm, Hà Nội phản ánh việc chậm cấp phép."),
    # everything at once
    ("Tôi, Trần Văn Hùng (CCCD 034090001234, ĐT 0987654321, email hung.tv@gmail.com), nhà số 7 "
     "ngõ 5 phố Huế, xe 30E-678.90, STK 0451000123456.", "Trần Văn Hùng",
     "Tôi, [họ tên] (CCCD [số giấy tờ], ĐT [số điện thoại], email [email]), nhà số [số nhà] "
     "ngõ 5 phố Huế, xe [biển số xe], STK [số tài khoản]."),
]

# Texts with nothing personal: every figure, date, legal reference, code and place stays.
UNTOUCHED = [
    "Đề nghị sửa đổi Nghị định số 123/2024/NĐ-CP về đăng ký doanh nghiệp cho phù hợp thực tiễn.",
    "Theo Quyết định 23/2021/QĐ-TTg, người lao động được hỗ trợ 1.855.000 đồng/tháng nhưng đến nay chưa nhận.",
    "Hồ sơ nộp ngày 05/03/2024, hẹn trả ngày 20/03/2024, đã quá hạn 45 ngày.",
    "Lệ phí trước bạ 150.000.000 đồng là quá cao so với giá trị 2.500.000.000 đồng của căn nhà.",
    "Tôi đã gửi PAKN 26-000123-4 và 260001234 nhưng chưa có kết quả.",
    "Xin gọi đường dây nóng 1900 1547 hoặc nhắn tin 8088 để tra cứu.",
    "Đường Nguyễn Trãi, quận Thanh Xuân, Hà Nội ngập nặng mỗi khi mưa lớn.",
    "Thủ tục cấp giấy phép lái xe hạng B2 kéo dài 3 lần hẹn, năm 2025 vẫn chưa xong.",
    "Đề nghị Bộ Tài nguyên và Môi trường xem xét lại Thông tư 02/2022/TT-BTNMT.",
    "Chi phí 2,5 triệu đồng cho 12 tháng; tổ 3 có 45 hộ dân.",
]


@pytest.mark.parametrize(("text", "name", "expected"), CASES)
def test_redacts_personal_data(text: str, name: str, expected: str) -> None:
    assert redact(text, names=[name] if name else []).text == expected


@pytest.mark.parametrize("text", UNTOUCHED)
def test_leaves_texts_without_personal_data_alone(text: str) -> None:
    result = redact(text, names=[NAME, "Trần Văn Hùng"])
    assert result.text == text
    assert not result.changed


def test_findings_say_what_and_where() -> None:
    text = "Gọi 0912345678 hoặc viết cho nhung@example.com"
    findings = find(text)
    assert [(f.kind, f.text) for f in findings] == [(Kind.phone, "0912345678"), (Kind.email, "nhung@example.com")]
    assert all(text[f.start:f.end] == f.text for f in findings)


def test_the_senders_own_address_and_email_go_verbatim() -> None:
    address = "Thôn Đông, xã Phú Lương, huyện Phú Bình, Thái Nguyên"
    text = f"Gia đình tôi ở {address}, liên hệ qua HUNG.TV@EXAMPLE.COM."
    result = redact(text, addresses=[address], emails=["hung.tv@example.com"])
    assert result.text == "Gia đình tôi ở [địa chỉ], liên hệ qua [email]."


@pytest.mark.parametrize(("text", "phones", "left"), [
    ("Liên hệ sdt0912345678 để xác minh", (), "sdt"),
    ("zalo0912 345 678 của tôi", (), "zalo"),
    ("gọi dt0987.654.321 giúp tôi", (), "dt"),
    ("Số máy nhà tôi 84 912 345 678 luôn bật", ("+84912345678",), "Số máy nhà tôi"),
])
def test_phones_glued_to_words_and_the_senders_own_number(text: str, phones: tuple[str, ...], left: str) -> None:
    out = redact(text, phones=phones).text
    assert "[số điện thoại]" in out and left in out
    assert not any(run in out for run in ("912345678", "912 345 678", "987.654.321", "0912", "0987"))
