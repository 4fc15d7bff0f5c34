"""Who is signed in, and how far they may go; and where sessions live.

Scope "full" comes from an emailed link or the WordPress login; scope
"subscriptions" from a newsletter link, which may not edit personal data
unless the configuration allows it.

Sessions live in the portal's database: the cookie holds only a random id
(the database keeps its hash), so signing out, an idle timeout
(`[portal] session_idle_minutes`) or the absolute lifetime
(`[portal] session_lifetime_hours`, counted from sign-in) ends a session
for every copy of its cookie. A record is written only once there is
something to keep (a language, a form's CSRF token): a visitor who stores
nothing costs nothing, and a record is written again only when what it
holds changed. Messages shown once after a redirect go in a cookie of their
own (portal.auth.flashes). Expired records are purged as requests come."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Request, Response, current_app, redirect, request, session, url_for
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from portal.auth.flashes import KEY as FLASHES
from portal.auth.flashes import FlashCookie, Flashes
from portal.crm.base import Contact
from portal.db import database
from portal.db.engine import Every
from portal.db.keys import Keys, new_token, token_hash
from portal.db.models import utcnow
from portal.db.sessions import ENDED_NOTICE, Columns, SessionStore, StoredSession

FULL = "full"
SUBSCRIPTIONS = "subscriptions"
# Without a contact, a session only holds a language or a form's token: it
# lasts a day after its last use, so that a form left open still sends.
ANONYMOUS_IDLE = timedelta(days=1)
TOUCH_EVERY = timedelta(minutes=1)  # how often a busy session's last use is written down

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class SignedIn:
    contact: Contact
    scope: str
    via: str


def sign_in(contact: Contact, scope: str, via: str) -> None:
    sign_out()  # a fresh session on every sign-in: no fixation
    session["contact"] = {"ref": contact.ref, "email": contact.email, "name": contact.name,
                          "scope": scope, "via": via}
    session.permanent = True


def signed_in() -> SignedIn | None:
    data = session.get("contact")
    if not data:
        return None
    contact = Contact(ref=data["ref"], email=data["email"], name=data.get("name", ""))
    return SignedIn(contact, data["scope"], data["via"])


def sign_out() -> None:
    """End the session (its record goes); a new one keeps only the language."""
    language = session.get("lang")
    session.clear()
    if isinstance(session, ServerSession):
        session.renew = True
    if language:
        session["lang"] = language


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if signed_in() is None:
            return redirect(url_for("auth.start"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def end_sessions_of(contact_ref: str) -> int:
    """End every session of one contact, in every browser; returns how many."""
    interface = current_app.session_interface
    assert isinstance(interface, DatabaseSessions)
    return interface.store.end_all_of(contact_ref)


# --- the records behind the cookie --------------------------------------------


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """The dict a request sees, the record it came from, and the messages
    the flash cookie brought."""

    def __init__(self, initial: dict[str, Any] | None = None,
                 stored: StoredSession | None = None) -> None:
        def on_update(self: ServerSession) -> None:
            self.modified = True

        super().__init__(initial, on_update)
        self.stored = stored
        self.kept = copy.deepcopy(initial or {})  # as the record has it: written only if it differs
        self.modified = False
        self.renew = False  # a new id on saving: the old record goes
        self.arrived: Flashes = []

    def bring(self, flashes: Flashes) -> None:
        """Messages from the flash cookie, for `get_flashed_messages`."""
        self.arrived = flashes
        if flashes:
            dict.__setitem__(self, FLASHES, [*self.get(FLASHES, []), *flashes])

    def take_flashes(self) -> Flashes:
        """The messages still to show, out of the session: they go in the cookie."""
        return [(str(category), str(message))
                for category, message in dict.pop(self, FLASHES, None) or []]

    def changed(self) -> bool:
        return self.renew or dict(self) != self.kept


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta

    def end(self, created: datetime, last_seen: datetime, signed_in: bool) -> datetime:
        if not signed_in:
            return last_seen + ANONYMOUS_IDLE
        return min(last_seen + self.idle, created + self.absolute)


class DatabaseSessions(SessionInterface):
    def __init__(self, store: SessionStore, lifetimes: Lifetimes) -> None:
        self.store = store
        self.lifetimes = lifetimes
        self.purging = Every(300)
        self.flash_cookie: FlashCookie | None = None  # made with the app's key at first use

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        # The server ends the session; the cookie outlives it by a day so the
        # portal can still tell a returning contact that their session ended.
        return utcnow() + self.lifetimes.absolute + ENDED_NOTICE if session.permanent else None

    def get_cookie_path(self, app: Flask) -> str:
        # Behind a reverse proxy the cookie belongs to our prefix, not to the whole site.
        return str(app.config["SESSION_COOKIE_PATH"] or (request.script_root + "/"))

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        session = self._open(app, request)
        session.bring(self._flash_cookie(app).read(request))
        return session

    def _open(self, app: Flask, request: Request) -> ServerSession:
        cookie = request.cookies.get(self.get_cookie_name(app))
        stored = self.store.load(token_hash(cookie)) if cookie else None
        if stored is None:
            return ServerSession()
        signed_in = stored.contact_ref is not None
        if self.lifetimes.end(stored.created_at, stored.last_seen_at, signed_in) <= utcnow():
            return self._ended(stored)
        if stored.data is None:  # sealed under an earlier secret key
            return ServerSession()
        return ServerSession(stored.data, stored)

    def _ended(self, stored: StoredSession) -> ServerSession:
        """A session past its time is gone for good; the next page says so."""
        self.store.delete(stored.id_hash)
        fresh = ServerSession()
        if stored.contact_ref is not None:
            fresh["expired"] = True
            # The start page asks for a new link: it may start with the address.
            email = ((stored.data or {}).get("contact") or {}).get("email")
            if email:
                fresh["link_sent_to"] = email
        if stored.language:
            fresh["lang"] = stored.language
        return fresh

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if not (session.accessed or session.modified):
            return  # an asset: no one read or wrote the session, nothing to remember
        response.vary.add("Cookie")
        flashes = session.take_flashes()
        if flashes != session.arrived:
            self._flash_cookie(app).write(response, flashes, **self._cookie_options(app))
        stored = session.stored
        replaced = None  # a record that goes in the same transaction as the new one is kept
        if stored is not None and (session.renew or not session):
            if session:
                replaced = stored.id_hash
            else:
                self.store.delete(stored.id_hash)
            stored = None
        now = utcnow()
        if not session:
            if request.cookies.get(self.get_cookie_name(app)):
                self._forget_cookie(app, response)
        elif stored is None:
            cookie = new_token()
            self._save(session, token_hash(cookie), now, now, new=True, replacing=replaced)
            self._set_cookie(app, session, response, cookie)
        elif session.changed():
            self._save(session, stored.id_hash, stored.created_at, now, new=False)
        elif now - stored.last_seen_at >= TOUCH_EVERY:
            self.store.touch(stored.id_hash, now, self.lifetimes.end(
                stored.created_at, now, stored.contact_ref is not None))
        if self.purging.due():
            self.store.purge(now)

    def _save(self, session: ServerSession, id_hash: str, created: datetime, now: datetime,
              new: bool, replacing: str | None = None) -> None:
        contact = session.get("contact") or {}
        columns = Columns(door=contact.get("via"), contact_ref=contact.get("ref"),
                          scope=contact.get("scope"), language=session.get("lang"))
        self.store.save(id_hash, dict(session), columns, created, now,
                        self.lifetimes.end(created, now, bool(contact)), new, replacing)

    def _set_cookie(self, app: Flask, session: ServerSession, response: Response,
                    cookie: str) -> None:
        response.set_cookie(self.get_cookie_name(app), cookie,
                            expires=self.get_expiration_time(app, session),
                            **self._cookie_options(app))

    def _forget_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(self.get_cookie_name(app), **self._cookie_options(app))

    def _cookie_options(self, app: Flask) -> dict[str, Any]:
        return {"httponly": self.get_cookie_httponly(app), "domain": self.get_cookie_domain(app),
                "path": self.get_cookie_path(app), "secure": self.get_cookie_secure(app),
                "partitioned": self.get_cookie_partitioned(app),
                "samesite": self.get_cookie_samesite(app)}

    def _flash_cookie(self, app: Flask) -> FlashCookie:
        if self.flash_cookie is None:
            self.flash_cookie = FlashCookie(app.config["SECRET_KEY"],
                                            self.get_cookie_name(app) + "_flash")
        return self.flash_cookie


def init_app(app: Flask) -> None:
    """Keep sessions in the portal's database (after portal.db.init_app)."""
    settings = app.config["PORTAL"].portal
    app.session_interface = DatabaseSessions(
        SessionStore(database(app), Keys(app.config["SECRET_KEY"])),
        Lifetimes(idle=timedelta(minutes=settings.session_idle_minutes),
                  absolute=timedelta(hours=settings.session_lifetime_hours)))
