"""Provinces in citizens' texts: new names, old names, no diacritics; addresses taken out."""

from __future__ import annotations

import pytest

from gateway.classifier.service import provinces
from normalizer.places import detect_province, strip_places


def test_34_provinces_after_2025() -> None:
    units = provinces()
    assert len(units) == 34 and len({p.code for p in units}) == 34
    assert sum(1 for p in units if p.name.startswith("Thành phố")) == 6
    old = {name for p in units for name in p.old}
    assert {"Hải Dương", "Bình Dương", "Thừa Thiên Huế", "Kiên Giang", "Hà Giang", "Bắc Giang"} <= old


@pytest.mark.parametrize(
    ("text", "code", "old"),
    [("Tôi ở thôn Đoài, xã Thạch Thất, TP Hà Nội", "ha-noi", False),
     ("Công ty ở KCN Quang Châu, Bắc Giang cũ đã nợ lương", "bac-ninh", True),
     ("lam so do o xa viet yen bac giang ma can bo hen 4 lan", "bac-ninh", True),
     ("Tôi ở ấp Mỹ Hòa, tỉnh Kiên Giang cũ (nay là An Giang)", "an-giang", True),
     ("Nhà tôi ở phường Thủ Dầu Một, Bình Dương", "ho-chi-minh", True),
     ("Công trình trên đường Hà Nội, Huế bỏ dở hơn 5 năm", "hue", False),  # a street named after a city
     ("o phuong go vap tphcm tu thang 6", "ho-chi-minh", False),
     ("Thua Thien Hue, xa Phu Vang", "hue", True)],
)
def test_detect_province(text: str, code: str, old: bool) -> None:
    found = detect_province(text, provinces())
    assert found is not None and (found.code, found.old_name) == (code, old)


def test_no_province_in_words_that_only_look_like_one() -> None:
    assert detect_province("Khen thưởng cào bằng, dàn trải, không công khai tiêu chí", provinces()) is None
    assert detect_province("Nhà tôi ở đường Hải Phòng, phường Hòa Bình", provinces()) is None


def test_the_address_field_comes_first() -> None:
    found = detect_province("Tôi đi công tác Đà Nẵng thì bị mất giấy tờ", provinces(), address="Số 3, Cần Thơ")
    assert found is not None and (found.code, found.source) == ("can-tho", "address")


def test_strip_places_keeps_ordinary_words() -> None:
    text = "Mặt đường bong tróc trước số 12 đường Lê Lợi, phường Bến Nghé; bản Nà Sản bán hàng"
    stripped = strip_places(text)
    assert "Lê Lợi" not in stripped and "Bến Nghé" not in stripped and "Nà Sản" not in stripped
    assert "Mặt đường bong tróc" in stripped and "bán hàng" in stripped
