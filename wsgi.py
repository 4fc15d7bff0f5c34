"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`."""

import sys

from portal import create_app
from portal.config import ConfigError
from portal.hosting.security import MissingSecretKey

try:
    app = create_app()
except ConfigError as exc:  # refuse to start, and say exactly why
    print(f"The portal cannot start: {exc.path} has {len(exc.problems)} problem(s):",
          file=sys.stderr)
    for problem in exc.problems:
        print(f"  - {problem}", file=sys.stderr)
    raise SystemExit(1) from None
except MissingSecretKey as exc:
    print(f"The portal cannot start: {exc}", file=sys.stderr)
    raise SystemExit(1) from None
