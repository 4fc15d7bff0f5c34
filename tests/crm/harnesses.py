"""One harness per CRM for the conformance suite (tests/crm/test_conformance.py).

A harness knows how to start its CRM's fake, build the adapter pointing at
it, seed contacts straight into the fake's own state (never through the
adapter under test), read that state back, and which fields and items to
exercise. To add a CRM: subclass `Harness`, write one function returning
it, and add that function to `HARNESSES` at the bottom.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from portal.crm import build_adapter
from portal.crm.base import CrmAdapter, FieldRef, FieldUpdate, ItemRef, Value
from tests.fakes.server import FakeServer

# The choices every harness defines on its select and multiselect fields.
CHOICES = ("news", "events", "offers")

# Field roles the suite writes: one per portal type it exercises, plus
# "other", a text field the suite never changes.
FIELD_ROLES = ("text", "tel", "country", "select", "multiselect", "checkbox", "date", "other")


class Harness:
    """What the conformance suite needs from one CRM and its fake."""

    name: ClassVar[str] = ""
    # Calls `find_contact` may make, and `fetch_profile` for the suite's
    # fields and items: the fewest the CRM's API allows.
    find_budget: ClassVar[int] = 1
    fetch_budget: ClassVar[int] = 1
    # False where the CRM has no global "unsubscribe from all" state that can
    # be set without touching items (the suite then checks that nothing changed).
    global_opt_out: ClassVar[bool] = True
    # The Retry-After the fake sends with its 429, as the adapter should report it.
    retry_after: ClassVar[float | None] = 1.0
    # What `create_contact` does when the email is taken: "existing" where the
    # CRM keeps emails unique (the contact that has it comes back), "second"
    # where it allows duplicates (a second record is made, as the CRM does).
    duplicate_create: ClassVar[str] = "existing"
    # True where the CRM requires a last name (the whole name, or the email's
    # local part, goes there).
    last_name_required: ClassVar[bool] = False
    # The field that holds the contact's own address, as the adapter names it.
    email_field: ClassVar[str] = "email"

    server: FakeServer | None = None

    def start(self, tmp_path: Path) -> None:
        """Start the fake and define the fields and items of `FIELD_ROLES` / `items()`."""
        raise NotImplementedError

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def env(self, valid: bool = True) -> dict[str, str]:
        """Environment variables holding the adapter's secrets (wrong ones if not valid)."""
        return {}

    def options(self) -> dict[str, Any]:
        """The `[crm.NAME]` block pointing at the fake."""
        raise NotImplementedError

    def adapter(self, tmp_path: Path, **options: Any) -> CrmAdapter:
        return build_adapter("test", {**self.options(), **options}, tmp_path)

    def fields(self) -> dict[str, FieldRef]:
        """FieldRef per role of FIELD_ROLES (a role may be missing if the CRM has no such type)."""
        raise NotImplementedError

    def items(self) -> list[ItemRef]:
        """At least four subscription items that a contact can join and leave."""
        raise NotImplementedError

    def automation(self) -> str | None:
        """An automation id that exists in the fake, or None if the adapter has none."""
        return None

    def missing_ref(self) -> str:
        return "999999"

    def refused_update(self) -> FieldUpdate:
        """A field update the CRM refuses with a validation error."""
        raise NotImplementedError

    # seeding and reading the fake's own state -------------------------------

    def seed_contact(self, email: str, *, modified: datetime,
                     values: Mapping[str, Value] | None = None,
                     items: tuple[ItemRef, ...] = (), tags: tuple[str, ...] = ()) -> str:
        """Create a contact in the fake with values by role; return its ref."""
        raise NotImplementedError

    def tags(self, ref: str) -> set[str]:
        raise NotImplementedError

    def notes(self, ref: str) -> list[str]:
        """Each note's full text (title and body) as the CRM keeps it."""
        raise NotImplementedError

    def automations(self, ref: str) -> list[str]:
        """Automation ids started for the contact, once per start."""
        return []

    @staticmethod
    def calls(adapter: CrmAdapter) -> int:
        http = getattr(adapter, "http", None)
        return http.calls if http is not None else 0


# --- the embedded CRM ----------------------------------------------------------


