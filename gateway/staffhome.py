"""Where staff belong: their desk by role, and what an error page tells them instead of the citizen home."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import request, url_for
from flask import session as cookie

from gateway.constants import Role

log = logging.getLogger(__name__)
HOME_ENDPOINTS = {Role.operator: "hotline.desk", Role.coordinator: "coordinator.queue",
                  Role.admin: "coordinator.queue", Role.agency: "agency.dashboard"}
HOME_LABELS = {Role.operator: "Bàn làm việc tổng đài", Role.coordinator: "Hàng đợi điều phối",
               Role.admin: "Hàng đợi điều phối", Role.agency: "Danh sách PAKN của cơ quan"}
# Paths that belong to staff (and to agencies answering by link), not to citizens.
STAFF_PREFIXES = ("/staff", "/hotline", "/coordinator", "/agency", "/admin", "/thong-ke", "/dev/")


@dataclass(frozen=True)
class StaffWay:
    """What a staff error page offers: the desk (or the login page) and the office's contact."""

    home_url: str
    home_label: str
    contact_email: str | None
    hotline: str


def home_endpoint(role: Role | str) -> str:
    """The endpoint of ``role``'s desk."""
    return HOME_ENDPOINTS[Role(role)]


def staff_way(*, contact_email: str | None, hotline: str) -> StaffWay | None:
    """For a staff request (logged in, or on a staff path): where to go; None for citizens.

    Never raises: an error page must render even when the database is what failed.
    """
    role: Role | None = None
    if cookie.get("uid"):
        try:
            from gateway.auth import current_user
            from gateway.services import session

            user = current_user(session())
            role = Role(user.role) if user is not None else None
        except Exception:
            log.warning("error page: could not read the staff user", exc_info=True)
    if role is None and not request.path.startswith(STAFF_PREFIXES):
        return None
    if role is None:
        return StaffWay(url_for("auth.login"), "Đăng nhập dành cho cán bộ", contact_email, hotline)
    return StaffWay(url_for(home_endpoint(role)), HOME_LABELS[role], contact_email, hotline)
