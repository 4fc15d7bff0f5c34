"""The adapter contract every CRM speaks, and the plain values that cross it.

Adapters know nothing of the portal's configuration keys or languages: they
read and write CRM fields (`FieldRef`) and subscription items (`ItemRef`)
named the way that CRM names them. The portal turns marketing's
configuration into those references.

Values crossing the contract are JSON-ready: text as `str`, a multi-select
as `list[str]`, a checkbox as `bool`, a date as an ISO `YYYY-MM-DD` string
and an empty field as `None`.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

# How callers say what their CRM calls may wait for: part of the contract.
from portal.crm.calls import BACKGROUND as BACKGROUND
from portal.crm.calls import PAGE as PAGE
from portal.crm.calls import SAVE as SAVE
from portal.crm.calls import CallPolicy as CallPolicy
from portal.crm.calls import calls_together as calls_together
from portal.crm.calls import calls_under as calls_under
from portal.crm.calls import first_attempt as first_attempt
from portal.crm.calls import new_unit_of_work as new_unit_of_work

if TYPE_CHECKING:
    from portal.crm.batching import ReadBatcher

_BATCHERS_LOCK = threading.Lock()

# A portal field type ("text", "date", "multiselect", ...): the table of
# types is portal.fields; an adapter only encodes and decodes their values.
FieldType = str

Value = str | bool | list[str] | None

DuplicatePolicy = Literal["most_recent", "refuse"]


# --- errors -----------------------------------------------------------------


class CrmError(Exception):
    """Anything a CRM call can end in. `transient` faults are worth retrying."""

    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, crm: str = "") -> None:
        super().__init__(message)
        self.crm = crm


class CrmConfigError(CrmError):
    """The portal is set up wrong for this CRM (missing secret, bad option)."""


class CrmAuthError(CrmError):
    """Bad credentials or missing permission; the message names the setting to fix."""


class CrmNotFound(CrmError):
    """The record asked for does not exist (any more)."""


class CrmValidationError(CrmError):
    """The CRM refused the data; `reason` is the CRM's own explanation."""

    def __init__(self, message: str, *, crm: str = "", reason: str = "", field: str = "") -> None:
        super().__init__(message, crm=crm)
        self.reason = reason or message
        self.field = field


class CrmUnsupported(CrmError):
    """This CRM has no such thing (for example tags in HubSpot)."""


class AmbiguousContact(CrmError):
    """Several contacts share the email and the policy is to refuse."""


class CrmRateLimited(CrmError):
    """The CRM asked us to slow down; `retry_after` is its wait in seconds, if it said."""

    transient = True

    def __init__(self, message: str, *, crm: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, crm=crm)
        self.retry_after = retry_after


class CrmBudgetSpent(CrmRateLimited):
    """The portal's own request budget for the CRM is spent: this call was not
    sent, and `nothing_sent` says whether no call of its unit of work was."""

    def __init__(self, message: str, *, crm: str = "", retry_after: float | None = None,
                 nothing_sent: bool = False) -> None:
        super().__init__(message, crm=crm, retry_after=retry_after)
        self.nothing_sent = nothing_sent


class CrmUnavailable(CrmError):
    """Timeouts, resets and 5xx: the CRM may answer later."""

    transient = True


# --- references and values --------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    """One CRM field as the adapter addresses it (AC field id, HubSpot property, ...)."""

    crm_field: str
    type: FieldType = "text"


@dataclass(frozen=True)
class ItemRef:
    """One subscription item in the CRM.

    `kind` is what the CRM calls it ("list", "tag", "segment", "subscription_type",
    "campaign", "field" for a boolean field, "option" for one value of a
    multi-value field); `ref` its id or name; `value` the option for "option".
    """

    kind: str
    ref: str
    value: str | None = None


@dataclass(frozen=True)
class Contact:
    ref: str
    email: str
    modified: datetime | None = None
    name: str = ""


@dataclass(frozen=True)
class Note:
    title: str
    body: str


@dataclass
class Profile:
    """What the portal shows: values by CRM field and the items the contact is in."""

    contact: Contact
    values: dict[str, Value] = field(default_factory=dict)
    subscribed: frozenset[ItemRef] = frozenset()
    opted_out_all: bool = False


