"""Staff login and logout."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for

from gateway import auth, messages, ratelimit
from gateway.constants import Role
from gateway.services import services, session

bp = Blueprint("auth", __name__)
HOME = {Role.operator: "hotline.desk", Role.coordinator: "coordinator.queue", Role.admin: "coordinator.queue",
        Role.agency: "agency.dashboard"}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Staff sign-in (CSRF-protected form)."""
    if request.method == "GET":
        return render_template("staff/login.html", error=None, next=request.args.get("next", ""))
    if not ratelimit.hit(services().redis, scope="login", who=request.remote_addr or "-", limit=(20, 600)):
        abort(429, description=messages.text("errors", "rate_limited", minutes=10))
    user = auth.authenticate(session(), username=request.form.get("username", ""),
                             password=request.form.get("password", ""))
    if user is None:
        error = messages.text("staff", "login_failed")
        return render_template("staff/login.html", error=error, next=request.form.get("next", "")), 401
    auth.log_in(user)
    return redirect(_safe_next(request.form.get("next")) or url_for(HOME[user.role]))


@bp.post("/logout")
def logout() -> Any:
    """Sign out (POST, so that a link on another site cannot do it)."""
    auth.log_out()
    return redirect(url_for("auth.login"))
