"""Administrators: webhook subscriptions and their delivery log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from gateway import auth, messages, webhooks
from gateway.constants import VN_TZ, Role
from gateway.services import services, session
from normalizer import bounds

bp = Blueprint("admin", __name__)


@bp.route("/webhooks", methods=["GET", "POST"])
@auth.login_required(Role.admin)
def webhooks_page() -> Any:
    """Subscriptions (add, remove, resume) and the latest deliveries."""
    error, created = None, None
    if request.method == "POST":
        action = request.form.get("action")
        if action == "add" and (problem := bounds.check_text(request.form.get("url", ""), max_len=2000)):
            error = messages.bounds_error(problem, 2000)
        elif action == "add":
            try:
                created = webhooks.subscribe(session(), url=request.form.get("url", ""),
                                             events=request.form.getlist("events"),
                                             actor=auth.current_user(session()).username,  # type: ignore[union-attr]
                                             allow_private=services().settings.webhook_allow_private)
            except webhooks.WebhookError as exc:
                error = str(exc)
        elif action in ("remove", "resume"):
            subscription_id = bounds.ascii_int(request.form.get("id", "")) or 0
            done = (webhooks.remove if action == "remove" else webhooks.resume)(session(),
                                                                                 subscription_id=subscription_id)
            if not done:
                abort(404)
            return redirect(url_for("admin.webhooks_page"), code=303)
        else:
            abort(400)
    return render_template("admin/webhooks.html", subs=webhooks.subscriptions(session()), events=webhooks.EVENTS,
                           log=webhooks.delivery_log(session(), limit=100), events_of=webhooks.events_of,
                           subscription_id=webhooks.subscription_id, tz=VN_TZ, error=error, created=created,
                           ), 400 if error else 200
