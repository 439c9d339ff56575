"""Staff accounts: slow password hashes, lock-out, sessions, role checks."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for
from sqlmodel import Session, col, select
from werkzeug.security import check_password_hash, generate_password_hash

from gateway import cases
from gateway.constants import EventKind, Role
from gateway.models import Case, Event, StaffUser, utcnow

log = logging.getLogger(__name__)
MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD = 10


@functools.cache
def _dummy_hash() -> str:
    """Hash checked when the username does not exist, so that both paths take as long.

    Made on first use: hashing is slow by design, and every process that loads the app
    (web, worker, each CLI command) would pay for it at start-up.
    """
    return generate_password_hash("not-a-real-password-at-all")

F = TypeVar("F", bound=Callable[..., Any])


class AuthError(Exception):
    """Why an account could not be created or changed (shown to the admin)."""


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive and trimmed."""
    return username.strip().lower()


def create_user(session_: Session, *, username: str, password: str, role: Role, display_name: str,
                agency_code: str | None = None) -> StaffUser:
    """Create an account (scrypt hash); raise AuthError for a weak password or a taken name."""
    name = normalize_username(username)
    if not name or not name.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise AuthError("username: letters, digits, dot, dash and underscore only")
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"password: at least {MIN_PASSWORD} characters")
    if session_.exec(select(StaffUser).where(StaffUser.username == name)).first():
        raise AuthError(f"username {name!r} is taken")
    user = StaffUser(username=name, display_name=display_name.strip() or name, role=role,
                     password_hash=generate_password_hash(password), agency_code=agency_code)
    session_.add(user)
    session_.commit()
    return user


def check_agency(session_: Session, *, role: Role, agency_code: str | None) -> None:
    """Raise AuthError unless the account's agency fits its role (``users create``).

    Agency staff need an agency of the directory; an admin may have one (their dashboard's
    default); operators and coordinators work for every agency and have none.
    """
    from gateway.models import Agency

    if role == Role.agency and not agency_code:
        raise AuthError("an agency account needs --agency <code> (flask --app wsgi agencies list shows the codes)")
    if agency_code and role not in (Role.agency, Role.admin):
        raise AuthError(f"--agency is for agency (or admin) accounts, not {role.value}")
    if agency_code and session_.exec(select(Agency).where(Agency.code == agency_code)).first() is None:
        raise AuthError(f"no agency {agency_code!r} in the directory "
                        "(flask --app wsgi agencies list shows the codes; agencies import adds them)")


def authenticate(session_: Session, *, username: str, password: str, now: datetime | None = None) -> StaffUser | None:
    """The user if the password is right and the account usable; counts failures, locks out."""
    dummy = _dummy_hash()  # made by a process's first login, whoever logs in: no timing sign of unknown names
    now = now or utcnow()
    user = session_.exec(select(StaffUser).where(StaffUser.username == normalize_username(username))).first()
    if user is None or not user.active:
        check_password_hash(dummy, password)
        return None
    if user.locked_until and user.locked_until > now:
        check_password_hash(dummy, password)
        log.warning("login refused for locked account %s", user.username)
        return None
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until, user.failed_logins = now + LOCK_FOR, 0
            log.warning("account %s locked for %s after %d failures", user.username, LOCK_FOR, MAX_FAILURES)
        session_.add(user)
        session_.commit()
        return None
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session_.add(user)
    session_.commit()
    return user


def log_in(user: StaffUser) -> None:
    """Start a fresh session for ``user`` (no fixation: the old session is dropped)."""
    session.clear()
    session.permanent = True
    session["uid"], session["epoch"] = user.id, user.session_epoch
    session["since"] = utcnow().timestamp()  # views of personal data are audited once per session


def log_out() -> None:
    """End the session."""
    session.clear()


def current_user(db: Session) -> StaffUser | None:
    """The logged-in, active user of this request, if any."""
    if "staff_user" in g:
        return g.staff_user
    user = db.get(StaffUser, session.get("uid")) if session.get("uid") else None
    if user is not None and (not user.active or user.session_epoch != session.get("epoch")):
        user = None
    g.staff_user = user
    return user


def audit_view(db: Session, *, case: Case, actor: str, note: str) -> None:
    """Record that ``actor`` opened ``case`` (a ``view`` event): once per case per login session.

    A page that polls (the call page's status.json) or is reloaded adds nothing; the next
    session's first look is recorded again. Commits.
    """
    started = session.get("since")
    since = datetime.fromtimestamp(started, tz=utcnow().tzinfo) if isinstance(started, (int, float)) else None
    if since is None:  # a session from before this was recorded: it counts from now
        session["since"] = utcnow().timestamp()
    else:
        seen = db.exec(select(Event.id).where(Event.case_id == case.id, Event.actor == actor,
                                              Event.kind == EventKind.view, col(Event.at) >= since).limit(1)).first()
        if seen is not None:
            return
    cases.record_event(db, case=case, actor=actor, kind=EventKind.view, note=note)
    db.commit()


def login_required(*roles: Role) -> Callable[[F], F]:
    """Views for staff: anonymous → login page; wrong role → 403. Admin passes everywhere."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from gateway.services import session as db_session

            user = current_user(db_session())
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles and user.role != Role.admin:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
