"""Turning what the contact submitted into one Change: only what differs
from what was read, plus the audit note, the "last changed in the portal"
date and marketing's follow-up tags and automations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.config import Config, FieldSpec, ItemSpec
from portal.crm.base import Change, Contact, FieldRef, FieldUpdate, ItemRef, Note, Profile, Value
from portal.delivery.reader import contact_languages, language_tag_items
from portal.fields import kind_of
from portal.i18n import text_for


@dataclass
class Submission:
    """The parts of the posted form the change is made from."""

    fields: Mapping[str, object]  # spec key -> submitted value, editable fields only
    subscribed: set[str]  # item keys ticked
    languages: list[str] | None  # None when language choice is off
    notes: Mapping[str, str] = field(default_factory=dict)  # textarea spec key -> text


@dataclass
class Diff:
    fields: list[tuple[FieldSpec, Value, Value]] = field(default_factory=list)
    joined: list[ItemSpec] = field(default_factory=list)
    left: list[ItemSpec] = field(default_factory=list)
    languages: tuple[list[str], list[str]] | None = None
    rejoined: list[ItemSpec] = field(default_factory=list)  # an undone "unsubscribe from all"

    def is_empty(self) -> bool:
        return not (self.fields or self.joined or self.left or self.languages or self.rejoined)


@dataclass(frozen=True)
class Leaving:
    """What a contact who unsubscribes from all told us: a reason among
    marketing's choices (a value), and their own words."""

    reason: str = ""
    comment: str = ""


def diff(config: Config, profile: Profile, submission: Submission) -> Diff:
    result = Diff()
    for spec in config.fields:
        if spec.key not in submission.fields or spec.is_note:
            continue
        kind = kind_of(spec)
        old = kind.normalise(profile.values.get(spec.crm_field))
        new = kind.normalise(submission.fields[spec.key])
        if old != new:
            result.fields.append((spec, old, new))
    for item in config.items():
        was = item.item in profile.subscribed
        now = item.key in submission.subscribed
        if now and not was:
            result.joined.append(item)
        elif was and not now:
            result.left.append(item)
    if submission.languages is not None:
        before = contact_languages(config, profile)
        if sorted(before) != sorted(submission.languages):
            result.languages = (before, submission.languages)
    return result


def build_change(config: Config, contact: Contact, profile: Profile,
                 submission: Submission) -> Change:
    d = diff(config, profile, submission)
    notes = {key: text.strip() for key, text in submission.notes.items() if text.strip()}
    if d.is_empty() and not notes:
        return Change(contact_ref=contact.ref, email=contact.email, name=contact.name)
    updates = [FieldUpdate(spec.ref, new) for spec, _old, new in d.fields]
    join = [item.item for item in d.joined]
    leave = [item.item for item in d.left]
    lang_updates, lang_join, lang_leave = _language_change(config, *d.languages) \
        if d.languages is not None else ([], [], [])
    updates, join, leave = updates + lang_updates, join + lang_join, leave + lang_leave
    return _finish(config, contact, updates, join, leave, d, notes,
                   unsubscribe_all=False if profile.opted_out_all and d.joined else None)


def reached_by_unsubscribe_all(config: Config) -> list[ItemSpec]:
    """The items "unsubscribe from all" leaves: those of the groups it reaches."""
    return [item for group in config.groups if group.in_unsubscribe_all for item in group.items]


def kept_mailings(config: Config) -> list[ItemSpec]:
    """The mailings "unsubscribe from all" keeps: items of the groups marketing
    keeps out of it that are not just tags (interests)."""
    return [item for group in config.groups
            if not group.in_unsubscribe_all and not group.only_tags for item in group.items]


def unsubscribe_all_change(config: Config, contact: Contact, profile: Profile,
                           leaving: Leaving | None = None) -> Change:
    """Leave every item "unsubscribe from all" reaches. The CRM's own opt-out
    of all email is set too, unless marketing keeps some mailings: it would
    stop those as well."""
    d = Diff(left=[i for i in reached_by_unsubscribe_all(config) if i.item in profile.subscribed])
    leaving = leaving or Leaving()
    reason = config.portal.unsubscribe.reason
    updates = [FieldUpdate(reason.ref, leaving.reason)] \
        if reason and reason.crm_field and leaving.reason else []
    change = _finish(config, contact, updates, [], [item.item for item in d.left], d, {},
                     unsubscribe_all=True if not kept_mailings(config) else None)
    if not (leaving.comment.strip() or (leaving.reason and reason and not reason.crm_field)):
        return change
    return replace(change, notes=(*change.notes, _leaving_note(config, change, leaving)))


def leave_change(config: Config, contact: Contact, profile: Profile,
                 items: Sequence[ItemSpec]) -> Change:
    """Leave `items` (those the contact is in), with their follow-ups: a
    one-click unsubscribe from one item."""
    d = Diff(left=[item for item in items if item.item in profile.subscribed])
    return _finish(config, contact, [], [], [item.item for item in d.left], d, {},
                   unsubscribe_all=None)


