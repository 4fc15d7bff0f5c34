"""Configuration files for tests: the demo configuration with changes."""

from __future__ import annotations

from pathlib import Path

from portal.shipped import DEFAULT_CONFIG


def demo_config(folder: Path, *, replace: dict[str, str] | None = None, append: str = "",
                smtp_port: int | None = None) -> Path:
    """Write a copy of config/demo.toml with `replace` applied (each old text
    must be there) and `append` added; with `smtp_port`, mail goes to that
    loopback SMTP server and to files."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    changes = dict(replace or {})
    if smtp_port is not None:  # unless the caller sets the mail backends itself
        changes.setdefault(
            'backends = ["console", "file"]',
            f'backends = ["smtp", "file"]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}')
    for old, new in changes.items():
        assert old in text, f"{old!r} is not in the demo configuration"
        text = text.replace(old, new)
    path = folder / "portal.toml"
    path.write_text(text + "\n" + append, encoding="utf-8")
    return path


DEMO_LINE = "demo = true                           # makes and keeps its own signing key in instance/"
# A signing key of the strength the README asks for, for configurations outside the demo.
STRONG_KEY = "6Gm0vX2-pQe8sWzJtR4yLkB1nHc7dUf9aVo3iE5rTxYqNwZgMhKjPlSbOuCvDyFe"


def served_at(public_url: str) -> dict[str, str]:
    """`replace` for demo_config: the demo's contents served for real at `public_url`
    (needs PORTAL_SECRET_KEY, which the make_app fixture sets)."""
    return {DEMO_LINE: f'demo = false\npublic_url = "{public_url}"'}

# The demo allows 50 sign-in links an hour per address; the tests of the limit use the default, 5.
FIVE_LINKS_AN_HOUR = {
    "link_requests_per_email_per_hour = 50    # try the demo freely; 5 is the default":
    "link_requests_per_email_per_hour = 5"}
