"""The host site's look: CSS custom properties, a logo and an extra
stylesheet, from `[theme]` (portal.config.theme).

The properties are served as a stylesheet of their own (`/theme.css`), never
as inline styles, so the Content-Security-Policy can keep `style-src` strict."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, url_for

from portal.config import Config
from portal.config.theme import ThemeSettings, is_remote

bp = Blueprint("theme", __name__)


def asset_url(path: str) -> str:
    """A configured image: a full URL or a site path as it is, anything else
    a file in the portal's static folder."""
    if not path or is_remote(path) or path.startswith("/"):
        return path
    return url_for("static", filename=path)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def csp_sources(config: Config) -> dict[str, list[str]]:
    """Origins the theme loads from, per CSP directive."""
    look = config.theme
    sources: dict[str, list[str]] = {}
    if look.stylesheet:
        origin = _origin(look.stylesheet)
        # A WordPress theme's stylesheet brings its fonts and images from its own host.
        for directive in ("style-src", "font-src", "img-src"):
            sources.setdefault(directive, []).append(origin)
    if is_remote(look.logo):
        sources.setdefault("img-src", []).append(_origin(look.logo))
    return sources


def stylesheet_text(look: ThemeSettings) -> str:
    lines = [f"  --portal-{name}: {value};" for name, value in look.properties.items()]
    return ":root {\n" + "\n".join(lines) + "\n}\n"


@bp.get("/theme.css")
def theme_css() -> Response:
    response = Response(stylesheet_text(current_app.config["PORTAL"].theme), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["theme"] = app.config["PORTAL"].theme
    app.jinja_env.globals["asset_url"] = asset_url
