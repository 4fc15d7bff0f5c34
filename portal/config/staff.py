"""`[staff]`: who may use the marketing workspace at /staff/, and how long
a staff session lasts (shorter than a contact's).

```toml
[staff]
members = [
  { email = "marketing@example.org", role = "publisher" },
  { email = "intern@example.org", role = "editor" },
]
# WordPress roles whose members may come in by the plugin's assertion, and as what
wordpress_roles = { administrator = "publisher", editor = "editor" }
session_idle_minutes = 15
session_lifetime_hours = 4
```

An editor prepares drafts and previews them; a publisher also publishes,
rolls back, imports layouts and creates fields and lists on the embedded CRM.
Without members or WordPress roles nobody can sign in to the workspace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal.config.section import Report, Section

EDITOR = "editor"
PUBLISHER = "publisher"
ROLES = (EDITOR, PUBLISHER)


@dataclass(frozen=True)
class StaffSettings:
    members: Mapping[str, str] = field(default_factory=dict)  # lower-case email -> role
    wordpress_roles: Mapping[str, str] = field(default_factory=dict)  # WordPress role -> role
    session_idle_minutes: int = 15
    session_lifetime_hours: int = 4

    def role_of(self, email: str) -> str | None:
        return self.members.get(email.strip().lower())

    def role_for_wordpress(self, wordpress_roles: list[str]) -> str | None:
        """The highest workspace role any of the member's WordPress roles gives."""
        given = {self.wordpress_roles[r] for r in wordpress_roles if r in self.wordpress_roles}
        return next((role for role in reversed(ROLES) if role in given), None)


def build(section: Mapping[str, Any]) -> StaffSettings:
    return StaffSettings(
        members={str(m["email"]).strip().lower(): m.get("role", EDITOR)
                 for m in section.get("members", [])},
        wordpress_roles=dict(section.get("wordpress_roles", {})),
        session_idle_minutes=section.get("session_idle_minutes", 15),
        session_lifetime_hours=section.get("session_lifetime_hours", 4),
    )


def check(section: Mapping[str, Any], report: Report) -> None:
    members = section.get("members", [])
    if not isinstance(members, list):
        report("members", 'must be a list like [{ email = "…", role = "editor" }]')
        members = []
    for n, member in enumerate(members):
        if not isinstance(member, dict) or not isinstance(member.get("email"), str) \
                or "@" not in member["email"]:
            report(f"members[{n}]", 'must be a table like { email = "…", role = "editor" }')
        elif member.get("role", EDITOR) not in ROLES:
            report(f"members[{n}].role", f'must be one of {", ".join(ROLES)}')
        elif set(member) - {"email", "role"}:
            report(f"members[{n}]", "has keys other than email and role")
    roles = section.get("wordpress_roles", {})
    if not isinstance(roles, dict) or not all(v in ROLES for v in roles.values()):
        report("wordpress_roles", f'must map WordPress roles to one of {", ".join(ROLES)}, '
               'like { administrator = "publisher" }')
    for key, most in (("session_idle_minutes", 60), ("session_lifetime_hours", 12)):
        value = section.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            report(key, f"must be a whole number from 1 to {most}")


SECTION = Section("staff", frozenset({"members", "wordpress_roles", "session_idle_minutes",
                                      "session_lifetime_hours"}), check, build)
