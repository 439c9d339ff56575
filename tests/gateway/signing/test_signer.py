"""Signing with PKCS#12 and with a real PKCS#11 token (SoftHSM2); pyHanko's validator checks the result."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from gateway.exceptions import SigningError
from gateway.signing import devca
from gateway.signing.config import AgencySigner
from gateway.signing.letter import render
from gateway.signing.signer import FIELD_NAME, open_signer, sign_letter
from gateway.signing.verify import load_roots, verify_pdf
from tests.gateway.signing.conftest import PIN, PIN_ENV, Token
from tests.gateway.signing.test_letter import content

AGENCY = "Bộ Nông nghiệp và Môi trường"


@pytest.fixture
def dev_ca(tmp_path: Path) -> devca.Issued:
    """The development CA and one agency's PKCS#12, as the CLI writes them."""
    return devca.issue(tmp_path / "signing-dev", agency_code="bo-nong-nghiep-moi-truong", agency_name=AGENCY)


def signed_with(signer_config: AgencySigner, environ: dict[str, str] | None = None) -> bytes:
    """A letter signed with ``signer_config``."""
    with open_signer(signer_config, environ) as signer:
        return sign_letter(render(content()), signer=signer, location="Hà Nội", reason="Trả lời PAKN 26-000123-4")


def pyhanko_status(pdf: bytes, roots: list[Path]) -> object:
    """pyHanko's own validation of the only signature."""
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    assert sig.field_name == FIELD_NAME
    context = ValidationContext(trust_roots=load_roots(roots), allow_fetching=False, revocation_mode="soft-fail")
    return validate_pdf_signature(sig, context)


def test_pkcs12_signature_is_intact_trusted_and_named(dev_ca: devca.Issued) -> None:
    pdf = signed_with(AgencySigner(agency_code="bo-nong-nghiep-moi-truong", pkcs12=dev_ca.pkcs12))
    status = pyhanko_status(pdf, [dev_ca.ca_pem])
    assert status.intact and status.valid and status.trusted  # type: ignore[attr-defined]
    assert status.coverage.name == "ENTIRE_FILE"  # type: ignore[attr-defined]
    assert status.signing_cert.subject.native["common_name"] == AGENCY  # type: ignore[attr-defined]
    # PAdES: ETSI.CAdES.detached, with the visible widget on the letter's page
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert [int(v) for v in sig.sig_field["/Rect"]] == list(render(content()).signature_box)
    verdict = verify_pdf(pdf, trust_roots=[dev_ca.ca_pem])
    assert verdict.ok and verdict.signatures[0].signer == AGENCY and not verdict.signatures[0].timestamped


def test_a_changed_byte_is_tampering(dev_ca: devca.Issued) -> None:
    pdf = bytearray(signed_with(AgencySigner(agency_code="x", pkcs12=dev_ca.pkcs12)))
    at = pdf.index(b"stream", 1000) + 100  # inside the letter's content, covered by the signature
    pdf[at] ^= 0x01
    verdict = verify_pdf(bytes(pdf), trust_roots=[dev_ca.ca_pem])
    assert verdict.tampered and not verdict.ok and not verdict.signatures[0].intact


def test_content_appended_after_signing_is_not_the_signed_document(dev_ca: devca.Issued) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    pdf = signed_with(AgencySigner(agency_code="x", pkcs12=dev_ca.pkcs12))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))  # someone draws on the signed letter afterwards
    ref = writer.add_object(generic.StreamObject(stream_data=b"0 0 1 rg 100 100 50 50 re f"))
    writer.add_stream_to_page(0, ref)
    out = io.BytesIO()
    writer.write(out)
    verdict = verify_pdf(out.getvalue(), trust_roots=[dev_ca.ca_pem])
    assert verdict.signatures[0].intact and not verdict.signatures[0].whole_document
    assert verdict.tampered and not verdict.ok


def test_a_certificate_from_another_ca_is_untrusted(dev_ca: devca.Issued, tmp_path: Path) -> None:
    other_key, other_ca = devca.make_ca("Some Other CA")
    key, cert = devca.make_signer_cert(other_key, other_ca, name=AGENCY)  # same name, wrong issuer
    p12 = tmp_path / "other.p12"
    p12.write_bytes(devca.pkcs12_bytes(key, cert, other_ca, name=AGENCY, password=b"mat-khau-p12"))
    pdf = signed_with(AgencySigner(agency_code="x", pkcs12=p12, password_env="P12_PASSWORD"),
                      {"P12_PASSWORD": "mat-khau-p12"})
    verdict = verify_pdf(pdf, trust_roots=[dev_ca.ca_pem])
    report = verdict.signatures[0]
    assert report.intact and report.whole_document and not report.trusted and not verdict.ok
    assert not verdict.tampered


