import unicodedata

import pytest

from normalizer.record import FIELD_RULES, normalize
from tests.factories import fields


def test_valid_record_is_normalized() -> None:
    raw = fields(full_name=unicodedata.normalize("NFD", "  Nguyễn   Văn An "), email="An@Example.COM ")
    result = normalize(raw)
    assert result.errors == []
    assert result.record is not None
    assert result.record.full_name == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", result.record.full_name)
    assert result.record.phone == "+84912345678"
    assert result.record.email == "An@example.com"


def test_email_is_optional() -> None:
    result = normalize(fields(email=""))
    assert result.record is not None and result.record.email is None


REQUIRED = [name for name, rule in FIELD_RULES.items() if rule[0]]


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("blank", [None, "", "   \n\t "])
def test_required_fields(name: str, blank: str | None) -> None:
    result = normalize(fields(**{name: blank}) if blank is not None else fields(**{name: None}))
    assert [(e.field, e.code) for e in result.errors] == [(name, "required")]
    assert result.record is None


@pytest.mark.parametrize("name", list(FIELD_RULES))
def test_too_long(name: str) -> None:
    limit = FIELD_RULES[name][1]
    too_long = {"email": "a@" + "b" * limit + ".vn", "phone": "9" * (limit + 1)}
    value = too_long.get(name, "ạ" * (limit + 1))
    result = normalize(fields(**{name: value}))
    assert (name, "too_long") in [(e.field, e.code) for e in result.errors]


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("phone", "12345", "invalid_phone"),
        ("phone", "không có", "invalid_phone"),
        ("email", "nhung@", "invalid_email"),
        ("email", "nhung.example.com", "invalid_email"),
        ("content", "ngắn quá", "too_short"),
        ("full_name", "A", "too_short"),
        ("title", "Hỏi\ufffd", "invalid_encoding"),
        ("content", 12345, "not_text"),
        ("full_name", ["Nguyễn"], "not_text"),
    ],
)
def test_field_errors(name: str, value: object, code: str) -> None:
    result = normalize(fields(**{name: value}))
    assert [(e.field, e.code) for e in result.errors] == [(name, code)]


def test_html_is_kept_as_text_not_stripped() -> None:
    # Escaping is the templates' job; the record keeps what the citizen wrote.
    result = normalize(fields(title="<script>alert(1)</script> chậm cấp"))
    assert result.record is not None and result.record.title.startswith("<script>")


@pytest.mark.parametrize("name", list(FIELD_RULES))
@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\x7f", "\x85", "\ud800"])
def test_control_characters_and_lone_surrogates_are_refused_not_dropped(name: str, bad: str) -> None:
    value = fields()[name]
    result = normalize(fields(**{name: value[:5] + bad + value[5:]}))
    assert result.record is None and [(e.field, e.code) for e in result.errors] == [(name, "control_chars")]


def test_tabs_and_newlines_are_whitespace_not_controls() -> None:
    result = normalize(fields(full_name="Nguyễn\tVăn\nAn", content=fields()["content"] + "\r\n\tThêm."))
    assert result.record is not None and result.record.full_name == "Nguyễn Văn An"
