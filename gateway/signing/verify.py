"""Checking a signed PDF with pyHanko's validator: by whom, when, intact, trusted."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from gateway.constants import VN_TZ

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignatureReport:
    """One signature of the document, as /verify shows it."""

    signer: str  # the certificate's common name
    organization: str | None
    issuer: str
    serial: str
    signed_at: datetime | None  # the signer's clock, or the timestamp authority's when present
    timestamped: bool
    intact: bool  # the signed bytes are unchanged and the signature is cryptographically valid
    whole_document: bool  # nothing was added after signing
    trusted: bool  # the certificate chains to a configured trust root
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Intact, covering the whole document, and trusted."""
        return self.intact and self.whole_document and self.trusted

    @property
    def signed_at_local(self) -> str:
        """Signing time in Vietnam time, for people."""
        return self.signed_at.astimezone(VN_TZ).strftime("%H:%M:%S ngày %d/%m/%Y") if self.signed_at else "không rõ"


@dataclass(frozen=True)
class Verdict:
    """The outcome for a whole file."""

    signatures: list[SignatureReport] = field(default_factory=list)
    error: str | None = None  # not a PDF, damaged, or no signature at all

    @property
    def ok(self) -> bool:
        """At least one signature, and every one is intact, whole and trusted."""
        return self.error is None and bool(self.signatures) and all(s.ok for s in self.signatures)

    @property
    def tampered(self) -> bool:
        """A signature whose bytes changed, or content added after signing."""
        return self.error is None and any(not (s.intact and s.whole_document) for s in self.signatures)


def load_roots(paths: Iterable[Path]) -> list[asn1_x509.Certificate]:
    """Certificates from PEM (one or several) or DER files; missing files are skipped with a warning."""
    roots: list[asn1_x509.Certificate] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            log.warning("trust root %s cannot be read; skipped", path)
            continue
        if pem.detect(data):
            roots += [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
        else:
            roots.append(asn1_x509.Certificate.load(data))
    return roots


def _name(cert: asn1_x509.Certificate, key: str) -> str | None:
    value = cert.subject.native.get(key)
    return str(value) if value else None


def verify_pdf(data: bytes, *, trust_roots: Iterable[Path]) -> Verdict:
    """Validate every signature of ``data`` against ``trust_roots`` (no network fetching)."""
    # pyhanko is imported here, when a PDF is checked: at module level it would add half a
    # second to the start of every process that loads the app (web, worker, every CLI command).
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator import ValidationContext

    if not data.startswith(b"%PDF-"):
        return Verdict(error="Tệp không phải là PDF.")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        log.info("unreadable PDF at /verify: %s", exc)
        return Verdict(error="Tệp PDF bị hỏng hoặc đã bị sửa đổi, không đọc được chữ ký.")
    if not embedded:
        return Verdict(error="Tệp PDF không có chữ ký số.")
    roots = load_roots(trust_roots)
    reports = []
    for sig in embedded:
        context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
        try:
            status = validate_pdf_signature(sig, context)
        except (SignatureValidationError, PdfError, ValueError) as exc:
            cert = sig.signer_cert
            reports.append(SignatureReport(
                signer=_name(cert, "common_name") or "?", organization=_name(cert, "organization_name"),
                issuer=cert.issuer.human_friendly, serial=format(cert.serial_number, "X"), signed_at=None,
                timestamped=False, intact=False, whole_document=False, trusted=False, problem=str(exc)))
            continue
        cert = status.signing_cert
        ts = status.timestamp_validity
        reports.append(SignatureReport(
            signer=_name(cert, "common_name") or cert.subject.human_friendly,
            organization=_name(cert, "organization_name"), issuer=cert.issuer.human_friendly,
            serial=format(cert.serial_number, "X"),
            signed_at=ts.timestamp if ts is not None else status.signer_reported_dt,
            timestamped=ts is not None, intact=bool(status.intact and status.valid),
            whole_document=status.coverage is not None and status.coverage.name == "ENTIRE_FILE",
            trusted=bool(status.trusted)))
    return Verdict(signatures=reports)
