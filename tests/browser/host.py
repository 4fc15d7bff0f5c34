"""A page playing the WordPress site: it holds the portal with one of the
project's own snippets, either the block HTML (wordpress/preference-portal-block.html)
as an editor would paste it, or the [preference_portal] shortcode's output,
run by PHP from the plugin in wordpress/preference-portal/."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, request
from werkzeug.serving import make_server

from portal.shipped import SOURCE_TREE as ROOT

SNIPPET = ROOT / "wordpress" / "preference-portal-block.html"
HARNESS = ROOT / "tests" / "wordpress" / "shortcode_harness.php"
LOCALES = {"es": "es_ES", "eu": "eu", "en": "en_US"}
PLACEHOLDER = "https://preferencias.example.org"


def shortcode_output(php: str, portal_url: str, query: str, language: str) -> str:
    done = subprocess.run([php, str(HARNESS), portal_url, query, LOCALES[language]],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


def host_app(portal_url: str, language: str = "es", php: str = "") -> Flask:
    """With `php`, the page holds the shortcode's output; else the block snippet."""
    app = Flask("wordpress_host")
    block = SNIPPET.read_text(encoding="utf-8").replace(PLACEHOLDER, portal_url)

    @app.get("/preferencias/")
    def page() -> str:
        snippet = (shortcode_output(php, portal_url, request.query_string.decode(), language)
                   if php else block)
        return (f"<!doctype html><html lang='{language}'><head>"
                "<meta charset='utf-8'>"
                "<title>Preferencias · Demo Elkartea</title></head><body>"
                "<header><h1>Demo Elkartea</h1></header><main>"
                f"{snippet}</main><footer id='after-frame'>Pie de página</footer></body></html>")

    return app


@contextmanager
def serve_host(portal_url: str, host: str = "localhost", port: int = 0,
               language: str = "es", php: str = "") -> Iterator[str]:
    server = make_server(host, port, host_app(portal_url, language, php), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
