"""Reading a Change the way remote adapters need it: tags to add and remove,
items by kind, notes marked for idempotent writes, multi-value edits, the
values a record-style CRM writes and the items its fields offer, and the
small value helpers (timestamps, emails, names, value spellings) every CRM
answer needs."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from portal.crm.base import (
    Change,
    Contact,
    CrmAdapter,
    CrmError,
    CrmFieldInfo,
    CrmItemInfo,
    CrmNotFound,
    CrmUnavailable,
    CrmUnsupported,
    FieldRef,
    ItemRef,
    Note,
    Profile,
    Value,
)
from portal.crm.base import tag_plan as tag_plan
from portal.crm.calls import is_first_attempt  # the Change's own rule, used by every adapter

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


def full_name(*parts: Any) -> str:
    """A display name from its parts (first, last), the missing ones left out."""
    return " ".join(str(p) for p in parts if p)


def refuse_tags(adapter: CrmAdapter, change: Change, how: str) -> None:
    """Refuse, before anything is written, a change that adds or removes tags
    where the CRM has none and no field stands in for them; `how` says which
    setting would give them."""
    if (change.add_tags or change.remove_tags) and not adapter.supports_tags:
        raise CrmUnsupported(f"{how} in [crm.{adapter.name}].", crm=adapter.name)


def items_of(change: Change, kind: str) -> tuple[list[ItemRef], list[ItemRef]]:
    """Items of one kind to join and to leave."""
    return ([i for i in change.join if i.kind == kind], [i for i in change.leave if i.kind == kind])


def items_in(items: Iterable[ItemRef], refs: Mapping[str, Collection[Any]]) -> frozenset[ItemRef]:
    """The items the contact is in: those whose ref is among what the CRM
    gives for their kind (`{"list": list ids, "tag": tag names}`)."""
    return frozenset(i for i in items if i.ref in refs.get(i.kind, ()))


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


def one_note(change: Change) -> Change:
    """`change` with its notes (the audit note, the consent record, comments)
    made one, each after the first under its own title, for CRMs that write
    a note a call: one call, and one marker that says it was written whole."""
    marker = change.note_marker()
    if not change.notes or (len(change.notes) == 1 and marker not in change.notes[0].body):
        return change
    first, *rest = change.notes

    def body(note: Note) -> str:  # the marker ends the note once, where it is written
        return note.body.replace(marker, "").strip()

    text = "\n\n".join([body(first), *(f"{n.title}\n\n{body(n)}" for n in rest)])
    return replace(change, notes=(Note(first.title, text),))


def note_written(change: Change, note: Note | None, texts: Iterable[str]) -> bool:
    """Whether a note text already carries this change's marker (and the note's
    title, if `note` is given)."""
    marker = change.note_marker()
    return any(marker in (text or "") and (note is None or note.title in text)
               for text in texts)


def unwritten_notes(change: Change, read: Callable[[], Iterable[str]]) -> tuple[Note, ...]:
    """The change's notes, or none when an earlier attempt wrote them: then a
    note text `read` finds carries the change's marker. It reads only when
    there are notes and the change may have reached the CRM before."""
    if not change.notes or (not is_first_attempt() and note_written(change, None, read())):
        return ()
    return change.notes


def write_notes(change: Change, read: Callable[[], Iterable[str]], post: Callable[[Note], None],
                start: Callable[[str], None]) -> None:
    """Start the change's automations and write its notes, skipping what an
    earlier attempt did: the note texts `read` finds carry the change's marker
    (read only when an earlier attempt may have sent something). Automations
    go first: if the note is missing, they were not started either."""
    notes = notes_to_write(change)
    if not notes:
        return
    texts = [] if is_first_attempt() else list(read())
    if not note_written(change, None, texts):
        for automation in change.automations:
            start(automation)
    for note in notes:
        if not note_written(change, note, texts):
            post(note)


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


def merged_options(edits: OptionEdits, current: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each edited multi-value field's options once the edits are made to its
    `current` value."""
    return {name: merge_options(split_options(current.get(name)), add, drop)
            for name, (add, drop) in edits.items()}