def test_wrong_pkcs12_password_is_a_signing_error(tmp_path: Path) -> None:
    ca_key, ca = devca.make_ca()
    key, cert = devca.make_signer_cert(ca_key, ca, name=AGENCY)
    p12 = tmp_path / "a.p12"
    p12.write_bytes(devca.pkcs12_bytes(key, cert, ca, name=AGENCY, password=b"dung"))
    with pytest.raises(SigningError):
        signed_with(AgencySigner(agency_code="x", pkcs12=p12, password_env="PW"), {"PW": "sai"})
    with pytest.raises(SigningError, match="PW"):  # the variable is not set at all
        signed_with(AgencySigner(agency_code="x", pkcs12=p12, password_env="PW"), {})


def test_pkcs11_token_signs(softhsm: Token) -> None:
    config = AgencySigner(agency_code="bo-cong-an", pkcs11_module=softhsm.module, token_label=softhsm.label,
                          key_label=softhsm.key_label, pin_env=PIN_ENV)
    pdf = signed_with(config, {PIN_ENV: PIN})
    status = pyhanko_status(pdf, [softhsm.ca_pem])
    assert status.intact and status.valid and status.trusted  # type: ignore[attr-defined]
    assert status.signing_cert.subject.native["common_name"] == softhsm.signer_name  # type: ignore[attr-defined]
    verdict = verify_pdf(pdf, trust_roots=[softhsm.ca_pem])
    assert verdict.ok and verdict.signatures[0].signer == "Bộ Công an"


def test_pkcs11_wrong_pin_or_token_is_a_signing_error(softhsm: Token) -> None:
    config = AgencySigner(agency_code="bo-cong-an", pkcs11_module=softhsm.module, token_label=softhsm.label,
                          key_label=softhsm.key_label, pin_env=PIN_ENV)
    with pytest.raises(SigningError, match="cannot open token"):
        signed_with(config, {PIN_ENV: "000000"})
    absent = AgencySigner(agency_code="bo-cong-an", pkcs11_module=softhsm.module, token_label="khong-co",
                          key_label=softhsm.key_label, pin_env=PIN_ENV)
    with pytest.raises(SigningError, match="khong-co"):
        signed_with(absent, {PIN_ENV: PIN})


def test_not_a_pdf_and_an_unsigned_pdf(dev_ca: devca.Issued) -> None:
    assert verify_pdf(b"GIF89a...", trust_roots=[]).error == "Tệp không phải là PDF."
    assert verify_pdf(render(content()).pdf, trust_roots=[]).error == "Tệp PDF không có chữ ký số."
    assert verify_pdf(b"%PDF-1.7\n garbage", trust_roots=[]).error is not None


def test_dev_ca_marks_itself_not_for_production(dev_ca: devca.Issued) -> None:
    assert devca.DEV_MARK in dev_ca.certificate.subject.rfc4514_string()
    from cryptography import x509
    ca = x509.load_pem_x509_certificate(dev_ca.ca_pem.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (dev_ca.pkcs12.parent / "README.txt").read_text().startswith("Development CA")
    assert dev_ca.pkcs12.stat().st_mode & 0o077 == 0  # the key is not world-readable
    assert serialization  # used above for fixtures


def test_a_configured_tsa_timestamps_the_signature(dev_ca: devca.Issued) -> None:
    from cryptography import x509

    from tests.gateway.signing.tsa import Tsa, tsa_certificate

    ca_key = serialization.load_pem_private_key((dev_ca.ca_pem.parent / "ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(dev_ca.ca_pem.read_bytes())
    tsa = Tsa(*tsa_certificate(ca_key, ca_cert))  # type: ignore[arg-type]
    tsa.start()
    try:
        with open_signer(AgencySigner(agency_code="x", pkcs12=dev_ca.pkcs12)) as signer:
            pdf = sign_letter(render(content()), signer=signer, tsa_url=tsa.url)
    finally:
        tsa.stop()
    assert tsa.requests >= 1  # pyHanko also asks once to size the placeholder
    verdict = verify_pdf(pdf, trust_roots=[dev_ca.ca_pem])
    assert verdict.ok and verdict.signatures[0].timestamped  # PAdES B-T


def test_an_unreachable_tsa_is_a_signing_error(dev_ca: devca.Issued) -> None:
    from tests.conftest import free_port

    with open_signer(AgencySigner(agency_code="x", pkcs12=dev_ca.pkcs12)) as signer, pytest.raises(SigningError):
        sign_letter(render(content()), signer=signer, tsa_url=f"http://127.0.0.1:{free_port()}/")