class LocalHarness(Harness):
    name = "local"
    find_budget = 0
    fetch_budget = 0
    duplicate_create = "second"

    def start(self, tmp_path: Path) -> None:
        self.path = tmp_path / "crm.sqlite3"
        crm = build_adapter("seed", {"type": "local", "path": str(self.path)}, tmp_path)
        # The adapter's own set-up helpers create the schema and catalogue.
        choices = [(c, c.title()) for c in CHOICES]
        for role in FIELD_ROLES:
            kind = "text" if role == "other" else role
            crm.define_field(role, role.title(), kind,  # type: ignore[attr-defined]
                             choices if kind in ("select", "multiselect") else ())
        for n in range(1, 5):
            crm.define_list(str(n), f"List {n}")  # type: ignore[attr-defined]

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None)

    def options(self) -> dict[str, Any]:
        return {"type": "local", "path": str(self.path)}

    def fields(self) -> dict[str, FieldRef]:
        return {role: FieldRef(role, "text" if role == "other" else role)  # type: ignore[arg-type]
                for role in FIELD_ROLES}

    def items(self) -> list[ItemRef]:
        return [ItemRef("list", "1"), ItemRef("list", "2"), ItemRef("list", "3"),
                ItemRef("tag", "member")]

    def automation(self) -> str | None:
        return "welcome"

    def refused_update(self) -> FieldUpdate:
        return FieldUpdate(FieldRef("no_such_field"), "x")

    def seed_contact(self, email: str, *, modified: datetime,
                     values: Mapping[str, Value] | None = None,
                     items: tuple[ItemRef, ...] = (), tags: tuple[str, ...] = ()) -> str:
        db = self._db()
        ref = f"c{db.execute('SELECT count(*) FROM contacts').fetchone()[0] + 1}"
        db.execute("INSERT INTO contacts (id, email, name, modified) VALUES (?, ?, '', ?)",
                   (ref, email, modified.isoformat()))
        for role, value in (values or {}).items():
            if value not in (None, "", []):
                db.execute("INSERT INTO field_values VALUES (?, ?, ?)", (ref, role, json.dumps(value)))
        for item in items:
            if item.kind == "list":
                db.execute("INSERT INTO memberships VALUES (?, ?)", (ref, item.ref))
            else:
                db.execute("INSERT INTO tags VALUES (?, ?)", (ref, item.ref))
        for tag in tags:
            db.execute("INSERT INTO tags VALUES (?, ?)", (ref, tag))
        db.close()
        return ref

    def tags(self, ref: str) -> set[str]:
        db = self._db()
        found = {row[0] for row in db.execute("SELECT tag FROM tags WHERE contact_id = ?", (ref,))}
        db.close()
        return found

    def notes(self, ref: str) -> list[str]:
        db = self._db()
        rows = db.execute("SELECT title, body FROM notes WHERE contact_id = ? ORDER BY id",
                          (ref,)).fetchall()
        db.close()
        return [f"{title}\n{body}" for title, body in rows]

    def automations(self, ref: str) -> list[str]:
        db = self._db()
        rows = db.execute("SELECT automation FROM automation_runs WHERE contact_id = ?",
                          (ref,)).fetchall()
        db.close()
        return [row[0] for row in rows]


def local() -> Harness:
    return LocalHarness()


# --- ActiveCampaign --------------------------------------------------------------


class ActiveCampaignHarness(Harness):
    name = "activecampaign"
    find_budget = 1
    fetch_budget = 2  # the contact (values and lists) + its contactTags
    global_opt_out = False

    def start(self, tmp_path: Path) -> None:
        from tests.fakes import activecampaign as fake

        self.server, self.state = fake.serve()
        st = self.state
        self.ids = {
            "country": st.add_field("Country", "text"),
            "select": st.add_field("Interest", "dropdown", CHOICES),
            "multiselect": st.add_field("Topics", "listbox", CHOICES),
            "checkbox": st.add_field("Volunteer", "checkbox", ("Yes",)),
            "date": st.add_field("Birthday", "date"),
        }
        self.lists = [st.add_list(f"List {n}") for n in range(1, 4)]
        self.welcome = st.add_automation("Welcome")

    def env(self, valid: bool = True) -> dict[str, str]:
        return {"PORTAL_CRM_TEST_API_TOKEN": self.state.token if valid else "wrong-token-5678"}

    def options(self) -> dict[str, Any]:
        return {"type": "activecampaign", "base_url": self.server.url}

    def fields(self) -> dict[str, FieldRef]:
        return {"text": FieldRef("firstName"), "tel": FieldRef("phone", "tel"),
                "other": FieldRef("lastName"),
                **{role: FieldRef(fid, role) for role, fid in self.ids.items()}}  # type: ignore[arg-type]

    def items(self) -> list[ItemRef]:
        return [*(ItemRef("list", lid) for lid in self.lists), ItemRef("tag", "member")]

    def automation(self) -> str | None:
        return self.welcome

    def refused_update(self) -> FieldUpdate:
        return FieldUpdate(FieldRef("email", "email"), "not-an-email")

    def seed_contact(self, email: str, *, modified: datetime,
                     values: Mapping[str, Value] | None = None,
                     items: tuple[ItemRef, ...] = (), tags: tuple[str, ...] = ()) -> str:
        st = self.state
        values = dict(values or {})
        standard = {key: str(values.pop(role)) for role, key in
                    (("text", "firstName"), ("tel", "phone"), ("other", "lastName"))
                    if role in values}
        ref = st.add_contact(email, modified, **standard)
        for role, value in values.items():
            if isinstance(value, list):
                value = "||" + "||".join(value) + "||"
            elif isinstance(value, bool):
                value = "||Yes||" if value else ""
            st.set_value(ref, self.ids[role], str(value or ""))
        for item in items:
            if item.kind == "list":
                st.subscribe(ref, item.ref, 1)
            else:
                st.tag_contact(ref, item.ref)
        for tag in tags:
            st.tag_contact(ref, tag)
        return ref

    def tags(self, ref: str) -> set[str]:
        return self.state.tags_of(ref)

    def notes(self, ref: str) -> list[str]:
        return self.state.notes_of(ref)

    def automations(self, ref: str) -> list[str]:
        return self.state.automations_of(ref)


