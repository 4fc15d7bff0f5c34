"""Reading a Change the way remote adapters need it: tags to add and remove,
items by kind, notes marked for idempotent writes, multi-value edits, and
the small value helpers (timestamps, emails) every CRM answer needs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from portal.crm.base import Change, Contact, CrmAdapter, CrmUnavailable, ItemRef, Note
from portal.crm.base import tag_plan as tag_plan  # the Change's own rule, used by every adapter

# Multi-value field -> (values to add, values to drop).
OptionEdits = dict[str, tuple[list[str], set[str]]]


def parse_moment(value: Any) -> datetime | None:
    """A CRM timestamp ("2015-07-21T14:12:03-05:00", "2015-07-21 14:12:03") as
    an aware datetime, or None."""
    if not value or not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def same_email(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().casefold() == b.strip().casefold()  # type: ignore[union-attr]


def items_of(change: Change, kind: str) -> tuple[list[ItemRef], list[ItemRef]]:
    """Items of one kind to join and to leave."""
    return ([i for i in change.join if i.kind == kind], [i for i in change.leave if i.kind == kind])


AUTOMATION_NOTE = "Automations started by the preference portal"


def marked_note(change: Change, note: Note, with_title: bool = True) -> str:
    """A note's text ending with the change's marker, so a second apply can see it.
    `with_title=False` for CRMs that keep the title apart (then it is not repeated)."""
    head = f"{note.title}\n\n" if with_title and note.title else ""
    return f"{head}{note.body.rstrip()}\n\n{change.note_marker()}"


def notes_to_write(change: Change) -> list[Note]:
    """The change's notes; a change that starts automations without a note gets
    one, so its marker tells a second apply not to start them again."""
    if change.notes or not change.automations:
        return list(change.notes)
    return [Note(AUTOMATION_NOTE, ", ".join(change.automations))]


def note_written(change: Change, note: Note | None, texts: Iterable[str]) -> bool:
    """Whether a note text already carries this change's marker (and the note's
    title, if `note` is given)."""
    marker = change.note_marker()
    return any(marker in (text or "") and (note is None or note.title in text)
               for text in texts)


def option_edits(change: Change, tags_field: str = "") -> OptionEdits:
    """Per multi-value field, the options to add and drop: items of kind
    "option", plus the change's tags when a field stands in for tags."""
    edits: OptionEdits = {}
    for item in change.join:
        if item.kind == "option":
            edits.setdefault(item.ref, ([], set()))[0].append(item.value or "")
    for item in change.leave:
        if item.kind == "option":
            edits.setdefault(item.ref, ([], set()))[1].add(item.value or "")
    if tags_field and (change.add_tags or change.remove_tags):
        add, drop = edits.setdefault(tags_field, ([], set()))
        tags_added, tags_removed = tag_plan(change)
        add.extend(tags_added)
        drop.update(tags_removed)
    return edits


def merge_options(current: list[str], add: Iterable[str], drop: set[str]) -> list[str]:
    """The current options with `add` appended (once each) and `drop` removed."""
    chosen = list(current)
    chosen += [v for v in dict.fromkeys(add) if v not in chosen]
    return [v for v in chosen if v not in drop]


def split_options(value: Any) -> list[str]:
    """The options of a multi-value field that the CRM sends joined by ";"."""
    return [v for v in str(value).split(";") if v] if value else []


def note_html(text: str) -> str:
    """Plain text as HTML for a note body: escaped, line breaks kept."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", "<br>"))


def split_name(name: str, email: str = "", last_required: bool = False) -> tuple[str, str]:
    """First and last name from one display name: the first word is the given
    name, the rest the surname (Spanish and Basque names carry two). Where the
    CRM requires a last name, a one-word name goes there whole, and no name at
    all becomes the email's local part, so the record can still be created."""
    first, _, last = " ".join(name.split()).partition(" ")
    if last_required and not last:
        return "", first or email.strip().split("@", 1)[0]
    return first, last


def taken_contact(adapter: CrmAdapter, email: str, ref: str = "") -> Contact:
    """The contact that already has `email`, after the CRM refused to create
    another (preferring `ref` when the refusal named it). A search index may
    lag that refusal: then a transient error, so the write is tried again."""
    found = adapter.find_contacts(email)
    if not found:
        raise CrmUnavailable(f"{adapter.name} says {email} is taken but does not find it yet.",
                             crm=adapter.name)
    named = next((c for c in found if c.ref == ref), None)
    if named is not None or len(found) == 1:
        return named or found[0]
    return adapter.find_contact(email) or found[0]  # several: the duplicate policy decides
