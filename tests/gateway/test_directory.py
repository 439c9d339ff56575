"""The agency directory: vCard exports of real address books."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from config.settings import ROOT
from gateway import directory
from gateway.fields import all_fields
from gateway.models import Agency

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "vcards"  # from ../shared/fixtures (BSD-2)


@pytest.mark.parametrize(
    ("name", "count", "some_name", "some_email"),
    [
        ("John_Doe_ANDROID.vcf", 6, "ÑÑÑÑÑÑÑÑÑÑÑÑ", "bob@company.com"),  # 2.1, QP soft breaks, 2.1 base64 photo
        ("John_Doe_EVOLUTION.vcf", 1, "IBM – Accounting – Dungeon", "john.doe@ibm.com"),  # 3.0, folded lines
        ("gmail-single.vcf", 1, "TheCompany", "gdartmouth@hotmail.com"),  # 3.0, item groups
        ("outlook-2003.vcf", 1, "Company – The – TheDepartment", "jdoe@hotmail.com"),  # 2.1, QP, X509 key
        ("rfc2426-example.vcf", 2, "Lotus Development Corporation", "Frank_Dawson@Lotus.com"),  # 3.0, 'vCard'
        ("rfc6350-example.vcf", 1, "Viagenie", "simon.perreault@viagenie.ca"),  # 4.0
    ],
)
def test_real_exports_import(app: Any, db: Session, name: str, count: int, some_name: str, some_email: str) -> None:
    result = app.test_cli_runner().invoke(args=["agencies", "import", str(FIXTURES / name)])
    assert result.exit_code == 0, result.output
    assert f"{count} created, 0 updated, 0 unreadable" in result.output
    agencies = db.exec(select(Agency)).all()
    assert len(agencies) == count
    match = [a for a in agencies if a.name == some_name]
    assert match and some_email in json.loads(match[0].emails)


VIETNAMESE_21 = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:B=E1=BB=99 X=C3=A2y d=E1=BB=B1ng =E2=80=93 V=E1=BB=A5 Qu=E1=BA=A3=\r\n"
    "n l=C3=BD nh=C3=A0\r\n"
    "EMAIL;PREF;INTERNET:pakn@xaydung.gov.example\r\n"
    "CATEGORIES:xay-dung,giao-thong,Business\r\nEND:VCARD\r\n"
)
BROKEN = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bộ Y tế\r\nEMAIL:pakn@yte.gov.example\r\nCATEGORIES:y-te\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bộ Hỏng\r\nđây không phải một thuộc tính vCard\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bộ Tư pháp\r\nEMAIL:pakn@tuphap.gov.example\r\n"
    "CATEGORIES:tu-phap\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bộ Cắt Cụt\r\nEMAIL:x@y.example\r\n"
)


def test_vietnamese_quoted_printable_card() -> None:
    [card], problems = directory.read_cards(VIETNAMESE_21.encode())
    assert problems == []
    assert card.name == "Bộ Xây dựng – Vụ Quản lý nhà" and card.code == "bo-xay-dung-vu-quan-ly-nha"
    assert card.fields == ("xay-dung", "giao-thong")  # 'Business' is not a field


def test_a_broken_card_is_reported_and_the_rest_kept(app: Any, db: Session, tmp_path: Path) -> None:
    path = tmp_path / "export.vcf"
    path.write_text(BROKEN, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["agencies", "import", str(path)])
    assert result.exit_code == 2
    assert "2 created, 0 updated, 2 unreadable" in result.output
    assert "line 7: card 'Bộ Hỏng' not imported" in result.output and "line 10 is not a vCard property" in result.output
    assert "line 18: card 'Bộ Cắt Cụt' not imported" in result.output and "no END:VCARD" in result.output
    assert sorted(a.name for a in db.exec(select(Agency))) == ["Bộ Tư pháp", "Bộ Y tế"]


def test_demo_directory_routes_every_field_and_reimports_cleanly(app: Any, db: Session) -> None:
    runner = app.test_cli_runner()
    demo = str(ROOT / "config" / "agencies" / "ministries.vcf")
    assert "14 created, 0 updated, 0 unreadable" in runner.invoke(args=["agencies", "import", demo]).output
    assert "0 created, 14 updated, 0 unreadable" in runner.invoke(args=["agencies", "import", demo]).output
    assert len(db.exec(select(Agency)).all()) == 14
    for field in all_fields():
        agencies = directory.for_field(db, field_code=field.code)
        assert len(agencies) == 1, field.code
        assert all(e.endswith(".gov.example") for e in json.loads(agencies[0].emails))
    assert directory.for_field(db, field_code="dat-dai")[0].name == "Bộ Nông nghiệp và Môi trường"
    assert directory.for_field(db, field_code="giao-thong")[0].name == "Bộ Xây dựng"
