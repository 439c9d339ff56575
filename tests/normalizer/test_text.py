import unicodedata

import pytest

from normalizer.text import clean_block, clean_line, fold, has_invalid_chars, match_key, nfc

DECOMPOSED = unicodedata.normalize("NFD", "Nguyễn Văn Đức")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Nguyễn Văn Đức", "Nguyen Van Duc"),
        ("đường Trần Hưng Đạo", "duong Tran Hung Dao"),
        ("Phản ánh, kiến nghị", "Phan anh, kien nghi"),
        ("THỦ TỤC HÀNH CHÍNH", "THU TUC HANH CHINH"),
        (DECOMPOSED, "Nguyen Van Duc"),
        ("ăâêôơư ĂÂÊÔƠƯ", "aaeoou AAEOOU"),
        ("ỳýỵỷỹ", "yyyyy"),
        ("plain ascii 123", "plain ascii 123"),
    ],
)
def test_fold_removes_every_vietnamese_diacritic(raw: str, expected: str) -> None:
    assert fold(raw) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Nguyễn Văn An", "nguyen van an"),
        ("  NGUYỄN   văn  AN ", "Nguyen Van An"),
        (DECOMPOSED, "NGUYEN VAN DUC"),
        ("Đặng Thị Thu", "dang thi thu"),
    ],
)
def test_match_key_ignores_case_spaces_and_diacritics(a: str, b: str) -> None:
    assert match_key(a) == match_key(b)


def test_match_key_keeps_different_names_apart() -> None:
    assert match_key("Nguyễn Văn An") != match_key("Nguyễn Văn Anh")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  a \t b\n c  ", "a b c"),
        ("tab\x00null\x07bell", "tabnullbell"),
        (DECOMPOSED, "Nguyễn Văn Đức"),
    ],
)
def test_clean_line(raw: str, expected: str) -> None:
    assert clean_line(raw) == expected
    assert unicodedata.is_normalized("NFC", clean_line(raw))


def test_clean_block_keeps_paragraphs_and_unifies_newlines() -> None:
    assert clean_block("Dòng 1\r\nDòng 2\r\r\n\n\n\nDòng 3  \n") == "Dòng 1\nDòng 2\n\nDòng 3"


def test_nfc_and_invalid_chars() -> None:
    assert nfc(DECOMPOSED) == "Nguyễn Văn Đức"
    assert has_invalid_chars("abc\ufffd")
    assert not has_invalid_chars("Nguyễn")