def activecampaign() -> Harness:
    return ActiveCampaignHarness()


# --- the OAuth2 CRMs (tests/crm/oauth_harnesses.py) -----------------------------


def hubspot() -> Harness:
    from tests.crm.oauth_harnesses import HubSpotHarness

    return HubSpotHarness()


def salesforce() -> Harness:
    from tests.crm.oauth_harnesses import SalesforceHarness

    return SalesforceHarness()


def zoho() -> Harness:
    from tests.crm.oauth_harnesses import ZohoHarness

    return ZohoHarness()


# --- Mautic --------------------------------------------------------------------


class MauticHarness(Harness):
    name = "mautic"
    find_budget = 1
    fetch_budget = 2  # the contact (values, tags, Do Not Contact) + its segments
    retry_after = 60.0  # the fake's X-RateLimit-Reset is a minute ahead

    ROLES: ClassVar[dict[str, tuple[str, str]]] = {
        "text": ("firstname", "text"), "tel": ("phone", "tel"), "country": ("country", "country"),
        "other": ("lastname", "text"), "select": ("interest", "select"),
        "multiselect": ("topics", "multiselect"), "checkbox": ("volunteer", "boolean"),
        "date": ("birthday", "date"),
    }

    def __init__(self, auth: str = "basic") -> None:
        self.auth = auth

    def start(self, tmp_path: Path) -> None:
        from tests.fakes import mautic as fake

        self.server, self.state = fake.serve()
        st = self.state
        st.add_field("interest", "Interest", "select", CHOICES)
        st.add_field("topics", "Topics", "multiselect", CHOICES)
        st.add_field("volunteer", "Volunteer", "boolean")
        st.add_field("birthday", "Birthday", "date")
        self.segments = [str(st.add_segment(f"Segment {n}")) for n in range(1, 4)]
        self.campaign = str(st.add_campaign("Welcome"))

    def env(self, valid: bool = True) -> dict[str, str]:
        if self.auth == "oauth2":
            return {"PORTAL_CRM_TEST_CLIENT_ID": self.state.client_id,
                    "PORTAL_CRM_TEST_CLIENT_SECRET":
                        self.state.client_secret if valid else "wrong-secret-5678"}
        return {"PORTAL_CRM_TEST_PASSWORD": self.state.password if valid else "wrong-pass-5678"}

    def options(self) -> dict[str, Any]:
        if self.auth == "oauth2":
            return {"type": "mautic", "base_url": self.server.url, "auth": "oauth2"}
        return {"type": "mautic", "base_url": self.server.url, "username": self.state.username}

    def fields(self) -> dict[str, FieldRef]:
        return {role: FieldRef(alias, "checkbox" if kind == "boolean" else kind)  # type: ignore[arg-type]
                for role, (alias, kind) in self.ROLES.items()}

    def items(self) -> list[ItemRef]:
        return [*(ItemRef("segment", s) for s in self.segments), ItemRef("tag", "member")]

    def automation(self) -> str | None:
        return self.campaign

    def refused_update(self) -> FieldUpdate:
        return FieldUpdate(FieldRef("email", "email"), "not-an-email")

    def seed_contact(self, email: str, *, modified: datetime,
                     values: Mapping[str, Value] | None = None,
                     items: tuple[ItemRef, ...] = (), tags: tuple[str, ...] = ()) -> str:
        st = self.state
        cid = st.add_contact(email, modified)
        for role, value in (values or {}).items():
            if isinstance(value, list):
                value = "|".join(value)
            elif isinstance(value, bool):
                value = int(value)
            st.contacts[cid]["values"][self.ROLES[role][0]] = value
        for item in items:
            if item.kind == "segment":
                st.contacts[cid]["segments"].add(int(item.ref))
            else:
                st.tag(cid, item.ref)
        for tag in tags:
            st.tag(cid, tag)
        return str(cid)

    def tags(self, ref: str) -> set[str]:
        return set(self.state.contacts[int(ref)]["tags"])

    def notes(self, ref: str) -> list[str]:
        return self.state.notes_of(int(ref))

    def automations(self, ref: str) -> list[str]:
        return [str(camp) for camp, cid in self.state.campaign_members if cid == int(ref)]


