"""The configuration as the portal uses it: typed, validated, immutable.

The loader (portal.config.loader) builds these from the TOML file and the
environment; nothing else reads the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.config.embed import EmbedSettings
from portal.config.proxy import ProxySettings
from portal.config.register import RegisterSettings
from portal.config.resilience import Resilience
from portal.config.rights import RightsSettings
from portal.config.staff import StaffSettings
from portal.config.theme import ThemeSettings
from portal.config.wordpress import WordPressSettings
from portal.crm.base import FieldRef, ItemRef

LANGUAGES = ("es", "eu", "en")

Labels = dict[str, str]


@dataclass(frozen=True)
class Choice:
    value: str
    label: Labels


@dataclass(frozen=True)
class FieldSpec:
    key: str
    crm_field: str
    type: str
    label: Labels
    help: Labels = field(default_factory=dict)
    required: bool = False
    editable: bool = True
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[Choice, ...] = ()
    choices_from_crm: bool = False
    earliest: str | None = None  # a date field's bounds: "YYYY-MM-DD", "today" or "today+N" days
    latest: str | None = None
    autocomplete: str = ""  # the browser's autofill name ("given-name", "bday", ...)
    read_only_help: Labels = field(default_factory=dict)  # shown instead of `help` when read-only
    wanted: bool = False  # counted by the profile completeness indicator
    audience: tuple[str, ...] = ()  # shown only to contacts with one of these tags; () = all

    @property
    def ref(self) -> FieldRef:
        return FieldRef(self.crm_field, self.type)

    @property
    def is_note(self) -> bool:
        """A textarea is free text: it becomes a CRM note, not a field value."""
        return self.type == "textarea"


@dataclass(frozen=True)
class Followup:
    """Tags to add and automations to start when an item changes."""

    tags: tuple[str, ...] = ()
    automations: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemSpec:
    key: str
    kind: str
    ref: str
    label: Labels
    description: Labels = field(default_factory=dict)
    image: Labels = field(default_factory=dict)  # one image for all languages, or one each
    value: str | None = None
    on_subscribe: Followup = Followup()
    on_unsubscribe: Followup = Followup()
    legal_basis: str = "consent"  # what the contact's being in it rests on: crm.base.LEGAL_BASES
    audience: tuple[str, ...] = ()  # offered only to contacts with one of these tags; () = all

    @property
    def item(self) -> ItemRef:
        return ItemRef(self.kind, self.ref, self.value)


@dataclass(frozen=True)
class GroupSpec:
    key: str
    label: Labels
    description: Labels
    items: tuple[ItemSpec, ...]
    # Whether "unsubscribe from all" leaves this group's items (default: unless all are tags).
    in_unsubscribe_all: bool = True

    @property
    def only_tags(self) -> bool:
        """Tags mark interests, not mailings: "unsubscribe from all" passes them by
        unless the group says otherwise."""
        return all(item.kind == "tag" for item in self.items)


@dataclass(frozen=True)
class PageTexts:
    """The pages' own texts, which marketing owns like the fields: the profile's
    introduction, and every page's footer (the organisation is the portal's
    name unless set)."""

    intro: Labels = field(default_factory=dict)
    footer: Labels = field(default_factory=dict)
    organisation: str = ""
    privacy_url: Labels = field(default_factory=dict)  # one address, or one per language
    contact_url: Labels = field(default_factory=dict)  # https or mailto


@dataclass(frozen=True)
class LanguagePreference:
    """How the contact's languages are written to the CRM: a multi-value field or tags."""

    mode: str  # "field" or "tags" or "off"
    crm_field: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UnsubscribeOffers:
    """What the "unsubscribe from all" page offers instead of leaving, and asks."""

    fewer: FieldSpec | None = None  # a select the CRM's automations read: how often to email
    pause: FieldSpec | None = None  # a date the CRM's automations read: no email until then
    only_some: bool = True  # a way back to the subscriptions, to leave only some
    reason: FieldSpec | None = None  # "why are you leaving?"; no crm_field: the answer is a note
    # What a one-click unsubscribe link naming an item leaves: "item" (that item)
    # or "all" (what "unsubscribe from all" leaves); a link naming none leaves all.
    one_click: str = "item"
    # One-click requests let through per client address and hour. Mail providers
    # send their users' one-click requests from a few addresses: keep it generous.
    one_click_per_address_per_hour: int = 600


@dataclass(frozen=True)
class Audience:
    """Who the portal is for: contacts with one of `tags` (none: every contact).
    The others are told so by email, with how to join when `join_url` is set,
    unless `tell_others` is false."""

    tags: tuple[str, ...] = ()
    join_url: Labels = field(default_factory=dict)  # one address, or one per language
    tell_others: bool = True


PROFILE_SECTIONS = ("subscriptions", "details", "languages")


@dataclass(frozen=True)
class PortalSettings:
    name: str = "Portal"
    languages: tuple[str, ...] = LANGUAGES
    default_language: str = "es"
    demo: bool = False
    public_url: str = ""
    link_lifetime_minutes: int = 30
    session_idle_minutes: int = 30
    session_lifetime_hours: int = 12  # from sign-in, however busy the session
    link_requests_per_email_per_hour: int = 5
    link_requests_per_address_per_hour: int = 30
    last_changed_field: str = ""
    newsletter_token_field: str = ""
    newsletter_may_edit_personal_data: bool = False
    note_title: Labels = field(default_factory=dict)
    crm: str = "main"
    mirrors: tuple[str, ...] = ()
    storage_url: str = "memory://"  # shared counters; "redis://host:6379/0" for several servers
    database_url: str = ""  # the portal's own database; PORTAL_DATABASE_URL wins
    language_preference: LanguagePreference = LanguagePreference("off")
    profile_order: tuple[str, ...] = PROFILE_SECTIONS
    unsubscribe: UnsubscribeOffers = UnsubscribeOffers()
    audience: Audience = Audience()


@dataclass(frozen=True)
class MailSettings:
    backends: tuple[str, ...] = ("console",)
    sender: str = "Portal <portal@localhost>"
    file_dir: str = "mail"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_security: str = "none"  # none | starttls | ssl
    smtp_timeout: float = 10.0


@dataclass(frozen=True)
class Config:
    path: Path
    portal: PortalSettings
    mail: MailSettings
    crms: Mapping[str, Mapping[str, Any]]
    fields: tuple[FieldSpec, ...]
    groups: tuple[GroupSpec, ...]
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    proxy: ProxySettings = field(default_factory=ProxySettings)
    theme: ThemeSettings = field(default_factory=ThemeSettings)
    resilience: Resilience = field(default_factory=Resilience)
    wordpress: WordPressSettings | None = None  # the WordPress login, when configured
    page: PageTexts = field(default_factory=PageTexts)
    staff: StaffSettings = field(default_factory=StaffSettings)  # who may use the workspace
    rights: RightsSettings = field(default_factory=RightsSettings)
    register: RegisterSettings = field(default_factory=RegisterSettings)

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    def items(self) -> list[ItemSpec]:
        return [item for group in self.groups for item in group.items]
