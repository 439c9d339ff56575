"""Per-agency signing configuration: ``signing.toml`` (paths and labels) + secrets from the environment.

The file (``SIGNING_CONFIG``, default ``<instance>/signing.toml``) names, per agency code,
either a PKCS#12 file or a PKCS#11 token, and the environment variable that holds its
password or PIN. It never holds a secret itself::

    [signing]
    tsa_url = "http://tsa.example.vn/tsa"         # optional RFC 3161 timestamps
    trust_roots = ["/etc/pakn/roots/root-ca.pem"]  # for /verify

    [agencies.bo-tai-chinh]
    pkcs12 = "/etc/pakn/keys/bo-tai-chinh.p12"
    password_env = "PAKN_P12_PASSWORD_BO_TAI_CHINH"
    signer_title = "KT. BỘ TRƯỞNG\\nTHỨ TRƯỞNG"
    signer_name = "Nguyễn Văn An"
    place = "Hà Nội"

    [agencies.bo-cong-an]
    pkcs11_module = "/usr/lib/x86_64-linux-gnu/libvnpt-ca.so"
    token_label = "BCA"
    key_label = "signer"
    pin_env = "PAKN_PIN_BO_CONG_AN"

Outside production, an agency absent from the file falls back to the development CA's
PKCS#12 written by ``flask --app wsgi agencies certificate issue <agency>``, and that
CA is trusted by ``/verify``. In production the development material is ignored.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import Settings
from gateway.exceptions import ConfigurationError

DEV_DIR = "signing-dev"  # under the instance folder: NOT FOR PRODUCTION
DEFAULT_TITLE = "THỦ TRƯỞNG CƠ QUAN"


@dataclass(frozen=True)
class AgencySigner:
    """How one agency signs: a PKCS#12 file or a PKCS#11 token, and the letter's signature block."""

    agency_code: str
    pkcs12: Path | None = None
    password_env: str | None = None
    pkcs11_module: str | None = None
    token_label: str | None = None
    key_label: str | None = None
    cert_label: str | None = None
    pin_env: str | None = None
    signer_title: str = DEFAULT_TITLE
    signer_name: str | None = None  # default: the certificate's common name
    place: str = "Hà Nội"
    development: bool = False  # the dev CA's certificate: never for production

    @property
    def kind(self) -> str:
        """``pkcs11`` or ``pkcs12``."""
        return "pkcs11" if self.pkcs11_module else "pkcs12"

    def secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The password (PKCS#12) or PIN (PKCS#11), from the environment variable named."""
        env = os.environ if environ is None else environ
        name = self.pin_env if self.kind == "pkcs11" else self.password_env
        return env.get(name) if name else None

    def problems(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Why this configuration cannot sign (cheap checks, the token is not opened)."""
        env = os.environ if environ is None else environ
        found: list[str] = []
        if self.kind == "pkcs11":
            if not Path(self.pkcs11_module or "").is_file():
                found.append(f"không thấy thư viện PKCS#11 {self.pkcs11_module}")
            if not self.token_label:
                found.append("thiếu token_label")
            if not (self.key_label or self.cert_label):
                found.append("thiếu key_label")
            if self.pin_env and self.pin_env not in env:
                found.append(f"biến môi trường {self.pin_env} (PIN) chưa được đặt")
        else:
            if self.pkcs12 is None or not self.pkcs12.is_file():
                found.append(f"không thấy tệp PKCS#12 {self.pkcs12}")
            if self.password_env and self.password_env not in env:
                found.append(f"biến môi trường {self.password_env} (mật khẩu) chưa được đặt")
        return found


@dataclass(frozen=True)
class SigningConfig:
    """The whole configuration: agencies, timestamp authority, trust roots."""

    agencies: dict[str, AgencySigner] = field(default_factory=dict)
    tsa_url: str | None = None
    trust_roots: tuple[Path, ...] = ()

    def for_agency(self, code: str) -> AgencySigner | None:
        """The agency's signer configuration, or None: its answers go out unsigned."""
        return self.agencies.get(code)


def config_path(settings: Settings) -> Path:
    """Where signing.toml is read from."""
    return settings.signing_config or settings.instance_path / "signing.toml"


def dev_dir(settings: Settings) -> Path:
    """The development CA's folder (instance/signing-dev)."""
    return settings.instance_path / DEV_DIR


def _agency(code: str, raw: Mapping[str, Any], base: Path) -> AgencySigner:
    allowed = {f for f in AgencySigner.__dataclass_fields__ if f not in ("agency_code", "development")}
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigurationError(f"signing.toml [agencies.{code}]: unknown keys {sorted(unknown)}")
    values = {k: str(v) for k, v in raw.items()}
    p12 = values.pop("pkcs12", None)
    signer = AgencySigner(agency_code=code, pkcs12=(base / p12) if p12 else None, **values)  # type: ignore[arg-type]
    if bool(signer.pkcs12) == bool(signer.pkcs11_module):
        raise ConfigurationError(f"signing.toml [agencies.{code}]: give either pkcs12 or pkcs11_module")
    return signer


def load(settings: Settings) -> SigningConfig:
    """Read signing.toml (absent: no agency signs) plus, outside production, the dev CA."""
    path = config_path(settings)
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path}: {exc}") from None
    base = path.parent
    agencies = {code: _agency(code, raw, base) for code, raw in (data.get("agencies") or {}).items()}
    general = data.get("signing") or {}
    roots = [base / str(p) for p in general.get("trust_roots", [])]
    roots += [Path(p) for p in settings.signing_trust_roots]
    if not settings.production:
        dev = dev_dir(settings)
        if (dev / "ca.pem").is_file():
            roots.append(dev / "ca.pem")
        for p12 in sorted(dev.glob("*.p12")):
            agencies.setdefault(p12.stem, AgencySigner(agency_code=p12.stem, pkcs12=p12, development=True))
    tsa = settings.signing_tsa_url or general.get("tsa_url") or None
    return SigningConfig(agencies=agencies, tsa_url=tsa, trust_roots=tuple(roots))
