"""What the citizen is told, composed into outbound rows (sent later by the worker)."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlmodel import Session

from config.settings import Settings
from gateway import messages, outbox
from gateway.constants import VN_TZ, Channel
from gateway.models import Case

SUMMARY_CHARS = 400


def summary(content: str, limit: int = SUMMARY_CHARS) -> str:
    """The first ``limit`` characters of ``content``, cut at a word boundary."""
    if len(content) <= limit:
        return content
    cut = content[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + " …"


def lookup_url(settings: Settings, code: str) -> str:
    """Public lookup link for a code (the citizen adds the name)."""
    return f"{settings.public_base_url}/lookup?{urlencode({'code': code})}"


def queue_acknowledgment(session: Session, *, case: Case, settings: Settings) -> None:
    """Queue the 'received, here is your code' email (once per case)."""
    if not case.email or not case.code:
        return
    received = case.created_at.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")
    params = dict(
        code=case.code, title=case.title, full_name=case.full_name, received=received,
        summary=summary(case.content), lookup_url=lookup_url(settings, case.code),
        short_code=settings.sms_short_code, hotline=settings.hotline_number,
    )
    outbox.put(
        session,
        key=f"case-{case.id}-ack-email",
        channel=Channel.email,
        purpose="ack",
        recipient=case.email,
        subject=messages.text("email_ack", "subject", **params),
        body=messages.text("email_ack", "body", **params),
        case_id=case.id,
    )
