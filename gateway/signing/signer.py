"""Signing the letter with pyHanko: PAdES baseline, a visible signature field, PKCS#12 or PKCS#11.

A PKCS#11 token (the USB token Vietnamese agencies hold their key on, or an HSM) is
opened for one signature and closed again; its PIN comes from the environment variable
named in signing.toml. With a TSA URL the signature gets an RFC 3161 timestamp (PAdES B-T).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.stamp import TextStampStyle

from gateway.exceptions import SigningError
from gateway.signing.config import AgencySigner
from gateway.signing.letter import Letter

FIELD_NAME = "ChuKyCoQuan"


@contextmanager
def open_signer(config: AgencySigner, environ: Mapping[str, str] | None = None) -> Iterator[Signer]:
    """The agency's pyHanko signer (PKCS#12 in memory, or a PKCS#11 session closed afterwards)."""
    problems = config.problems(environ)
    if problems:
        raise SigningError(f"{config.agency_code}: " + "; ".join(problems))
    secret = config.secret(environ)
    if config.kind == "pkcs12":
        assert config.pkcs12 is not None
        try:
            signer = signers.SimpleSigner.load_pkcs12_data(
                config.pkcs12.read_bytes(), other_certs=[], passphrase=secret.encode() if secret else None)
        except (ValueError, OSError) as exc:
            raise SigningError(f"{config.agency_code}: cannot read {config.pkcs12}: {exc}") from exc
        if signer is None:
            raise SigningError(f"{config.agency_code}: cannot read {config.pkcs12} (wrong password?)")
        yield signer
        return
    from pkcs11 import PKCS11Error  # imported here: only agencies with a token need python-pkcs11
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign import pkcs11 as hanko_p11

    try:
        session = hanko_p11.open_pkcs11_session(
            config.pkcs11_module or "", token_criteria=TokenCriteria(label=config.token_label), user_pin=secret)
    except (PKCS11Error, PyHankoSigningError) as exc:
        raise SigningError(f"{config.agency_code}: cannot open token {config.token_label!r}: "
                           f"{type(exc).__name__} {exc}") from exc
    try:
        yield hanko_p11.PKCS11Signer(session, key_label=config.key_label,
                                     cert_label=config.cert_label or config.key_label, other_certs_to_pull=None)
    finally:
        session.close()


def common_name(signer: Signer) -> str:
    """The signing certificate's common name (the agency or the person)."""
    cert = signer.signing_cert
    if cert is None:
        raise SigningError("the token holds no certificate for this key")
    return str(cert.subject.native.get("common_name") or cert.subject.human_friendly)


def sign_letter(letter: Letter, *, signer: Signer, tsa_url: str | None = None, location: str | None = None,
                reason: str | None = None) -> bytes:
    """The letter signed (PAdES baseline B-B, or B-T with a timestamp), visible in its signature box."""
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        location=location, reason=reason, use_pades_lta=False)
    # The words in the box ("Ký số bởi …") are drawn by the letter itself with the shipped
    # font; the field's own appearance is only the frame.
    style = TextStampStyle(stamp_text="", border_width=1)
    spec = fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=letter.signature_page, box=letter.signature_box)
    timestamper = timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper, stamp_style=style,
                                   new_field_spec=spec)
    out = io.BytesIO()
    try:
        pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(letter.pdf)), output=out,
                            appearance_text_params={})
    except (PyHankoSigningError, timestamps.TimestampRequestError) as exc:
        raise SigningError(f"signing failed: {exc}") from exc
    except Exception as exc:  # PKCS#11 and network failures surface as their libraries' own errors
        if type(exc).__module__.split(".")[0] in ("pkcs11", "aiohttp"):
            raise SigningError(f"signing failed: {type(exc).__name__} {exc}") from exc
        raise
    return out.getvalue()
