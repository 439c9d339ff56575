from pathlib import Path

import pytest

from config.settings import Settings
from gateway.exceptions import ConfigurationError


def test_defaults_work_on_a_bare_machine(tmp_path: Path) -> None:
    settings = Settings.from_env({"INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'pakn.db'}"
    assert settings.redis_url is None and settings.smtp_url is None
    assert settings.mail_from == "pakn@localhost"
    assert (settings.sms_short_code, settings.hotline_number) == ("8088", "19001547")
    assert settings.public_base_url == "http://localhost:8000"
    assert settings.captcha is True and settings.api_keys == ()
    assert len(settings.secret_key) >= 32
    # The generated development key is stable across restarts.
    assert Settings.from_env({"INSTANCE_PATH": str(tmp_path)}).secret_key == settings.secret_key


def test_environment_overrides(tmp_path: Path) -> None:
    env = {
        "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql+psycopg://u@h/db", "REDIS_URL": "redis://r:6379/0",
        "CAPTCHA": "off", "API_KEYS": " k1, k2 ,", "PUBLIC_BASE_URL": "https://pakn.gov.vn/", "SECRET_KEY": "s" * 40,
    }
    settings = Settings.from_env(env)
    assert settings.captcha is False
    assert settings.api_keys == ("k1", "k2")
    assert settings.public_base_url == "https://pakn.gov.vn"
    assert settings.secret_key == "s" * 40


def test_rate_limits_from_the_environment(tmp_path: Path) -> None:
    env = {"INSTANCE_PATH": str(tmp_path), "SUBMIT_RATE_LIMIT": "5/60", "API_RATE_LIMIT": "10000/60"}
    settings = Settings.from_env(env)
    assert (settings.submit_limit, settings.api_limit, settings.lookup_limit) == ((5, 60), (10000, 60), (30, 600))
    for bad in ("5", "x/60", "0/60", "5/-1"):
        with pytest.raises(ConfigurationError):
            Settings.from_env({**env, "SUBMIT_RATE_LIMIT": bad})


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short-but-random"])
def test_production_refuses_missing_or_placeholder_secret(tmp_path: Path, secret: str | None) -> None:
    env = {"INSTANCE_PATH": str(tmp_path), "PAKN_ENV": "production"}
    if secret is not None:
        env["SECRET_KEY"] = secret
    with pytest.raises(ConfigurationError):
        Settings.from_env(env)
    assert not (tmp_path / "secret_key").exists()


def test_production_accepts_a_real_secret(tmp_path: Path) -> None:
    env = {"INSTANCE_PATH": str(tmp_path), "PAKN_ENV": "production", "SECRET_KEY": "Zq8" * 16}
    assert Settings.from_env(env).production
