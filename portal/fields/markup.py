"""Form fields as the pages show them: each field's label, its help and its
error tied to its control by aria-describedby, aria-invalid when it is in
error, and the control itself.

Written here with plain strings, not by WTForms' widgets through Jinja
macros: the profile page shows some twenty controls on every view, and
WTForms' attribute writer and the macros' calls were most of its cost. The
controls are written as WTForms writes them (attributes sorted by name); a
widget this module does not know is still rendered by WTForms."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.widgets import CheckboxInput, DateInput, Input, TextArea

_TO_ESCAPE = re.compile(r"[&<>\"']")


def attributes(items: Mapping[str, object]) -> str:
    """`items` as HTML attributes, as WTForms' html_params writes them: sorted
    by name, a true value as the bare name, a false one left out."""
    return " ".join(name if value is True else f'{name}="{_quoted(value)}"'
                    for name, value in sorted(items.items()) if value is not False)


def _quoted(value: object) -> str:
    if type(value) is str and not _TO_ESCAPE.search(value):
        return value  # most values (ids, names, types) have nothing to escape
    return str(escape(value)).replace('"', "&quot;")  # escape() leaves a Markup's quotes


def control(field: Field, **extra: object) -> Markup:
    """The field's control, as `field(**extra)` renders it."""
    widget = field.widget
    call = type(widget).__call__
    if call not in _WRITERS or getattr(field, "_datalist", None) is not None:
        rendered: Markup = field(**extra)
        return rendered
    items: dict[str, Any] = {_name(k): v for k, v in (field.render_kw or {}).items()}
    items.update((_name(k), v) for k, v in extra.items())
    items.setdefault("id", field.id)
    return _WRITERS[call](widget, field, items)


def _name(key: str) -> str:
    """An attribute's name as WTForms spells a keyword: `class_` is class,
    `aria_describedby` is aria-describedby."""
    key = key.rstrip("_")
    return key.replace("_", "-") if key.startswith(("data_", "aria_")) else key


def _with_flags(widget: Any, field: Field, items: dict[str, Any]) -> dict[str, Any]:
    """`items` with the validation attributes the widget takes from the
    field's flags (required, maxlength...), then the field's name."""
    flags = field.flags
    for name in widget.validation_attrs:
        value = getattr(flags, name)
        if value is not None and name not in items:
            items[name] = value() if callable(value) else value
    items["name"] = field.name
    return items


def _input(widget: Input, field: Any, items: dict[str, Any]) -> Markup:
    items.setdefault("type", widget.input_type)
    if "value" not in items:
        items["value"] = field._value()
    return Markup(f"<input {attributes(_with_flags(widget, field, items))}>")  # noqa: S704


def _checkbox(widget: CheckboxInput, field: Any, items: dict[str, Any]) -> Markup:
    if getattr(field, "checked", field.data):
        items.setdefault("checked", True)
    return _input(widget, field, items)


def _dated(widget: DateInput, field: Any, items: dict[str, Any]) -> Markup:
    """A date input: its bounds (min, max) in the field's format."""
    written = getattr(field, "format", None)
    written = written[0] if isinstance(written, list) else written
    for name in ("min", "max") if written is not None else ():
        value = items.get(name, getattr(field.flags, name))
        value = value() if callable(value) else value
        if hasattr(value, "strftime"):
            items[name] = value.strftime(written)
    return _input(widget, field, items)


def _textarea(widget: TextArea, field: Any, items: dict[str, Any]) -> Markup:
    return Markup(f"<textarea {attributes(_with_flags(widget, field, items))}>"  # noqa: S704
                  f"\r\n{escape(field._value())}</textarea>")


# A widget's __call__ -> what writes its control the same way, from the attributes so far.
_WRITERS: dict[object, Callable[[Any, Any, dict[str, Any]], Markup]] = {
    Input.__call__: _input, CheckboxInput.__call__: _checkbox, DateInput.__call__: _dated,
    TextArea.__call__: _textarea}


def field_block(field: Field, help: str = "", required: bool = False) -> Markup:
    """A field with its label, help and first error, tied together for
    screen readers; `required` marks the label (a box's label stays plain)."""
    error = field.errors[0] if field.errors else None
    described = " ".join(([f"{field.id}-help"] if help else [])
                         + ([f"{field.id}-error"] if error is not None else []))
    messages = _messages(field.id, help, error)
    if field.type == "BooleanField":
        box = control(field, aria_describedby=described or False,
                      aria_invalid="true" if error is not None else False)
        body = (f'<div class="check">\n    {box}\n    <label for="{_quoted(field.id)}">'
                f"{escape(field.label.text)}</label>\n  </div>\n  {messages}")
    elif field.type == "PortalMultiField":
        shown = f' aria-describedby="{_quoted(described)}"' if described else ""
        body = (f"<fieldset{shown}>\n    <legend>{_label_text(field, required)}</legend>\n"
                f"    {messages}\n{_boxes(field)}  </fieldset>")
    else:
        widget = control(field, aria_describedby=described or False,
                         aria_invalid="true" if error is not None else False,
                         aria_required="true" if required else False)
        body = (f'<label for="{_quoted(field.id)}">{_label_text(field, required)}</label>\n'
                f"  {messages}\n  {widget}")
    in_error = " has-error" if error is not None else ""
    return Markup(f'<div class="field{in_error}">\n  {body}\n</div>\n')  # noqa: S704 (escaped)


def item_block(field: Field, label: str, description: str = "", image: str = "") -> Markup:
    """A subscription item: its box, its label, its description tied to the
    box, and its image (`image`: the image's address) beside them."""
    described = f"{field.id}-desc" if description else False
    picture = (f'<img src="{_quoted(image)}" alt="" class="item-image" width="64" height="64">'
               if image else "")
    about = (f'<p class="help" id="{_quoted(field.id)}-desc">{escape(description)}</p>'
             if description else "")
    return Markup(  # noqa: S704 (every part is escaped)
        f'<div class="item">\n  {picture}\n  <div class="check">\n    '
        f"{control(field, aria_describedby=described)}\n"
        f'    <label for="{_quoted(field.id)}">{escape(label)}</label>\n  </div>\n  {about}\n</div>\n')


def _label_text(field: Field, required: bool) -> str:
    if not required:
        return str(escape(field.label.text))
    marked = escape(_("(required)"))  # outside the f-string: the catalogs' extractor skips those
    return f'{escape(field.label.text)} <span class="required">{marked}</span>'


def _messages(field_id: str, help: str, error: str | None) -> str:
    """The help and the error, with the ids aria-describedby names."""
    parts = []
    if help:
        parts.append(f'<p class="help" id="{_quoted(field_id)}-help">{escape(help)}</p>')
    if error is not None:
        said = escape(_("Error:"))
        parts.append(f'<p class="field-error" id="{_quoted(field_id)}-error">'
                     f'<span class="visually-hidden">{said}</span> {escape(error)}</p>')
    return "\n  ".join(parts)


def _boxes(field: Any) -> str:
    """A multiple choice as one box per choice: the first box has the field's
    id (the label and the error summary point to it), the others a number."""
    boxes = []
    for number, choice in enumerate(field.iter_choices(), start=1):
        box_id = _quoted(field.id if number == 1 else f"{field.id}-{number}")
        checked = " checked" if choice.selected else ""
        boxes.append(f'    <div class="check">\n      <input type="checkbox" '
                     f'name="{_quoted(field.name)}" id="{box_id}" '
                     f'value="{_quoted(choice.value)}"{checked}>\n'
                     f'      <label for="{box_id}">{escape(choice.label)}</label>\n    </div>\n')
    return "".join(boxes)
