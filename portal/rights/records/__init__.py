"""What every door may call of the contact's rights (the pages are in
portal.rights, above the profile's):

- `submit_recorded(contact, before, change, door=..., language=...)`: submit
  a change with its consent records, record it, send the receipt;
- `record_consents(contact_ref, change_id, joined=..., left=..., door=...,
  language=...)`: only the records, for a door that wrote the CRM itself;
- `split_address_change(...)` and `ask_email_change(...)`: a new address
  goes through its confirmation link, never straight to the CRM.

`init_app(app)` builds the mail outbox and the links; mail waiting for a
mail server is retried as requests come, and old records are purged."""

from __future__ import annotations

from flask import Flask, Response

from portal.rights.records.email_requests import ask_email_change, split_address_change
from portal.rights.records.parts import EXTENSION, build, rights_records
from portal.rights.records.retention import purge_when_due
from portal.rights.records.saving import record_consents, submit_recorded

__all__ = ["ask_email_change", "init_app", "record_consents", "rights_records",
           "split_address_change", "submit_recorded"]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = build(app)

    @app.after_request
    def housekeeping(response: Response) -> Response:
        rights_records(app).outbox.retry_when_due()
        purge_when_due(app)
        return response
