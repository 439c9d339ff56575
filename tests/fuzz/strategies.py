"""Hypothesis strategies for hostile input: text with controls, odd digits, long runs, bad JSON."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

# Inputs that broke (or could break) something: NUL, superscript and other-script digits,
# numbers past INTEGER and past int()'s 4300 digits, lone surrogates' neighbours, RTL marks,
# path tricks, a Twilio SID, a PAKN code, markup.
SAMPLES = ("", " ", "\x00", "a\x00b", "\x07\x1b[31m", "\x7f", "\x85", "²", "٣٤", "１２", "-1", "0", "007",
           "2147483648", "9" * 30, "9" * 5000, "1e9", "NaN", "../../etc/passwd", "/\\evil.example", "//evil.example",
           "'; DROP TABLE pakn_case; --", "<script>alert(1)</script>", "\u202e\u0644", "🙂" * 40, "\ufffd",
           "SM" + "0" * 32, "26-000001-9", "+84912345678", "0912 345 678", "%00", "a" * 101, "a" * 5001,
           "Nguyễn Văn An", "Nguye\u0302\u0303n")

# Everything a form or query can carry (lone surrogates cannot be percent-encoded in UTF-8).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
repeated = st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "9", "é", "\x00", " ", "\n", "ꞔ"]),
                     st.integers(0, 12_000))
nasty = st.one_of(st.sampled_from(SAMPLES), any_text, repeated)
ints = st.one_of(st.integers(-5, 50), st.integers(-(2**70), 2**70)).map(str)


def segment(values: st.SearchStrategy[str] = nasty) -> st.SearchStrategy[str]:
    """One URL path segment, percent-encoded (so ``%00``, ``/`` and invalid UTF-8 arrive as such)."""
    return st.one_of(values.map(lambda s: quote(s, safe="")), st.binary(max_size=40).map(lambda b: quote(b, safe="")))


# JSON values, lone surrogates included (json.dumps writes them as "\ud800" escapes).
json_text = st.one_of(st.text(max_size=60), st.sampled_from(SAMPLES))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), json_text),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(json_text, children, max_size=4)),
    max_leaves=12,
)


def json_body(field_names: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """Bodies for a JSON API: right keys with any values, any JSON, and bytes that are not JSON."""
    keyed = st.fixed_dictionaries({}, optional={name: st.one_of(json_values, nasty) for name in field_names})
    return st.one_of(
        keyed.map(lambda d: json.dumps(d).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=200),
        st.integers(1, 200_000).map(lambda n: b"[" * n),
    )


def form(names: tuple[str, ...], **fixed: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A form with any subset of ``names`` set to hostile text (``fixed`` overrides some fields)."""
    optional = {name: nasty for name in names if name not in fixed}
    return st.fixed_dictionaries(fixed, optional=optional)


def uploads() -> st.SearchStrategy[list[tuple[Any, str]]]:
    """Files as a browser sends them: any name (paths, NUL, 300 characters), real or hostile bytes."""
    import io

    from tests.factories import exe_bytes, jpg_bytes, pdf_bytes, zip_bytes

    content = st.one_of(st.sampled_from([jpg_bytes(), pdf_bytes(), exe_bytes(), zip_bytes(), b"", b"%PDF"]),
                        st.binary(max_size=300))
    name = st.one_of(st.sampled_from(["anh.jpg", "a.pdf", "..\\..\\x.pdf", "a\x00.pdf", "x" * 300 + ".pdf",
                                      "tệp đính kèm.pdf", ".pdf", "CON.pdf"]), any_text.filter(bool))
    return st.lists(st.tuples(content, name).map(lambda t: (io.BytesIO(t[0]), t[1])), max_size=3)
