"""Constants and enumerations used across the gateway."""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ANSWER_DAYS = 20
SWEEP_AGE_SECONDS = 60
SWEEP_INTERVAL_SECONDS = 30


class Channel(StrEnum):
    """Where a PAKN came in (and where answers go back)."""

    web = "web"
    api = "api"
    sms = "sms"
    hotline = "hotline"
    email = "email"


class Role(StrEnum):
    """Staff roles; admin may do everything."""

    operator = "operator"
    coordinator = "coordinator"
    agency = "agency"
    admin = "admin"


class CaseStatus(StrEnum):
    """API values of a case's status (DESIGN.md §3)."""

    received = "received"
    registered = "registered"
    needs_info = "needs_info"
    out_of_scope = "out_of_scope"
    triage = "triage"
    forwarded = "forwarded"
    answered = "answered"
    published = "published"
    reopened = "reopened"
    closed = "closed"


class OutboundStatus(StrEnum):
    """Life of one outbound message."""

    pending = "pending"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"
    suppressed = "suppressed"  # not sent on purpose (the phone opted out)


class EventKind(StrEnum):
    """What an audit event records."""

    status = "status"
    supplement = "supplement"
    rating = "rating"
    message_sent = "message_sent"
    message_failed = "message_failed"
    callback = "callback"
    view = "view"  # staff opened the case's personal data


STATUS_LABELS_VI: dict[CaseStatus, str] = {
    CaseStatus.received: "Đã nhận, đang cấp mã",
    CaseStatus.registered: "Đã tiếp nhận và cấp mã PAKN",
    CaseStatus.needs_info: "Cần bổ sung thông tin",
    CaseStatus.out_of_scope: "Không thuộc phạm vi tiếp nhận",
    CaseStatus.triage: "Đang phân loại",
    CaseStatus.forwarded: "Đã chuyển cơ quan có thẩm quyền",
    CaseStatus.answered: "Đã có kết quả trả lời",
    CaseStatus.published: "Đã công khai kết quả",
    CaseStatus.reopened: "Đang xem xét lại",
    CaseStatus.closed: "Đã kết thúc",
}