def mautic() -> Harness:
    return MauticHarness()


def mautic_oauth2() -> Harness:
    return MauticHarness(auth="oauth2")


# --- Clientify -------------------------------------------------------------------


class ClientifyHarness(Harness):
    name = "clientify"
    duplicate_create = "second"  # Clientify does not keep emails unique
    find_budget = 1
    fetch_budget = 1  # the contact carries its custom fields and tags

    CUSTOM: ClassVar[dict[str, tuple[str, str]]] = {
        "tel": ("Mobile", "text"), "country": ("Country", "text"),
        "select": ("Interest", "select"), "multiselect": ("Topics", "multiselect"),
        "checkbox": ("Volunteer", "boolean"), "date": ("Birthday", "date"),
    }

    def start(self, tmp_path: Path) -> None:
        from tests.fakes import clientify as fake

        self.server, self.state = fake.serve()
        for name, kind in self.CUSTOM.values():
            self.state.add_custom_field(name, kind, CHOICES if "select" in kind else ())
        self.welcome = str(self.state.add_automation("Welcome"))

    def env(self, valid: bool = True) -> dict[str, str]:
        return {"PORTAL_CRM_TEST_API_TOKEN": self.state.token if valid else "wrong-key-5678"}

    def options(self) -> dict[str, Any]:
        return {"type": "clientify", "base_url": self.server.url}

    def fields(self) -> dict[str, FieldRef]:
        return {"text": FieldRef("first_name"), "other": FieldRef("last_name"),
                **{role: FieldRef(name, role) for role, (name, _) in self.CUSTOM.items()}}  # type: ignore[arg-type]

    def items(self) -> list[ItemRef]:
        return [ItemRef("tag", t) for t in ("news-weekly", "news-events", "news-offers", "member")]

    def automation(self) -> str | None:
        return self.welcome

    def refused_update(self) -> FieldUpdate:
        return FieldUpdate(FieldRef("status"), "not-a-status")

    def seed_contact(self, email: str, *, modified: datetime,
                     values: Mapping[str, Value] | None = None,
                     items: tuple[ItemRef, ...] = (), tags: tuple[str, ...] = ()) -> str:
        st = self.state
        values = dict(values or {})
        standard = {key: values.pop(role) for role, key in (("text", "first_name"),
                                                            ("other", "last_name")) if role in values}
        cid = st.add_contact(email, modified, **standard)
        for role, value in values.items():
            if isinstance(value, list):
                value = ",".join(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            st.set_custom(cid, self.CUSTOM[role][0], "--" if value in (None, "") else str(value))
        for tag in (*(i.ref for i in items), *tags):
            st.tag(cid, tag)
        return str(cid)

    def tags(self, ref: str) -> set[str]:
        return set(self.state.contacts[int(ref)]["tags"])

    def notes(self, ref: str) -> list[str]:
        return self.state.notes_of(int(ref))

    def automations(self, ref: str) -> list[str]:
        return [str(a) for a, c in self.state.automation_runs if c == int(ref)]


def clientify() -> Harness:
    return ClientifyHarness()


# --- the registry: one line per CRM ---------------------------------------------

HARNESSES: dict[str, Callable[[], Harness]] = {
    "local": local,
    "activecampaign": activecampaign,
    "hubspot": hubspot,
    "salesforce": salesforce,
    "zoho": zoho,
    "mautic": mautic,
    "mautic-oauth2": mautic_oauth2,
    "clientify": clientify,
}
