"""Constants and enumerations used across the gateway."""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SWEEP_AGE_SECONDS = 60
SWEEP_INTERVAL_SECONDS = 30


class Channel(StrEnum):
    """Where a PAKN came in (and where answers go back)."""

    web = "web"
    api = "api"
    sms = "sms"
    hotline = "hotline"
    email = "email"
    open311 = "open311"  # Open311 GeoReport v2 (civic apps)
    webhook = "webhook"  # outbound only: event notifications to subscribed systems


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
    deadline = "deadline"  # the due date was set, paused, resumed or restarted
    alert = "alert"  # a clock rule was breached (see ClockAlert)
    publication = "publication"  # proposed, edited, declined or withdrawn from publication
    signed = "signed"  # the answer was signed; the note holds the signer and the document's SHA-256
    signing_failed = "signing_failed"  # the agency's certificate could not sign; the answer went unsigned
    progress = "progress"  # the agency's interim note (e.g. by email, subject "TIẾN ĐỘ")


class PublicationStatus(StrEnum):
    """Life of a case's public version (the case itself goes ``published`` when it is)."""

    proposed = "proposed"
    published = "published"
    declined = "declined"
    withdrawn = "withdrawn"  # the citizen asked not to be published after it was


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

PENDING_UPLOAD_SECONDS = 6 * 3600  # files kept for a form sent back with errors (gateway/uploads)

# The PBX's CDR dispositions, as operators read them (call-back reasons, import reports).
DISPOSITION_LABELS_VI: dict[str, str] = {
    "ANSWERED": "Đã nghe máy",
    "NO ANSWER": "Không nghe máy",
    "BUSY": "Máy bận",
    "FAILED": "Gọi không thành công",
    "CONGESTION": "Tổng đài nghẽn mạch",
}

# PostgreSQL LISTEN/NOTIFY channel on which intake tells the worker's dispatcher about new
# work (the payload is the work kind's name); polling remains the fallback.
WORK_CHANNEL = "pakn_work"
