"""Phone numbers: a table of cases, and the fast path checked against plain phonenumbers."""

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import NumberParseException, PhoneNumberType

from normalizer import phone
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
        ("+84 912 345 678", "+84912345678", True),
        ("84 912 345 678", "+84912345678", True),
        ("0084-912-345-678", "+84912345678", True),
        ("0912345678 ", "+84912345678", True),
        ("++84912345678", "+84912345678", True),  # phonenumbers forgives the doubled plus
        ("+84 162 345 6789", "+84323456789", True),  # old prefix in every international form
        ("841623456789", "+84323456789", True),
        ("00841623456789", "+84323456789", True),
        ("0162.345.6789", "+84323456789", True),
        ("01861234567", "+84561234567", True),  # Vietnamobile 0186 → 056
        ("01234567890", "+84834567890", True),  # VinaPhone 0123 → 083
        ("0236 3822 123", "+842363822123", False),  # Đà Nẵng landline
        ("(024) 3825 3536", "+842438253536", False),
        ("+84 24 3825 3536", "+842438253536", False),
        ("02438253536", "+842438253536", False),
        ("1800 1234", "+8418001234", False),  # toll-free, 8 digits
        ("1800 599 920", "+841800599920", False),  # toll-free, 10 digits (a 0 is prefixed, then stripped)
        ("1900 1547", "+8419001547", False),  # premium rate: the hotline itself
        ("19001547", "+8419001547", False),
        ("1900 123 456", "+841900123456", False),
        ("672123456", "+84672123456", False),  # VoIP
        ("0672123456", "+84672123456", False),
        ("+44 20 7946 0958", "+442079460958", False),
        ("+86 138 0013 8000", "+8613800138000", True),
        ("0033 1 42 68 53 00", "+33142685300", False),  # foreign number dialled with 00
    ],
)
def test_valid_numbers(raw: str, e164: str, mobile: bool) -> None:
    assert to_e164(raw) == e164
    assert is_mobile(e164) is mobile


@pytest.mark.parametrize("raw", [
    "", "   ", "123", "abc", "0912", "09123456789012", "+84 00 000 0000", "+84", "+", "0", "00", "84912",
    "+84 0912345678", "0712345678", "0123456789", "099123456", "0699123456", "1234567", "1999 1234",
    "+8491234567890123456", "０９１２３４５６７８",  # full-width digits
])
def test_invalid_numbers(raw: str) -> None:
    assert to_e164(raw) is None


@pytest.mark.parametrize(("old", "new"), sorted(OLD_MOBILE_PREFIXES.items()))
def test_every_renumbered_prefix_gives_a_valid_mobile(old: str, new: str) -> None:
    e164 = to_e164(old + "1234567")
    assert e164 == "+84" + new[1:] + "1234567"
    assert is_mobile(e164)


def test_display_national_for_vietnam() -> None:
    assert display("+84912345678") == "0912 345 678"


def test_display_is_cached_and_unchanged() -> None:
    assert display("+442079460958") == "+44 20 7946 0958"
    assert display("not a number") == "not a number"
    assert display("+84912345678") is display("+84912345678")


# --- the fast path against plain phonenumbers ----------------------------------------

def reference_to_e164(raw: str, region: str = phone.DEFAULT_REGION) -> str | None:
    """to_e164 as it was before the fast path: every number through phonenumbers (the module's slow path)."""
    if not raw or not raw.strip():
        return None
    candidate = raw.strip()
    if not candidate.startswith("+") or candidate.startswith("+84"):
        candidate = phone._national_form(candidate)
    return phone._parsed_e164(candidate, region)


def reference_is_mobile(e164: str) -> bool:
    """is_mobile as it was before the fast path."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    return kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def outcome(check: object, value: str) -> object:
    """The result of ``check(value)``, or the kind of parse error it raised."""
    try:
        return check(value)  # type: ignore[operator]
    except NumberParseException as exc:
        return ("error", exc.error_type)


# Leading digits of real Vietnamese numbers (mobile, old 11-digit mobile, landline,
# toll-free, premium, VoIP, UAN), then anything.
PREFIXES = ["9", "8", "7", "5", "3", "16", "12", "18", "19", "2", "24", "28", "236", "1800", "1900", "672",
            "69", "199", "799", "1210", "121", "0", "1", "4", "6", ""]
DIAL = ["", "0", "+84", "84", "0084", "+84 ", "(+84) ", "+84 (0)", "00", "+", " "]
SEPARATORS = ["", "", " ", ".", "-"]


@st.composite
def vietnamese_looking(draw: st.DrawFn) -> str:
    """A dialling prefix, a real leading block, then digits, with spaces, dots or dashes between groups."""
    digits = draw(st.sampled_from(PREFIXES)) + draw(st.text(alphabet="0123456789", max_size=11))
    groups: list[str] = []
    while digits:
        size = draw(st.integers(min_value=1, max_value=4))
        groups.append(digits[:size])
        digits = digits[size:]
    separator = draw(st.sampled_from(SEPARATORS))
    return draw(st.sampled_from(DIAL)) + separator.join(groups)


@settings(max_examples=1500, deadline=None, database=None)
@given(raw=vietnamese_looking())
@example(raw="0912345678")
@example(raw="1800 1234")
@example(raw="01623456789")
def test_fast_path_reads_numbers_as_phonenumbers_does(raw: str) -> None:
    e164 = to_e164(raw)
    assert e164 == reference_to_e164(raw)
    if e164 is not None:
        assert is_mobile(e164) is reference_is_mobile(e164)


@settings(max_examples=1500, deadline=None, database=None)
@given(national=st.sampled_from(PREFIXES).flatmap(
    lambda lead: st.text(alphabet="0123456789", max_size=14).map(lambda rest: lead + rest)))
def test_fast_path_types_numbers_as_phonenumbers_does(national: str) -> None:
    e164 = "+84" + national
    assert outcome(is_mobile, e164) == outcome(reference_is_mobile, e164)
    assert outcome(phone._number_type, e164) == outcome(
        lambda v: phonenumbers.number_type(phonenumbers.parse(v, None)), e164)


def test_the_fast_path_is_taken_for_the_usual_numbers() -> None:
    """Vietnamese numbers in national form do not reach phonenumbers.parse (else the speed is lost)."""
    assert phone._valid_vn_national("0912345678") == "912345678"
    assert phone._valid_vn_national("02438253536") == "2438253536"
    assert phone._valid_vn_national("018001234") == "18001234"
    assert phone._valid_vn_national("+84912345678") is None  # not the national form: phonenumbers decides
