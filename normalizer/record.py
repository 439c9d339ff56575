"""Raw submitted fields → the common PAKN record, with per-field error codes.

Error codes (not sentences) come back so that this module stays pure; the gateway
turns them into Vietnamese messages from ``config/messages.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from normalizer import bounds
from normalizer import phone as phone_mod
from normalizer.text import clean_block, clean_line, has_invalid_chars

# field name → (required, max length, min length, multi-line)
FIELD_RULES: dict[str, tuple[bool, int, int, bool]] = {
    "full_name": (True, 100, 2, False),
    "email": (False, 254, 0, False),
    "phone": (True, 32, 0, False),
    "address": (True, 255, 5, False),
    "title": (True, 200, 5, False),
    "content": (True, 10_000, 20, True),
}
FIELDS = tuple(FIELD_RULES)
# Optional choices beside the seed fields: "publish" = "yes" / "no" (the citizen's word on
# publication of the answer; absent: the PUBLISH_DEFAULT setting decides).
OPTIONS = ("publish",)
_YES, _NO = frozenset({"yes", "on", "1", "true", "co", "có"}), frozenset({"no", "off", "0", "false", "khong", "không"})


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: ``code`` is looked up in messages.toml."""

    field: str
    code: str
    limit: int = 0


@dataclass(frozen=True)
class Record:
    """The channel-independent content of a PAKN, normalized."""

    full_name: str
    phone: str
    address: str
    title: str
    content: str
    email: str | None = None
    publish: bool | None = None  # the citizen's choice about publication (None: not asked)


def publish_choice(value: object) -> bool | None:
    """``yes``/``no`` (and booleans, ``on``/``off``, ``có``/``không``) → True/False; else None."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    return True if text in _YES else False if text in _NO else None


@dataclass
class Result:
    """Either a record or a list of field errors."""

    record: Record | None = None
    errors: list[FieldError] = field(default_factory=list)
    cleaned: dict[str, str] = field(default_factory=dict)


def _clean(name: str, raw: str) -> str:
    return clean_block(raw) if FIELD_RULES[name][3] else clean_line(raw)


def _check_length(name: str, value: str) -> FieldError | None:
    required, max_len, min_len, _ = FIELD_RULES[name]
    if not value:
        return FieldError(name, "required") if required else None
    if len(value) > max_len:
        return FieldError(name, "too_long", max_len)
    if len(value) < min_len:
        return FieldError(name, "too_short", min_len)
    return None


def _normalize_email(value: str) -> str | FieldError:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return FieldError("email", "invalid_email")


def normalize(raw: Mapping[str, object]) -> Result:
    """Validate and normalize the seed fields of a PAKN (web form, API, hotline)."""
    result = Result()
    for name in FIELDS:
        value = raw.get(name)
        text = value if isinstance(value, str) else ("" if value is None else None)
        if text is None:
            result.errors.append(FieldError(name, "not_text"))
            continue
        if has_invalid_chars(text):
            result.errors.append(FieldError(name, "invalid_encoding"))
            continue
        if bounds.has_forbidden(text):  # NUL, other controls, lone surrogates: refused, not silently dropped
            result.errors.append(FieldError(name, "control_chars"))
            continue
        cleaned = _clean(name, text)
        result.cleaned[name] = cleaned
        problem = _check_length(name, cleaned)
        if problem:
            result.errors.append(problem)
    _normalize_contacts(result)
    if not result.errors:
        result.record = Record(**{n: result.cleaned.get(n) or None for n in FIELDS},  # type: ignore[arg-type]
                               publish=publish_choice(raw.get("publish")))
    return result


def _normalize_contacts(result: Result) -> None:
    failed = {e.field for e in result.errors}
    if result.cleaned.get("phone") and "phone" not in failed:
        e164 = phone_mod.to_e164(result.cleaned["phone"])
        if e164 is None:
            result.errors.append(FieldError("phone", "invalid_phone"))
        else:
            result.cleaned["phone"] = e164
    if result.cleaned.get("email") and "email" not in failed:
        email = _normalize_email(result.cleaned["email"])
        if isinstance(email, FieldError):
            result.errors.append(email)
        else:
            result.cleaned["email"] = email
