"""Settings from the environment, with defaults that work on a bare laptop."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gateway.exceptions import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "dev", "development", "test", "please-change", "xxx"}
)
MIN_SECRET_LENGTH = 32


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "off", "false", "no"}


def _limit(value: str | None, default: tuple[int, int]) -> tuple[int, int]:
    """Parse ``"count/seconds"`` (e.g. ``"10/3600"``)."""
    if not value:
        return default
    try:
        count, seconds = (int(part) for part in value.split("/", 1))
    except ValueError:
        raise ConfigurationError(f"rate limit {value!r} is not of the form count/seconds") from None
    if count < 1 or seconds < 1:
        raise ConfigurationError(f"rate limit {value!r} must be positive")
    return count, seconds


def _dev_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    """Everything configurable; build with :meth:`from_env`."""

    secret_key: str
    env: str = "development"
    instance_path: Path = ROOT / "instance"
    database_url: str = ""
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "pakn@localhost"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base: str | None = None
    sms_short_code: str = "8088"
    hotline_number: str = "19001547"
    public_base_url: str = "http://localhost:8000"
    captcha: bool = True
    api_keys: tuple[str, ...] = ()
    proxy_hops: int = 0
    max_file_bytes: int = 10 * 1024 * 1024
    max_total_bytes: int = 25 * 1024 * 1024
    max_files: int = 5
    submit_limit: tuple[int, int] = (10, 3600)  # requests, seconds, per client address
    lookup_limit: tuple[int, int] = (30, 600)
    api_limit: tuple[int, int] = (600, 60)
    sms_reply_limit: tuple[int, int] = (10, 3600)  # replies per phone; a flood is stored, not answered
    sms_diacritics: bool = False  # False: unaccented GSM-7 replies (160/153 characters a segment)
    retry_intervals: tuple[int, ...] = (15, 60, 300, 900, 3600)  # delivery backoff; len() = retries
    queue_name: str = "pakn"
    coordinator_email: str | None = None  # the coordinating office: daily digests of overdue cases
    publish_default: bool = True  # answered cases may be published unless the citizen said no
    metrics_token: str | None = None  # bearer token for /metrics (staff sessions work too)
    signing_config: Path | None = None  # signing.toml (default: <instance>/signing.toml)
    signing_trust_roots: tuple[str, ...] = ()  # PEM files /verify trusts, besides signing.toml's
    signing_tsa_url: str | None = None  # RFC 3161 timestamp authority (overrides signing.toml)
    imap_url: str | None = None  # imaps://user:pass@host/INBOX: replies to forwards and acknowledgments
    imap_done_folder: str = "PAKN-done"  # read messages are moved here after their row is committed
    webhook_pause_days: int = 3  # a subscriber failing this long is paused
    webhook_allow_private: bool = False  # on: subscriber URLs may reach loopback/private addresses

    @property
    def upload_dir(self) -> Path:
        """Where attachments are stored (outside the web root)."""
        return self.instance_path / "uploads"

    @property
    def outbox_dir(self) -> Path:
        """Where emails go as .eml files when SMTP_URL is unset."""
        return self.instance_path / "outbox"

    @property
    def sms_outbox_dir(self) -> Path:
        """Where SMS go as files when Twilio is not configured."""
        return self.instance_path / "sms-outbox"

    @property
    def production(self) -> bool:
        """True when running as production (PAKN_ENV=production)."""
        return self.env == "production"

    def with_(self, **changes: Any) -> Settings:
        """A copy with some values changed (tests, commands)."""
        return replace(self, **changes)

    def validate(self) -> Settings:
        """Refuse settings that are unsafe for the current environment."""
        if self.production:
            key = self.secret_key.strip()
            if key.lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH:
                raise ConfigurationError(
                    f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} "
                    "characters in production (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings of DESIGN.md §6 from the environment."""
        env = os.environ if environ is None else environ
        mode = env.get("PAKN_ENV", "development").strip().lower()
        instance = Path(env.get("INSTANCE_PATH") or ROOT / "instance")
        secret = env.get("SECRET_KEY", "")
        if not secret and mode != "production":
            secret = _dev_secret(instance)
        keys = tuple(k.strip() for k in env.get("API_KEYS", "").split(",") if k.strip())
        return cls(
            secret_key=secret,
            env=mode,
            instance_path=instance,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{instance / 'pakn.db'}",
            redis_url=env.get("REDIS_URL") or None,
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MAIL_FROM") or "pakn@localhost",
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_api_base=env.get("TWILIO_API_BASE") or None,
            sms_short_code=env.get("SMS_SHORT_CODE") or "8088",
            hotline_number=env.get("HOTLINE_NUMBER") or "19001547",
            public_base_url=(env.get("PUBLIC_BASE_URL") or "http://localhost:8000").rstrip("/"),
            captcha=_bool(env.get("CAPTCHA"), True),
            api_keys=keys,
            proxy_hops=int(env.get("PROXY_HOPS") or 0),
            submit_limit=_limit(env.get("SUBMIT_RATE_LIMIT"), cls.submit_limit),
            lookup_limit=_limit(env.get("LOOKUP_RATE_LIMIT"), cls.lookup_limit),
            api_limit=_limit(env.get("API_RATE_LIMIT"), cls.api_limit),
            sms_reply_limit=_limit(env.get("SMS_REPLY_LIMIT"), cls.sms_reply_limit),
            sms_diacritics=_bool(env.get("SMS_DIACRITICS"), False),
            coordinator_email=env.get("COORDINATOR_EMAIL") or None,
            publish_default=_bool(env.get("PUBLISH_DEFAULT"), True),
            metrics_token=env.get("METRICS_TOKEN") or None,
            signing_config=Path(env["SIGNING_CONFIG"]) if env.get("SIGNING_CONFIG") else None,
            signing_trust_roots=tuple(p for p in env.get("SIGNING_TRUST_ROOTS", "").split(os.pathsep) if p),
            signing_tsa_url=env.get("SIGNING_TSA_URL") or None,
            imap_url=env.get("IMAP_URL") or None,
            imap_done_folder=env.get("IMAP_DONE_FOLDER") or "PAKN-done",
            webhook_pause_days=int(env.get("WEBHOOK_PAUSE_DAYS") or 3),
            webhook_allow_private=_bool(env.get("WEBHOOK_ALLOW_PRIVATE"), False),
        ).validate()
