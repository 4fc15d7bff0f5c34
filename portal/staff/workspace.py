"""The workspace's shared state, built once per app, and the draft of the
staff member at hand."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from portal.auth.links import SignInLinks
from portal.config import Config
from portal.staff.document import Document, document_of
from portal.staff.published import PublishedLayout
from portal.staff.sessions import StaffMember, StaffSessions
from portal.staff.store import Draft, LayoutStore

EXTENSION = "portal.staff"


@dataclass
class Workspace:
    store: LayoutStore
    links: SignInLinks  # purpose "staff": unknown to the contacts' door
    sessions: StaffSessions
    published: PublishedLayout

    @property
    def file_config(self) -> Config:
        """The configuration file's settings (infrastructure, languages, the CRM)."""
        return self.published.base


def workspace() -> Workspace:
    found: Workspace = current_app.extensions[EXTENSION]
    return found


def newest_document() -> tuple[int, Document]:
    """The newest published version's id and document."""
    space = workspace()
    newest = space.store.newest_id()
    version = space.store.version(newest) if newest is not None else None
    if version is None:  # nothing published yet: the file's layout
        return 0, document_of(space.file_config)
    return version.id, version.document


def draft_of(member: StaffMember) -> Draft:
    """The member's draft; a new one from the newest version when they have none."""
    space = workspace()
    draft = space.store.draft(member.email)
    if draft is not None:
        return draft
    base, document = newest_document()
    space.store.save_draft(member.email, base, document)
    found = space.store.draft(member.email)
    assert found is not None
    return found