def split_options(value: Any) -> list[str]:
    """The options of a multi-value field as the CRM sends them: an array, or
    text joined by ";"."""
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    return [v for v in str(value).split(";") if v] if value else []


# --- record-style CRMs: a contact is one row of columns ------------------------


@dataclass
class Plan:
    """One change on its way to a record-style CRM: the columns it sets, and
    the multi-value options it edits (merged once the current values are read)."""

    change: Change
    values: dict[str, Any]
    edits: OptionEdits

    @property
    def ref(self) -> str:
        return self.change.contact_ref

    def merge(self, current: Mapping[str, Any], encode: Callable[[list[str]], Any]) -> None:
        """Set each edited multi-value column to its current options, edited."""
        self.values.update({name: encode(chosen)
                            for name, chosen in merged_options(self.edits, current).items()})


def plans(changes: Iterable[Change], plan: Callable[[Change], Plan]
          ) -> tuple[list[Plan], dict[str, CrmError | None]]:
    """Each change's plan, and the changes `plan` refused before any write,
    by change id, with their error."""
    found: list[Plan] = []
    refused: dict[str, CrmError | None] = {}
    for change in changes:
        try:
            found.append(plan(change))
        except CrmError as exc:
            if exc.transient:
                raise
            refused[change.id] = exc
    return found, refused


