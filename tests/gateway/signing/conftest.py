"""Signing fixtures: a development CA in a temp folder, a real SoftHSM2 token initialised here."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.signing import devca

SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
TOKEN_LABEL = "pakn-test"
KEY_LABEL = "bo-cong-an-signer"
PIN, SO_PIN = "135792", "24680246"
PIN_ENV = "PAKN_TEST_TOKEN_PIN"


@dataclass(frozen=True)
class Token:
    """A SoftHSM2 token holding a signing key and its certificate (and the CA's)."""

    module: str
    label: str
    key_label: str
    ca_pem: Path
    signer_name: str


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    """A token initialised for this test session with softhsm2-util, key imported, cert written by PKCS#11.

    SoftHSM reads SOFTHSM2_CONF once per process (at C_Initialize), so the token is
    shared by the session's tests.
    """
    util = shutil.which("softhsm2-util")
    module = next((m for m in SOFTHSM_MODULES if Path(m).is_file()), None)
    if util is None or module is None:
        pytest.skip("SoftHSM2 is not installed (apt-get install -y softhsm2; .ci/run installs it)")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run([util, "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", PIN, "--so-pin", SO_PIN],
                   check=True, capture_output=True)
    ca_key, ca_cert = devca.make_ca("Token Test CA")
    name = "Bộ Công an"
    key, cert = devca.make_signer_cert(ca_key, ca_cert, name=name)
    key_file = folder / "key.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    subprocess.run([util, "--import", str(key_file), "--token", TOKEN_LABEL, "--label", KEY_LABEL, "--id", "01",
                    "--pin", PIN], check=True, capture_output=True)
    key_file.unlink()
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    token = pkcs11.lib(module).get_token(token_label=TOKEN_LABEL)
    with token.open(rw=True, user_pin=PIN) as session:
        for label, ident, certificate in ((KEY_LABEL, b"\x01", cert), ("ca", b"\x02", ca_cert)):
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.ID: ident,
                Attribute.SUBJECT: certificate.subject.public_bytes(),
                Attribute.VALUE: certificate.public_bytes(serialization.Encoding.DER)})
    ca_pem = folder / "token-ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    yield Token(module=module, label=TOKEN_LABEL, key_label=KEY_LABEL, ca_pem=ca_pem, signer_name=name)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous
