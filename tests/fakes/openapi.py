"""Hold a fake's requests to the vendor's own OpenAPI file.

HubSpot (HubSpot/HubSpot-public-api-spec-collection) and Zoho (zoho/crm-oas)
publish their APIs as OpenAPI files. Kept as data under the project's shared
reference folder (`reference/openapi/<vendor>/`), they let a fake refuse,
with a 400 naming the rule, every request whose body or parameters the
vendor's specification does not allow: a missing required property, an
unknown value, a tag name longer than the schema's maxLength. Requests to
paths the files do not describe pass unchecked.

Where the files are not on this machine the fakes run as before and
`spec_files` says so, so the tests that need them can skip.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.templating.paths.exceptions import PathNotFound, PathsNotFound
from openapi_core.validation.request.validators import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
)

ROOT = Path(__file__).resolve().parents[2]
# The steering folder sits beside the project's clone (and beside each work tree).
FOLDERS = (ROOT.parent / "shared" / "reference" / "openapi",
           ROOT / "shared" / "reference" / "openapi")

# Which published file describes which part of each API.
HUBSPOT = ("hubspot/contacts-v3.json", "hubspot/lists-v3.json", "hubspot/notes-v3.json",
           "hubspot/subscriptions-v4.json")
ZOHO = ("zoho/tags.json",)


def spec_files(names: tuple[str, ...]) -> list[Path]:
    """The files named, where this machine has them all; else none."""
    for folder in FOLDERS:
        found = [folder / name for name in names]
        if all(path.is_file() for path in found):
            return found
    return []


# Zoho's files point at each other by their published address: read them here.
PUBLISHED = re.compile(r"https://raw\.githubusercontent\.com/[^\"#]*/v8\.0/")


@cache
def _openapi(path: Path) -> OpenAPI:
    text = PUBLISHED.sub(path.parent.as_uri() + "/", path.read_text(encoding="utf-8"))
    raw: dict[str, Any] = json.loads(text)
    raw["servers"] = [{"url": "/"}]  # the fake answers on loopback, not the vendor's host
    return OpenAPI.from_dict(raw, base_uri=path.as_uri())


def _problems(spec: OpenAPI, wrapped: WerkzeugOpenAPIRequest, answer_types: bool) -> list[str]:
    found = []
    for validator in (V30RequestBodyValidator, V30RequestParametersValidator):
        try:
            validator(spec.spec).validate(wrapped)
        except (PathNotFound, PathsNotFound):
            return []
        except Exception as exc:  # openapi-core's validation errors
            cause = exc.__cause__ or exc
            causes = getattr(cause, "schema_errors", None) or [cause]
            found += [f"{'/'.join(map(str, getattr(c, 'path', ()))) or 'body'}: "
                      f"{getattr(c, 'message', c)}" for c in causes
                      if not (answer_types and _set_by_the_crm(c))]
    return found


def _set_by_the_crm(error: Any) -> bool:
    """A nested object's required property that only the CRM fills in: Zoho's
    files describe a tag sent in a request with its answer's type (id,
    color_code, created_time... all required)."""
    return getattr(error, "validator", "") == "required" and bool(getattr(error, "path", ()))


def strict(app: Flask, names: tuple[str, ...], answer_types: bool = False) -> Flask:
    """Answer 400 to every request the vendor's OpenAPI files refuse.
    `answer_types`: the files reuse answer types in requests, so a nested
    object's required properties are not asked of a request."""
    specs = spec_files(names)

    @app.before_request
    def follow_the_specification() -> Response | None:
        wrapped = WerkzeugOpenAPIRequest(request)
        for path in specs:
            problems = _problems(_openapi(path), wrapped, answer_types)
            if problems:
                answer = jsonify({"status": "error", "category": "VALIDATION_ERROR",
                                  "message": "; ".join(problems)[:2000],
                                  "specification": path.name})
                answer.status_code = 400
                return answer
        return None

    app.config["OPENAPI_FILES"] = [str(p) for p in specs]
    return app
