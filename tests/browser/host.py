"""A page playing the WordPress site: it holds the portal in the project's own
block-HTML snippet (wordpress/preference-portal-block.html), as an editor
would paste it, with the portal's address filled in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server

from portal import ROOT

SNIPPET = ROOT / "wordpress" / "preference-portal-block.html"
PLACEHOLDER = "https://preferencias.example.org"


def host_app(portal_url: str, language: str = "es") -> Flask:
    app = Flask("wordpress_host")
    snippet = SNIPPET.read_text(encoding="utf-8").replace(PLACEHOLDER, portal_url)

    @app.get("/preferencias/")
    def page() -> str:
        return (f"<!doctype html><html lang='{language}'><head>"
                "<meta charset='utf-8'>"
                "<title>Preferencias · Demo Elkartea</title></head><body>"
                "<header><h1>Demo Elkartea</h1></header><main>"
                f"{snippet}</main><footer id='after-frame'>Pie de página</footer></body></html>")

    return app


@contextmanager
def serve_host(portal_url: str, host: str = "localhost", port: int = 0,
               language: str = "es") -> Iterator[str]:
    server = make_server(host, port, host_app(portal_url, language), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
