"""Vietnamese labels for every internal slug staff see (statuses, kinds, fields, channels, roles…).

Templates use the ``vi`` filter (registered in :mod:`gateway.app`)::

    {{ case.status|vi }}               {# a status, found in any table #}
    {{ case.field|vi('field') }}       {# "thue-tai-chinh" → "Thuế, tài chính" #}
    {{ event|event_sentence }}         {# "Chuyển trạng thái: Đang phân loại → Đã chuyển …" #}

Field names come from ``config/fields.toml`` (:mod:`gateway.fields`); an unknown value is
shown as it is (never an error), so a new slug is visible rather than hidden.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from gateway.constants import STATUS_LABELS_VI, CaseStatus, Channel, EventKind, OutboundStatus, PublicationStatus, Role
from gateway.fields import all_fields
from normalizer.classify import OUT_LABELS, CaseType, Scope


class LabelKind(StrEnum):
    """The tables of labels; ``vi(value, kind)`` looks in one, ``vi(value)`` in all."""

    status = "status"
    event = "event"
    channel = "channel"
    outbound = "outbound"
    role = "role"
    scope = "scope"
    case_type = "case_type"
    field = "field"
    out_reason = "out_reason"
    publication = "publication"
    route = "route"


EVENT_LABELS: dict[str, str] = {
    EventKind.status: "Chuyển trạng thái",
    EventKind.supplement: "Người gửi bổ sung thông tin",
    EventKind.rating: "Người gửi đánh giá kết quả",
    EventKind.message_sent: "Đã gửi tin nhắn, thư",
    EventKind.message_failed: "Gửi tin nhắn, thư không thành công",
    EventKind.callback: "Gọi lại",
    EventKind.view: "Cán bộ xem thông tin người gửi",
    EventKind.deadline: "Thời hạn trả lời",
    EventKind.alert: "Cảnh báo thời hạn",
    EventKind.publication: "Công khai",
    EventKind.signed: "Đã ký số văn bản trả lời",
    EventKind.signing_failed: "Ký số không thành công",
    EventKind.progress: "Cơ quan cập nhật tình hình xử lý",
}

CHANNEL_LABELS: dict[str, str] = {
    Channel.web: "Cổng thông tin (web)",
    Channel.api: "Hệ thống kết nối (API)",
    Channel.sms: "Tin nhắn 8088",
    Channel.hotline: "Tổng đài 1900 1547",
    Channel.email: "Thư điện tử",
    Channel.open311: "Ứng dụng (Open311)",
    Channel.webhook: "Thông báo tự động (webhook)",
}

OUTBOUND_LABELS: dict[str, str] = {
    OutboundStatus.pending: "Đang chờ gửi",
    OutboundStatus.sent: "Đã gửi",
    OutboundStatus.delivered: "Đã đến người nhận",
    OutboundStatus.failed: "Gửi không thành công",
    OutboundStatus.suppressed: "Không gửi (đã thay thế hoặc người nhận từ chối)",
}

ROLE_LABELS: dict[str, str] = {
    Role.operator: "Điện thoại viên",
    Role.coordinator: "Điều phối viên",
    Role.agency: "Cán bộ cơ quan",
    Role.admin: "Quản trị",
}

SCOPE_LABELS: dict[str, str] = {
    Scope.in_scope: "Thuộc phạm vi PAKN",
    Scope.out_of_scope: "Không thuộc phạm vi PAKN",
    Scope.needs_info: "Cần bổ sung thông tin",
    "in": "Thuộc phạm vi PAKN",  # the classifier's stored decision (gateway/classifier/decide.py)
    "out": "Không thuộc phạm vi PAKN",
}

CASE_TYPE_LABELS: dict[str, str] = {
    CaseType.hanh_vi: "Hành vi hành chính",
    CaseType.quy_dinh: "Quy định hành chính",
    CaseType.sang_kien: "Sáng kiến, đề xuất",
}

PUBLICATION_LABELS: dict[str, str] = {
    PublicationStatus.proposed: "Đề xuất công khai",
    PublicationStatus.published: "Đã công khai",
    PublicationStatus.declined: "Không công khai",
    PublicationStatus.withdrawn: "Đã gỡ khỏi trang công khai",
}

ROUTE_LABELS: dict[str, str] = {
    "province": "UBND tỉnh, thành phố nơi xảy ra việc",
    "ministry": "Bộ quản lý lĩnh vực",
}


def _fields() -> dict[str, str]:
    return {f.code: f.name for f in all_fields()}


def table(kind: LabelKind | str) -> dict[str, str]:
    """The labels of one ``kind``."""
    tables: dict[str, Any] = {
        LabelKind.status: {str(k): v for k, v in STATUS_LABELS_VI.items()},
        LabelKind.event: EVENT_LABELS,
        LabelKind.channel: CHANNEL_LABELS,
        LabelKind.outbound: OUTBOUND_LABELS,
        LabelKind.role: ROLE_LABELS,
        LabelKind.scope: SCOPE_LABELS,
        LabelKind.case_type: CASE_TYPE_LABELS,
        LabelKind.field: None,
        LabelKind.out_reason: OUT_LABELS,
        LabelKind.publication: PUBLICATION_LABELS,
        LabelKind.route: ROUTE_LABELS,
    }
    if str(kind) not in tables:
        raise KeyError(f"no labels of kind {kind!r}")
    found = tables[str(kind)]
    return _fields() if found is None else dict(found)


# Order of the search without a kind: a status "needs_info" is the status, not the scope.
SEARCH_ORDER = (LabelKind.status, LabelKind.event, LabelKind.channel, LabelKind.field, LabelKind.case_type,
                LabelKind.scope, LabelKind.out_reason, LabelKind.role, LabelKind.outbound, LabelKind.publication,
                LabelKind.route)


def vi(value: object, kind: LabelKind | str | None = None) -> str:
    """The Vietnamese label of ``value`` (an enum member or its slug); the value itself if unknown.

    ``None`` and the empty string are shown as "—".
    """
    if value is None or value == "":
        return "—"
    slug = str(value.value if isinstance(value, StrEnum) else value)
    kinds = (LabelKind(kind),) if kind else SEARCH_ORDER
    for one in kinds:
        label = table(one).get(slug)
        if label is not None:
            return label
    return slug


def event_sentence(event: Any) -> str:
    """One audit event as a Vietnamese sentence (its kind, and a status change in words).

    ``status: received → registered`` becomes "Chuyển trạng thái: Đã nhận, đang cấp mã →
    Đã tiếp nhận và cấp mã PAKN".
    """
    kind = vi(event.kind, LabelKind.event)
    to_status: CaseStatus | None = event.to_status
    if to_status is None:
        return kind
    before = f"{vi(event.from_status, LabelKind.status)} → " if event.from_status else ""
    return f"{kind}: {before}{vi(to_status, LabelKind.status)}"


def vi_text(text: object) -> str:
    """``text`` with field codes and PAKN type slugs written out (the classifier's reasons name them).

    "Lĩnh vực dat-dai (6 điểm)" becomes "Lĩnh vực Đất đai, tài nguyên (6 điểm)"; "Loại hanh_vi"
    becomes "Loại Hành vi hành chính". Only whole slugs are replaced.
    """
    if text is None:
        return ""
    names = {**_fields(), **CASE_TYPE_LABELS, **OUT_LABELS}
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(s) for s in sorted(names, key=len, reverse=True))
                         + r")(?![\w-])")
    return pattern.sub(lambda m: names[m.group(1)], str(text))
