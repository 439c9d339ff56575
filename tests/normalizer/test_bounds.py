"""Bounds on values from outside, table by table."""

from __future__ import annotations

import pytest

from normalizer.bounds import (
    INT32_MAX,
    Problem,
    ascii_int,
    check_identifier,
    check_text,
    has_forbidden,
    is_token,
    strip_forbidden,
)


@pytest.mark.parametrize(("value", "forbidden"), [
    ("Nguyễn Văn An", False), ("dòng 1\ndòng 2\r\n\tthụt lề", False), ("🙂 ꞔ ٣", False), ("\u202e", False),
    ("\x00", True), ("a\x07b", True), ("\x1b[31m", True), ("\x7f", True), ("\x85", True), ("\x9f", True),
    ("\ud800", True), ("x\udfffy", True), ("\x0b", True), ("\x0c", True), ("", False),
])
def test_forbidden_characters(value: str, forbidden: bool) -> None:
    assert has_forbidden(value) is forbidden
    assert not has_forbidden(strip_forbidden(value))


@pytest.mark.parametrize(("value", "max_len", "required", "expected"), [
    ("Không nghe máy", 500, False, None), ("", 500, False, None), ("", 500, True, Problem.required),
    ("   ", 10, True, Problem.required), ("a" * 10, 10, False, None), ("a" * 11, 10, False, Problem.too_long),
    ("a\x00", 10, False, Problem.control_chars), ("a" * 11 + "\x00", 10, False, Problem.control_chars),
])
def test_check_text(value: str, max_len: int, required: bool, expected: Problem | None) -> None:
    assert check_text(value, max_len=max_len, required=required) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("SM" + "0123456789abcdef" * 2, None), ("1700000000.42", None), ("manual-0a1b2c3d4e5f6a7b", None),
    ("x" * 64, None), ("x" * 65, Problem.too_long), ("", Problem.required), ("SM 1", Problem.not_identifier),
    ("SM\x001", Problem.control_chars), ("SMé", Problem.not_identifier), ("SM１", Problem.not_identifier),
    ("a\tb", Problem.not_identifier),
])
def test_check_identifier(value: str, expected: Problem | None) -> None:
    assert check_identifier(value, max_len=64) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("0", 0), ("42", 42), (" 42 ", 42), ("007", 7), (str(INT32_MAX), INT32_MAX), (str(INT32_MAX + 1), None),
    ("²", None), ("٣", None), ("１２", None), ("-1", None), ("+1", None), ("1.0", None), ("1e3", None), ("", None),
    ("9" * 5000, None), ("0" * 11, 0), ("0" * 5000 + "1", 1), (None, None), (42, None),
])
def test_ascii_int(value: object, expected: int | None) -> None:
    assert ascii_int(value) == expected


def test_ascii_int_maximum() -> None:
    assert ascii_int("99", maximum=99) == 99 and ascii_int("100", maximum=99) is None
    assert ascii_int("05", maximum=5) == 5 and ascii_int("6", maximum=5) is None


@pytest.mark.parametrize(("value", "expected"), [
    ("Xy3_-abcdefghijklmnopq", True), ("a", True), ("", False), ("a" * 33, False), ("a\x00", False),
    ("a/b", False), ("é", False), ("a b", False), ("..", False),
])
def test_is_token(value: str, expected: bool) -> None:
    assert is_token(value, max_len=32) is expected
