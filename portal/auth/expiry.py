"""Idle sessions end: a contact who did nothing for `session_idle_minutes`
is signed out, and the start page then says so."""

from __future__ import annotations

import time

from flask import Flask, session

from portal.auth.session import sign_out


def init_app(app: Flask) -> None:
    idle_seconds = app.config["PORTAL"].portal.session_idle_minutes * 60

    @app.before_request
    def expire_idle_session() -> None:
        if "contact" not in session:
            return
        now = time.time()
        if now - session.get("seen", now) > idle_seconds:
            sign_out()
            session["expired"] = True
        else:
            session["seen"] = now