def undo_unsubscribe_all_change(config: Config, contact: Contact, profile: Profile,
                                item_keys: Collection[str], lift_opt_out: bool) -> Change:
    """Join again the items an "unsubscribe from all" left, without the
    follow-ups of a new subscription, and lift the opt-out it set."""
    d = Diff(rejoined=[item for item in config.items()
                       if item.key in item_keys and item.item not in profile.subscribed])
    return _finish(config, contact, [], [item.item for item in d.rejoined], [], d, {},
                   unsubscribe_all=False if lift_opt_out else None)


def field_change(config: Config, contact: Contact, profile: Profile, spec: FieldSpec,
                 value: object) -> Change:
    """Set one field (an offer of the unsubscribe page), if it changes."""
    kind = kind_of(spec)
    old, new = kind.normalise(profile.values.get(spec.crm_field)), kind.normalise(value)
    if old == new:
        return Change(contact_ref=contact.ref, email=contact.email, name=contact.name)
    return _finish(config, contact, [FieldUpdate(spec.ref, new)], [], [],
                   Diff(fields=[(spec, old, new)]), {}, unsubscribe_all=None)


def _leaving_note(config: Config, change: Change, leaving: Leaving) -> Note:
    lang = config.portal.default_language
    reason = config.portal.unsubscribe.reason
    labels = {choice.value: text_for(choice.label, lang) for choice in reason.choices} \
        if reason else {}
    with force_locale(lang):
        lines = [_("Reason: %(reason)s", reason=labels.get(leaving.reason, leaving.reason))] \
            if leaving.reason else []
        lines += [leaving.comment.strip()] if leaving.comment.strip() else []
        title = _("Why they unsubscribed from all")
    return Note(title=title, body="\n\n".join([*lines, change.note_marker()]))


def _language_change(config: Config, before: Sequence[str], after: Sequence[str]
                     ) -> tuple[list[FieldUpdate], list[ItemRef], list[ItemRef]]:
    preference = config.portal.language_preference
    if preference.mode == "field":
        ordered = [lang for lang in config.portal.languages if lang in after]
        return [FieldUpdate(FieldRef(preference.crm_field, "multiselect"), ordered or None)], [], []
    tags = language_tag_items(config)
    join = [tags[lang] for lang in after if lang not in before and lang in tags]
    leave = [tags[lang] for lang in before if lang not in after and lang in tags]
    return [], join, leave


def _finish(config: Config, contact: Contact, updates: list[FieldUpdate], join: list[ItemRef],
            leave: list[ItemRef], d: Diff, notes: Mapping[str, str],
            unsubscribe_all: bool | None) -> Change:
    add_tags = _flatten(item.on_subscribe.tags for item in d.joined)
    add_tags += _flatten(item.on_unsubscribe.tags for item in d.left)
    automations = _flatten(item.on_subscribe.automations for item in d.joined)
    automations += _flatten(item.on_unsubscribe.automations for item in d.left)
    if config.portal.last_changed_field:
        updates.append(FieldUpdate(FieldRef(config.portal.last_changed_field, "date"),
                                   dt.date.today().isoformat()))
    change = Change(
        contact_ref=contact.ref, email=contact.email, name=contact.name,
        fields=tuple(updates), join=tuple(join),
        leave=tuple(leave), add_tags=tuple(dict.fromkeys(add_tags)),
        automations=tuple(dict.fromkeys(automations)), unsubscribe_all=unsubscribe_all,
    )
    # Notes are for the organisation's staff: in the portal's default language.
    # Each adapter ends a note with the change's marker, once.
    with force_locale(config.portal.default_language):
        # A save of free text alone has nothing to audit: its comment note says it all.
        written = [_audit_note(config, d, unsubscribe_all)] \
            if not d.is_empty() or unsubscribe_all else []
        for key, text in notes.items():
            spec = config.field(key)
            label = text_for(spec.label, config.portal.default_language) if spec else key
            title = _("Comment from the preference portal: %(label)s", label=label)
            written.append(Note(title=title, body=text))
    return replace(change, notes=tuple(written))


def _audit_note(config: Config, d: Diff, unsubscribe_all: bool | None) -> Note:
    lang = config.portal.default_language
    lines = []
    for spec, old, new in d.fields:
        lines.append(_("%(field)s: %(old)s → %(new)s", field=text_for(spec.label, lang),
                       old=_shown(old), new=_shown(new)))
    if d.joined:
        lines.append(_("Subscribed to: %(items)s",
                       items=", ".join(text_for(i.label, lang) for i in d.joined)))
    if d.left:
        lines.append(_("Unsubscribed from: %(items)s",
                       items=", ".join(text_for(i.label, lang) for i in d.left)))
    if d.rejoined:
        lines.append(_("Subscribed again, undoing “unsubscribe from all”: %(items)s",
                       items=", ".join(text_for(i.label, lang) for i in d.rejoined)))
    if d.languages is not None:
        lines.append(_("Languages: %(old)s → %(new)s", old=_shown(d.languages[0] or None),
                       new=_shown(d.languages[1] or None)))
    if unsubscribe_all:
        lines.append(_("Unsubscribed from all email."))
    title = text_for(config.portal.note_title, lang) or _("Changes from the preference portal")
    return Note(title=title, body="\n".join(lines))


def _shown(value: Value) -> str:
    if value is None or value == []:
        return str(_("(empty)"))
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return ", ".join(value)
    return value


def _flatten(groups: Iterable[Iterable[str]]) -> list[str]:
    return [value for group in groups for value in group]