def moves(plans: Iterable[Plan], kind: str) -> dict[str, tuple[list[str], list[str]]]:
    """Per item of `kind` (a list, a campaign), the contacts the plans add to
    it and remove from it: one call per item for all of them."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    for plan in plans:
        for side, items in enumerate(items_of(plan.change, kind)):
            for item in items:
                found.setdefault(item.ref, ([], []))[side].append(plan.ref)
    return found



def record_values(change: Change, encode: Callable[[str, Value], Any],
                  opt_out: str) -> dict[str, Any]:
    """The columns a change sets: each field as `encode(type, value)` spells
    it, the boolean fields that stand for items (kind "field") set or
    cleared, and the `opt_out` column when the change says."""
    values = {u.field.crm_field: encode(u.field.type, u.value) for u in change.fields}
    join, leave = items_of(change, "field")
    values.update({item.ref: True for item in join})
    values.update({item.ref: False for item in leave})
    if change.unsubscribe_all is not None:
        values[opt_out] = change.unsubscribe_all
    return values


def record_columns(names: Iterable[str], items: Iterable[ItemRef], *always: str) -> list[str]:
    """The columns to read from a contact's record, each once: `always` (its
    identity, its opt-out), the fields `names` and those the items stand for."""
    stand_for = (i.ref for i in items if i.kind in ("field", "option"))
    return list(dict.fromkeys([*always, *names, *stand_for]))


def record_profile(contact: Contact, record: Mapping[str, Any], fields: Iterable[FieldRef],
                   items: Iterable[ItemRef], decode: Callable[[str, Any], Value], opt_out: str,
                   elsewhere: Iterable[ItemRef] = ()) -> Profile:
    """A profile read from a contact's record: each field as `decode(type, raw)`
    reads it, the items the record's columns stand for or that were found
    `elsewhere`, and the global opt-out from its `opt_out` column."""
    return Profile(contact=contact,
                   values={f.crm_field: decode(f.type, record.get(f.crm_field)) for f in fields},
                   subscribed=frozenset({i for i in items if record_has(record, i)} | set(elsewhere)),
                   opted_out_all=decode("checkbox", record.get(opt_out)) is True)


def record_profiles(adapter: CrmAdapter, contacts: Sequence[Contact],
                    records: Mapping[str, Mapping[str, Any]],
                    profile: Callable[[Mapping[str, Any]], Profile]) -> dict[str, Profile | CrmError]:
    """Each contact's profile from the records a batched read found, by ref;
    a contact whose record did not come back is not found."""
    return {c.ref: profile(records[c.ref]) if c.ref in records else CrmNotFound(
        f"{adapter.name}: no record {c.ref} in the CRM.", crm=adapter.name) for c in contacts}


def record_has(record: Mapping[str, Any], item: ItemRef) -> bool:
    """Whether a record's own columns put the contact in `item`: a boolean
    field that is true, or a multi-value field that holds the option."""
    if item.kind == "field":
        return record.get(item.ref) is True
    return item.kind == "option" and item.value in split_options(record.get(item.ref))


def field_items(fields: Iterable[CrmFieldInfo], kinds: Iterable[str],
                opt_out: str = "") -> list[CrmItemInfo]:
    """The subscription items a CRM's writable fields offer, where the adapter
    has that kind: a boolean field is one item ("field"), a multi-value field
    one per option ("option"). The global opt-out field is not an item."""
    items: list[CrmItemInfo] = []
    for info in fields:
        if info.read_only or info.key == opt_out:
            continue
        if info.portal_type == "checkbox" and "field" in kinds:
            items.append(CrmItemInfo(ItemRef("field", info.key), info.label))
        elif info.portal_type == "multiselect" and "option" in kinds:
            items += [CrmItemInfo(ItemRef("option", info.key, value), f"{info.label}: {label}")
                      for value, label in info.choices]
    return items


# --- how CRMs spell the portal's values -------------------------------------------


@dataclass(frozen=True)
class TextValues:
    """How a CRM that keeps every value as text spells the portal's values: a
    multi-select's options joined by `separator`, a checkbox as `yes` or
    `no`, no value as `empty`; `ticked` are the texts read as a ticked box."""

    separator: str
    yes: str | int = "true"
    no: str | int = "false"
    empty: str = ""
    ticked: frozenset[str] = frozenset({"true", "1", "yes"})

    def encode(self, value: Value) -> str | int:
        if value is None or value == "" or value == []:
            return self.empty
        if isinstance(value, bool):
            return self.yes if value else self.no
        if isinstance(value, list):
            return self.separator.join(value)
        return value

    def decode(self, kind: str, raw: Any) -> Value:
        if kind == "checkbox":
            return str(raw).strip().lower() in self.ticked
        if raw in (None, "", self.empty) or raw == []:
            return None
        if kind == "multiselect":
            values = raw if isinstance(raw, list) else str(raw).split(self.separator)
            return [str(v).strip() for v in values if str(v).strip()] or None
        return str(raw)[:10] if kind == "date" else str(raw)


@dataclass(frozen=True)
class TypedValues:
    """How a CRM that answers in JSON types (booleans, arrays) spells the
    portal's values: a checkbox is never null, an empty text is null, a
    multi-select an array or, with `separator`, joined text (null if empty)."""

    separator: str = ""

    def encode(self, kind: str, value: Value) -> Any:
        if kind == "checkbox" and value is None:
            return False
        if kind == "multiselect" and value is None:
            return None if self.separator else []
        if isinstance(value, list):
            return (self.separator.join(value) or None) if self.separator else value
        return None if value == "" else value

    def decode(self, kind: str, raw: Any) -> Value:
        if raw is None or raw == "" or raw == []:
            return None
        if kind == "checkbox":
            return bool(raw)
        if kind == "multiselect":
            return split_options(raw)
        return raw if isinstance(raw, bool) else str(raw)


def note_html(text: str) -> str:
    """Plain text as HTML for a note body: escaped, line breaks kept."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", "<br>"))


def marked_html(change: Change, note: Note) -> str:
    """A note as HTML for CRMs whose notes are rich text: the change's marker
    first (a preview, the part some CRMs let a query see, then holds it), the
    title, the body."""
    return (f"<p>{change.note_marker()}</p><p><strong>{note_html(note.title)}</strong></p>"
            f"<p>{note_html(note.body)}</p>")


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
