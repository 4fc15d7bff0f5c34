"""Optionally hold a fake's requests to the vendor's own OpenAPI files.

HubSpot (HubSpot/HubSpot-public-api-spec-collection) and Zoho (zoho/crm-oas)
publish their APIs as OpenAPI files, but the project cannot ship them:
HubSpot's are proprietary and Zoho's carry no licence. The fakes encode the
documented rules the adapters meet by hand, each citing its schema. A
developer with local copies of those repositories sets VENDOR_OPENAPI_DIR to
a folder holding `hubspot/` and `zoho/` (the files named below); then every
request whose body or parameters the vendor's specification does not allow
is also answered 400 naming the rule (a missing required property, an
unknown value, a text longer than the schema's maxLength). Requests to paths
the files do not describe pass unchecked.
"""

from __future__ import annotations

import json
import os
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

FOLDER_ENV = "VENDOR_OPENAPI_DIR"

# Which published file describes which part of each API.
HUBSPOT = ("hubspot/contacts-v3.json", "hubspot/lists-v3.json", "hubspot/notes-v3.json",
           "hubspot/subscriptions-v4.json")
ZOHO = ("zoho/tags.json",)


def spec_files(names: tuple[str, ...]) -> list[Path]:
    """The files named, where VENDOR_OPENAPI_DIR holds them all; else none."""
    folder = os.environ.get(FOLDER_ENV)
    found = [Path(folder) / name for name in names] if folder else []
    return found if found and all(path.is_file() for path in found) else []


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
