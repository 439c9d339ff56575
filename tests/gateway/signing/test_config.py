"""signing.toml: agencies, secrets named not stored, the development CA only outside production."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from gateway.exceptions import ConfigurationError
from gateway.signing import config, devca

SECRET = "s" * 40


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    """Settings whose instance folder is ``tmp_path``."""
    return Settings(secret_key=SECRET, instance_path=tmp_path).with_(**changes)


def test_pkcs11_and_pkcs12_agencies_and_their_problems(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "btc.p12").write_bytes(b"x")
    (tmp_path / "signing.toml").write_text('''
[signing]
tsa_url = "http://tsa.example.vn/"
trust_roots = ["roots/root.pem"]

[agencies.bo-tai-chinh]
pkcs12 = "keys/btc.p12"
password_env = "PW_BTC"
signer_title = "KT. BỘ TRƯỞNG\\nTHỨ TRƯỞNG"

[agencies.bo-cong-an]
pkcs11_module = "/nonexistent/libtoken.so"
token_label = "BCA"
key_label = "signer"
pin_env = "PIN_BCA"
''', encoding="utf-8")
    loaded = config.load(settings_for(tmp_path))
    assert loaded.tsa_url == "http://tsa.example.vn/" and loaded.trust_roots == (tmp_path / "roots" / "root.pem",)
    btc, bca = loaded.for_agency("bo-tai-chinh"), loaded.for_agency("bo-cong-an")
    assert btc is not None and bca is not None and loaded.for_agency("bo-y-te") is None
    assert btc.kind == "pkcs12" and btc.pkcs12 == tmp_path / "keys" / "btc.p12"
    assert btc.signer_title == "KT. BỘ TRƯỞNG\nTHỨ TRƯỞNG"
    assert btc.problems({"PW_BTC": "x"}) == [] and btc.secret({"PW_BTC": "x"}) == "x"
    assert btc.problems({}) == ["biến môi trường PW_BTC (mật khẩu) chưa được đặt"]
    assert bca.kind == "pkcs11" and len(bca.problems({})) == 2  # no library, no PIN variable
    assert config.load(settings_for(tmp_path, signing_tsa_url="http://other/")).tsa_url == "http://other/"


@pytest.mark.parametrize("body", ['[agencies.a]\npkcs12 = "a.p12"\npin = "1234"\n',  # a secret in the file
                                  '[agencies.a]\nkey_label = "x"\n',  # neither kind
                                  '[agencies.a]\npkcs12 = "a.p12"\npkcs11_module = "m.so"\n',  # both
                                  '[agencies.a\n'])  # not TOML
def test_bad_files_are_refused(tmp_path: Path, body: str) -> None:
    (tmp_path / "signing.toml").write_text(body)
    with pytest.raises(ConfigurationError):
        config.load(settings_for(tmp_path))


def test_the_development_ca_counts_only_outside_production(tmp_path: Path) -> None:
    devca.issue(tmp_path / config.DEV_DIR, agency_code="bo-y-te", agency_name="Bộ Y tế")
    dev = config.load(settings_for(tmp_path))
    signer = dev.for_agency("bo-y-te")
    assert signer is not None and signer.development and signer.problems({}) == []
    assert tmp_path / config.DEV_DIR / "ca.pem" in dev.trust_roots
    production = config.load(settings_for(tmp_path, env="production"))
    assert production.for_agency("bo-y-te") is None and production.trust_roots == ()
