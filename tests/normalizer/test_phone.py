import pytest

from normalizer.phone import OLD_MOBILE_PREFIXES, display, is_mobile, to_e164


@pytest.mark.parametrize(
    ("raw", "e164", "mobile"),
    [
        ("0912345678", "+84912345678", True),
        ("0912 345 678", "+84912345678", True),
        ("0912.345.678", "+84912345678", True),
        ("(+84) 912-345-678", "+84912345678", True),
        ("84912345678", "+84912345678", True),
        ("0084912345678", "+84912345678", True),
        ("912345678", "+84912345678", True),  # leading 0 lost by a spreadsheet
        ("01623456789", "+84323456789", True),  # Viettel 0162 → 032
        ("0169 123 4567", "+84391234567", True),  # Viettel 0169 → 039
        ("01201234567", "+84701234567", True),  # MobiFone 0120 → 070
        ("01271234567", "+84811234567", True),  # VinaPhone 0127 → 081
        ("01881234567", "+84581234567", True),  # Vietnamobile 0188 → 058
        ("01991234567", "+84591234567", True),  # Gmobile 0199 → 059
        ("+841623456789", "+84323456789", True),
        ("024 3825 3536", "+842438253536", False),  # Hà Nội landline
        ("028 3829 5555", "+842838295555", False),  # TP. Hồ Chí Minh landline
        ("+1 415 555 2671", "+14155552671", True),
    ],
)
def test_valid_numbers(raw: str, e164: str, mobile: bool) -> None:
    assert to_e164(raw) == e164
    assert is_mobile(e164) is mobile


@pytest.mark.parametrize("raw", ["", "   ", "123", "abc", "0912", "09123456789012", "+84 00 000 0000"])
def test_invalid_numbers(raw: str) -> None:
    assert to_e164(raw) is None


@pytest.mark.parametrize(("old", "new"), sorted(OLD_MOBILE_PREFIXES.items()))
def test_every_renumbered_prefix_gives_a_valid_mobile(old: str, new: str) -> None:
    e164 = to_e164(old + "1234567")
    assert e164 == "+84" + new[1:] + "1234567"
    assert is_mobile(e164)


def test_display_national_for_vietnam() -> None:
    assert display("+84912345678") == "0912 345 678"
