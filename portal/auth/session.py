"""Who is signed in, and how far they may go.

Scope "full" comes from an emailed link or the WordPress login; scope
"subscriptions" from a newsletter link, which may not edit personal data
unless the configuration allows it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import redirect, session, url_for

from portal.crm.base import Contact

FULL = "full"
SUBSCRIPTIONS = "subscriptions"

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
    session["seen"] = time.time()
    session.permanent = True


def signed_in() -> SignedIn | None:
    data = session.get("contact")
    if not data:
        return None
    contact = Contact(ref=data["ref"], email=data["email"], name=data.get("name", ""))
    return SignedIn(contact, data["scope"], data["via"])


def sign_out() -> None:
    """Forget everything but the contact's language."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if signed_in() is None:
            return redirect(url_for("auth.start"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
