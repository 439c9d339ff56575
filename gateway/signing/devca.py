"""A development certificate authority (``cryptography``): NEVER FOR PRODUCTION.

``flask --app wsgi agencies certificate issue <agency>`` makes ``instance/signing-dev/ca.pem``
(once) and ``instance/signing-dev/<agency>.p12`` so that ``make run`` signs answers and
``/verify`` trusts them. Real agencies sign with certificates from a licensed Vietnamese
CA (Ban Cơ yếu Chính phủ for State agencies) held on their token; see README.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

DEV_MARK = "KHÔNG DÙNG THẬT - NOT FOR PRODUCTION"
CA_NAME = "PAKN Development CA"
KEY_BITS = 2048


@dataclass(frozen=True)
class Issued:
    """What ``issue`` wrote."""

    ca_pem: Path
    pkcs12: Path
    certificate: x509.Certificate
    ca_created: bool


def _name(common: str, organization: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_MARK),
        x509.NameAttribute(NameOID.COMMON_NAME, common),
    ])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def make_ca(common_name: str = CA_NAME, *, days: int = 3650) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed CA key and certificate (also used by tests for 'another CA')."""
    key = _key()
    name = _name(common_name, common_name)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_signer_cert(ca_key: CertificateIssuerPrivateKeyTypes, ca_cert: x509.Certificate, *, name: str,
                     days: int = 730) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An end-entity document-signing certificate for ``name`` issued by the CA."""
    key = _key()
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(name, name)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def pkcs12_bytes(key: rsa.RSAPrivateKey, cert: x509.Certificate, ca_cert: x509.Certificate, *, name: str,
                 password: bytes | None = None) -> bytes:
    """Key, certificate and CA in one PKCS#12 (encrypted when ``password`` is given)."""
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, cert, [ca_cert], encryption)


def _write(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)


def load_or_create_ca(folder: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate, bool]:
    """The development CA in ``folder`` (created on first use)."""
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / "ca.key", folder / "ca.pem"
    if key_path.is_file() and cert_path.is_file():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes()), False
    key, cert = make_ca()
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    (folder / "README.txt").write_text(
        "Development CA of the PAKN gateway. NOT FOR PRODUCTION: the key is unencrypted and\n"
        "anyone with this folder can sign as any agency. Made by `flask --app wsgi agencies\n"
        "certificate issue <agency>`; ignored when PAKN_ENV=production.\n", encoding="utf-8")
    return key, cert, True


def issue(folder: Path, *, agency_code: str, agency_name: str) -> Issued:
    """Issue (or re-issue) the agency's development certificate as ``<agency>.p12`` (no password)."""
    ca_key, ca_cert, created = load_or_create_ca(folder)
    key, cert = make_signer_cert(ca_key, ca_cert, name=agency_name)
    target = folder / f"{agency_code}.p12"
    _write(target, pkcs12_bytes(key, cert, ca_cert, name=agency_name))
    return Issued(ca_pem=folder / "ca.pem", pkcs12=target, certificate=cert, ca_created=created)
