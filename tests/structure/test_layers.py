"""The architecture, checked: each part imports only the parts below it.

Layers, lowest first. The CRM adapters know nothing of the app; the
configuration, the field types and the portal's own database know the CRM
contract at most; delivery, mail and languages know the configuration; hosting, the doors, the pages, the
marketing workspace, the commands and the app factory come on top, in that order.
The contact's rights have their tables beside the database, what every door
calls (consent records, receipts) beside hosting, and their pages above the
profile's."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "portal"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("portal.crm",),
    ("portal.shipped", "portal.fields", "portal.config", "portal.db", "portal.rights.models"),
    ("portal.i18n", "portal.mail", "portal.delivery"),
    # What every door may call of the contact's rights: consent records, receipts.
    ("portal.hosting", "portal.rights.records"),
    ("portal.auth",),
    ("portal.profile",),
    ("portal.rights", "portal.staff"),
    ("portal.commands",),
    ("portal",),
)
# What pages, doors and the writer may know of the CRM side: the contract and the registry.
CRM_CONTRACT = {"portal.crm", "portal.crm.base"}
CONTRACT_ONLY = ("portal.profile", "portal.auth", "portal.delivery.writer", "portal.rights")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer of the longest matching part name."""
    best, found = -1, len(LAYERS) - 1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), index
    return found


def runtime_imports(path: Path) -> set[str]:
    """The portal modules `path` imports when it runs (not for type checking only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for branch in ast.walk(tree) if isinstance(branch, ast.If)
               and ast.unparse(branch.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
               for node in ast.walk(branch)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "portal" or name.startswith("portal.")}


def imports_by_module() -> dict[str, set[str]]:
    return {module_name(path): runtime_imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_no_part_imports_a_part_above_it():
    upward = [f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
              for module, targets in imports_by_module().items() for target in sorted(targets)
              if layer_of(target) > layer_of(module)]
    assert upward == []


def test_pages_doors_and_the_writer_know_only_the_crm_contract():
    reaching = [f"{module} imports {target}"
                for module, targets in imports_by_module().items()
                if module.startswith(CONTRACT_ONLY)
                for target in sorted(targets)
                if target.startswith("portal.crm") and target not in CRM_CONTRACT]
    assert reaching == []


def test_the_crm_layer_knows_nothing_of_the_app():
    leaking = [f"{module} imports {target}"
               for module, targets in imports_by_module().items() if module.startswith("portal.crm")
               for target in sorted(targets) if not target.startswith("portal.crm")]
    assert leaking == []
