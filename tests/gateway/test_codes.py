from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from gateway import codes
from gateway.codes import PaknCode, damm, parse
from gateway.exceptions import CodeCheckDigitError, CodeFormatError


@pytest.mark.parametrize(("digits", "check"), [("572", 4), ("26000001", 9), ("0", 0), ("112946", 0)])
def test_damm_known_values(digits: str, check: int) -> None:
    assert damm(digits) == check
    assert damm(digits + str(check)) == 0


def test_format() -> None:
    assert str(PaknCode(26, 1)) == "26-000001-9"
    assert str(PaknCode(27, 1234567)) == f"27-1234567-{damm('271234567')}"


@pytest.mark.parametrize(
    "typed",
    ["26-000001-9", "26000001 9", "260000019", "26.000001.9", "PAKN 26-000001-9", "pakn:26 000 001 9",
     " 26 - 000001 - 9 ", "Pakn#260000019"],
)
def test_parse_accepts_every_spelling(typed: str) -> None:
    assert parse(typed) == PaknCode(26, 1)


@pytest.mark.parametrize("typed", ["", "26-000001", "abc", "26-0000O1-9", "２６０００００１９", "26-0000001-x", "-"])
def test_parse_rejects_non_codes(typed: str) -> None:
    with pytest.raises(CodeFormatError):
        parse(typed)


def test_parse_reports_mistyped_check_digit() -> None:
    with pytest.raises(CodeCheckDigitError):
        parse("26-000001-8")


def test_every_single_digit_error_and_adjacent_swap_is_detected() -> None:
    for seq in (1, 42, 123456, 987654):
        body = f"26{seq:06d}"
        good = body + str(damm(body))
        for i, ch in enumerate(good):
            for d in "0123456789":
                if d != ch:
                    typo = good[:i] + d + good[i + 1:]
                    assert damm(typo) != 0, typo
        for i in range(len(good) - 1):
            if good[i] != good[i + 1]:
                swapped = good[:i] + good[i + 1] + good[i] + good[i + 2:]
                assert damm(swapped) != 0, swapped


def test_allocate_is_sequential_per_year(db: Session) -> None:
    june = datetime(2026, 6, 1, tzinfo=UTC)
    first = codes.allocate(db, at=june)
    second = codes.allocate(db, at=june)
    db.commit()
    assert (first, second) == (PaknCode(26, 1), PaknCode(26, 2))
    # 31 Dec 18:00 UTC is already 1 Jan in Vietnam: a new year, a new sequence.
    new_year = codes.allocate(db, at=datetime(2026, 12, 31, 18, 0, tzinfo=UTC))
    db.commit()
    assert new_year == PaknCode(27, 1)


def test_rolled_back_allocation_gives_its_number_back(db: Session) -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    codes.allocate(db, at=at)
    db.rollback()
    assert codes.allocate(db, at=at) == PaknCode(26, 1)