# The lawful bases of the GDPR (article 6.1) a subscription item can rest on,
# as marketing sets them per item; an adapter names them the CRM's way.
LEGAL_BASES = ("consent", "contract", "legal_obligation", "vital_interests", "public_task",
               "legitimate_interest")


@dataclass(frozen=True)
class Consent:
    """Why a contact is in (or left) an item, for CRMs that keep it with the
    subscription itself (HubSpot's legal basis and explanation). Every CRM
    also gets the same record in a note."""

    item: ItemRef
    legal_basis: str  # one of LEGAL_BASES
    explanation: str


@dataclass(frozen=True)
class FieldUpdate:
    field: FieldRef
    value: Value


@dataclass(frozen=True)
class Change:
    """One save by one contact: what the queue carries and adapters apply.

    Applying the same Change twice must leave the CRM as applying it once:
    joins and leaves are set operations, fields are overwritten, and notes
    carry `id` so an adapter can skip a note it already wrote.
    """

    contact_ref: str
    email: str
    fields: tuple[FieldUpdate, ...] = ()
    join: tuple[ItemRef, ...] = ()
    leave: tuple[ItemRef, ...] = ()
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    automations: tuple[str, ...] = ()
    # True: set the CRM's own opt-out of all email, where it has one that changes
    # no item (the items to leave are in `leave`); False: lift it; None: leave it.
    unsubscribe_all: bool | None = None
    # The contact's name in the main CRM, for a mirror that must create them.
    name: str = ""
    # The consent records of the items joined and left, for CRMs that keep them.
    consents: tuple[Consent, ...] = ()
    # The contact asked to be forgotten: an adapter that can delete contacts
    # itself (the embedded CRM) deletes them once the rest is written; the
    # others leave it to the organisation, which the tags, automations and
    # note of the change tell.
    erase: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    made_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def is_empty(self) -> bool:
        return not (
            self.fields or self.join or self.leave or self.add_tags or self.remove_tags
            or self.notes or self.automations or self.unsubscribe_all is not None or self.erase
        )

    def note_marker(self) -> str:
        """Text that identifies this change's notes, for idempotent note writes."""
        return f"[portal change {self.id}]"

    def consent_for(self, item: ItemRef) -> Consent | None:
        """The consent record that travels with this change for `item`, if any."""
        return next((c for c in self.consents if c.item == item), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Change:
        raw = json.loads(text)
        return cls(
            contact_ref=raw["contact_ref"],
            email=raw["email"],
            fields=tuple(
                FieldUpdate(FieldRef(**f["field"]), f["value"]) for f in raw.get("fields", ())
            ),
            join=tuple(ItemRef(**i) for i in raw.get("join", ())),
            leave=tuple(ItemRef(**i) for i in raw.get("leave", ())),
            add_tags=tuple(raw.get("add_tags", ())),
            remove_tags=tuple(raw.get("remove_tags", ())),
            notes=tuple(Note(**n) for n in raw.get("notes", ())),
            automations=tuple(raw.get("automations", ())),
            unsubscribe_all=raw.get("unsubscribe_all"),
            name=raw.get("name", ""),
            consents=tuple(Consent(ItemRef(**c["item"]), c["legal_basis"], c["explanation"])
                           for c in raw.get("consents", ())),
            erase=raw.get("erase", False),
            id=raw["id"],
            made_at=raw["made_at"],
        )


def tag_plan(change: Change) -> tuple[list[str], list[str]]:
    """Tags to add and to remove: `add_tags`/`remove_tags` plus items of kind "tag".
    A tag both added and removed ends up added (the later intent wins)."""
    add = [*change.add_tags, *(i.ref for i in change.join if i.kind == "tag")]
    remove = [*change.remove_tags, *(i.ref for i in change.leave if i.kind == "tag")]
    add = list(dict.fromkeys(add))
    remove = [t for t in dict.fromkeys(remove) if t not in add]
    return add, remove



# --- what `portal fields` shows ----------------------------------------------


@dataclass(frozen=True)
class CrmFieldInfo:
    key: str
    label: str
    type: str  # the CRM's own type name
    portal_type: FieldType | None  # the portal type it maps to, if any
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    custom: bool = False
    read_only: bool = False


@dataclass(frozen=True)
class CrmItemInfo:
    item: ItemRef
    label: str


@dataclass(frozen=True)
class Catalog:
    fields: tuple[CrmFieldInfo, ...] = ()
    items: tuple[CrmItemInfo, ...] = ()
    tags: tuple[str, ...] = ()


# --- the contract -------------------------------------------------------------


class CrmAdapter(ABC):
    """Translate between this contract and one CRM's API.

    An adapter is built from its configuration block (`options`, never a
    secret: those come from the environment through `secret()`), a name
    (the key of that block, used in messages and environment variable names)
    and a folder where it may keep state such as refreshed OAuth tokens.
    """

    kind: ClassVar[str] = ""
    item_kinds: ClassVar[frozenset[str]] = frozenset()
    supports_tags: ClassVar[bool] = True
    # The longest tag name the CRM accepts, where it documents one.
    tag_name_limit: ClassVar[int | None] = None
    # The request rate the CRM documents ("5/second", any `limits` string), which
    # the portal keeps under unless `rate_limit` in [crm.NAME] says otherwise.
    default_rate: ClassVar[str | None] = None

    def __init__(self, name: str, options: Mapping[str, Any], state_dir: Path) -> None:
        self.name = name
        self.options = dict(options)
        self.state_dir = state_dir
        self.duplicate_policy: DuplicatePolicy = self.options.get("duplicates", "most_recent")
        self._reads: ReadBatcher | None = None

    def refuse_unknown_items(self, change: Change) -> None:
        """Refuse, before anything is written, a change naming items of a kind
        this CRM does not have."""
        for item in (*change.join, *change.leave):
            if item.kind not in self.item_kinds:
                raise CrmValidationError(f"The {self.kind} CRM '{self.name}' has no "
                                         f"'{item.kind}' items.", crm=self.name)

    # secrets ------------------------------------------------------------------

    def secret_env_name(self, key: str) -> str:
        return f"PORTAL_CRM_{self.name}_{key}".upper().replace("-", "_")

    def secret(self, key: str) -> str:
        env = self.secret_env_name(key)
        value = os.environ.get(env, "")
        if not value:
            raise CrmConfigError(
                f"The {self.kind} CRM '{self.name}' needs the environment variable {env}.",
                crm=self.name,
            )
        return value

    def optional_secret(self, key: str) -> str:
        """The secret from the environment, or "" when it is not set."""
        return os.environ.get(self.secret_env_name(key), "")

    # the contract -----------------------------------------------------------------

    @abstractmethod
    def find_contacts(self, email: str) -> list[Contact]:
        """Every contact whose email equals `email` (case-insensitive, exact)."""

    def find_contact(self, email: str) -> Contact | None:
        """The one contact for `email`, applying the configured duplicate policy."""
        found = self.find_contacts(email)
        if len(found) <= 1:
            return found[0] if found else None
        if self.duplicate_policy == "refuse":
            raise AmbiguousContact(
                f"{len(found)} contacts in '{self.name}' share this email; "
                "merge them in the CRM or set duplicates = \"most_recent\".",
                crm=self.name,
            )
        oldest = datetime.min.replace(tzinfo=UTC)
        return max(found, key=lambda c: _aware(c.modified) or oldest)

    def fetch_profile(
        self, contact: Contact, fields: Sequence[FieldRef], items: Sequence[ItemRef]
    ) -> Profile:
        """Current values of `fields` and which of `items` the contact is in,
        in the fewest calls the API allows. An adapter defines this or
        `fetch_profiles` (where its API reads many contacts at once)."""
        found = self.fetch_profiles([contact], fields, items)[contact.ref]
        if isinstance(found, CrmError):
            raise found
        return found

    def read_profile(
        self, contact: Contact, fields: Sequence[FieldRef], items: Sequence[ItemRef]
    ) -> Profile:
        """`fetch_profile`, with the request budget for all its calls taken at
        once: a read that got its first call and no slot for the next would
        waste the first. Callers read profiles through this."""
        if self.batch_size > 1:
            return self._batcher().read(contact, fields, items)
        with calls_together(self.name, self.read_cost(fields, items)):
            return self.fetch_profile(contact, fields, items)

    def _batcher(self) -> ReadBatcher:
        """The one batcher of this adapter's reads (portal.crm.batching)."""
        from portal.crm.batching import DEFAULT_WINDOW, ReadBatcher

        with _BATCHERS_LOCK:
            if self._reads is None:
                window = float(self.options.get("read_batch_window", DEFAULT_WINDOW))
                self._reads = ReadBatcher(self, window)
            return self._reads

    def read_cost(self, fields: Sequence[FieldRef], items: Sequence[ItemRef]) -> int:
        """How many calls `fetch_profile` (and `fetch_profiles`, for up to
        `batch_size` contacts) makes for these fields and items, so the rate
        limiter can reserve them together. The conformance suite holds every
        adapter to it."""
        return 1

    # How many contacts one `fetch_profiles` reads in `read_cost` calls: 1
    # where the CRM's API reads one contact's values and items at a time.
    batch_size: ClassVar[int] = 1

    def fetch_profiles(self, contacts: Sequence[Contact], fields: Sequence[FieldRef],
                       items: Sequence[ItemRef]) -> dict[str, Profile | CrmError]:
        """Several contacts' profiles by ref; a contact the CRM does not hold
        (or refused) maps to its error. Adapters whose API reads many contacts
        at once do it in `read_cost` calls for up to `batch_size` of them."""
        found: dict[str, Profile | CrmError] = {}
        for contact in contacts:
            try:
                found[contact.ref] = self.fetch_profile(contact, fields, items)
            except CrmNotFound as exc:
                found[contact.ref] = exc
        return found

    def write_cost(self, change: Change) -> int:
        """The most calls `apply` makes for `change` on this attempt
        (`is_first_attempt`) once the adapter's catalogue caches (tag ids,
        field options) are warm: what `write` reserves and the conformance
        suite holds the adapter to."""
        return 1 + len(change.join) + len(change.leave) + len(change.add_tags) \
            + len(change.remove_tags) + len(change.notes) + len(change.automations) + 1

    # How many contacts' changes one `apply_many` carries; 1: no bulk write.
    bulk_size: ClassVar[int] = 1

    def apply_many(self, changes: Sequence[Change]) -> dict[str, CrmError | None]:
        """Apply several contacts' changes (at most `bulk_size`, one per
        contact), each exactly as `apply` would: by change id, None where it
        landed, else the CRM's error for that record. Adapters with bulk
        endpoints write them in a few calls for all."""
        done: dict[str, CrmError | None] = {}
        for n, change in enumerate(changes):
            try:
                self.write(change)
                done[change.id] = None
            except CrmError as exc:
                done[change.id] = exc
                if exc.transient:  # the CRM is busy or down: the rest waits too
                    done.update({later.id: exc for later in changes[n + 1:]})
                    break
        return done

    def write(self, change: Change) -> None:
        """`apply`, with the request budget for all its calls (`write_cost`)
        taken at once: a save that got its first calls and no slot for the
        next would leave the rest to the queue, which makes them all again.
        Without the budget for the whole write nothing is sent. Callers
        write changes through this."""
        with calls_together(self.name, self.write_cost(change)):
            self.apply(change)

    @abstractmethod
    def apply(self, change: Change) -> None:
        """Write `change`; idempotent. Raises CrmError subclasses."""

    @abstractmethod
    def describe(self) -> Catalog:
        """The fields, subscription items and tags the CRM offers."""

    @abstractmethod
    def check_access(self) -> None:
        """Prove the credentials work and carry the permissions the portal needs."""

    def automations(self) -> list[tuple[str, str]]:
        """(id, name) of the automations a change may start, where the CRM has them."""
        return []

    def endpoints(self) -> list[str]:
        """Base URLs this adapter talks to, for `portal doctor`'s network checks."""
        return []

    def create_contact(self, email: str, name: str = "") -> Contact:
        raise CrmUnsupported(f"Creating contacts is not supported for {self.kind}.", crm=self.name)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
