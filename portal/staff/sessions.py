"""Staff sessions: a cookie of their own (`portal_staff`, for /staff/ only),
apart from contacts' sessions, so that signing in to the workspace never
signs anyone in as a contact, nor the other way round; and shorter
(`[staff] session_idle_minutes`, `session_lifetime_hours`). The database
keeps the hash of the cookie's random id, so signing out or the timeouts
end every copy of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, redirect, request, url_for
from sqlalchemy import delete, insert, select, update
from werkzeug.wrappers import Response

from portal.config.staff import PUBLISHER
from portal.db.engine import Database, Every
from portal.db.keys import new_token, token_hash
from portal.db.models import utcnow
from portal.staff.models import StaffSession

COOKIE = "portal_staff"
TOUCH_EVERY = timedelta(minutes=1)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class StaffMember:
    email: str
    role: str
    door: str

    @property
    def publishes(self) -> bool:
        return self.role == PUBLISHER


class StaffSessions:
    def __init__(self, database: Database, idle: timedelta, lifetime: timedelta) -> None:
        self.database = database
        self.idle = idle
        self.lifetime = lifetime
        self.purging = Every(300)

    def start(self, member: StaffMember) -> str:
        """A new session for `member`; returns the cookie's value."""
        cookie, now = new_token(), utcnow()
        with self.database.transaction() as db:
            db.execute(insert(StaffSession).values(
                id_hash=token_hash(cookie), email=member.email, role=member.role, door=member.door,
                created_at=now, last_seen_at=now, expires_at=min(now + self.idle, now + self.lifetime)))
        return cookie

    def load(self, cookie: str) -> StaffMember | None:
        now = utcnow()
        id_hash = token_hash(cookie)
        with self.database.exclusive() as db:  # read, then touch the session
            row = db.execute(select(StaffSession).where(StaffSession.id_hash == id_hash)).one_or_none()
            if row is None:
                return None
            found = row  # the columns of select(StaffSession), by name
            if found.expires_at <= now:
                db.execute(delete(StaffSession).where(StaffSession.id_hash == id_hash))
                return None
            if now - found.last_seen_at >= TOUCH_EVERY:
                db.execute(update(StaffSession).where(StaffSession.id_hash == id_hash).values(
                    last_seen_at=now,
                    expires_at=min(now + self.idle, found.created_at + self.lifetime)))
        if self.purging.due():
            with self.database.transaction() as db:
                db.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
        return StaffMember(found.email, found.role, found.door)

    def end(self, cookie: str) -> None:
        with self.database.transaction() as db:
            db.execute(delete(StaffSession).where(StaffSession.id_hash == token_hash(cookie)))


def sessions() -> StaffSessions:
    # The workspace's state (portal.staff.workspace, which knows this module) holds them.
    found: StaffSessions = current_app.extensions["portal.staff"].sessions
    return found


def staff_member() -> StaffMember | None:
    """The staff member this request comes from, if any (checked once per request)."""
    if "staff_member" not in g:
        cookie = request.cookies.get(COOKIE)
        g.staff_member = sessions().load(cookie) if cookie else None
    member: StaffMember | None = g.staff_member
    return member


def staff_required(view: F) -> F:
    """Only for signed-in staff; the others go to the workspace's sign-in page."""
    return _guard(view, publisher=False)


def publisher_required(view: F) -> F:
    """Only for staff with the publisher role (403 for editors)."""
    return _guard(view, publisher=True)


def _guard(view: F, publisher: bool) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        member = staff_member()
        if member is None:
            return redirect(url_for("staff.start"))
        if publisher and not member.publishes:
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def cookie_path() -> str:
    return request.script_root + "/staff"


def set_cookie(response: Response, cookie: str) -> None:
    """A browser-session cookie: closing the browser ends it too."""
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="Lax", path=cookie_path(),
                        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))


def forget_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=cookie_path(), httponly=True, samesite="Lax",
                           secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))
