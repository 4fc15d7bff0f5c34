"""What the callers of an adapter say about their CRM calls, and the state
the outbound limiter (portal.crm.limiter) keeps for them.

Pages, the writer and the commands never touch the limiter: they run CRM
calls under a `CallPolicy` (page, save or background work) and start a new
unit of work per request or job. A profile read reserves all its calls at
once through `CrmAdapter.read_profile`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class CallPolicy:
    """How long the CRM calls made under it may wait for the CRM's budget."""

    background: bool = False  # queue work: yields to contacts' pages, may wait out windows
    wait: bool = True  # False: a free slot now, or CrmRateLimited at once
    # A save: while contacts' pages wait for the budget it takes no slot and
    # goes to the queue at once (the queue keeps and retries it); otherwise it
    # waits for its slots as briefly as a page.
    gives_way: bool = False


PAGE = CallPolicy()
SAVE = CallPolicy(gives_way=True)
BACKGROUND = CallPolicy(background=True)


class Stamp(NamedTuple):
    """When slots were counted in one of a CRM's budget windows."""

    key: str  # the window's, in the limiter's store
    seconds: int  # the window's length
    at: float


@dataclass
class Batch:
    """A read of `calls` calls to `crm`: its first call takes all the slots."""

    crm: str
    calls: int
    taken: bool = False
    held: int = 0  # slots taken and not yet used
    stamps: list[Stamp] = field(default_factory=list)  # the held slots', per window


@dataclass
class Unit:
    """The CRM calls of one request or one job."""

    policy: CallPolicy = PAGE
    spent: bool = False  # some call went out: the rest finish what was started
    batch: Batch | None = None
    fresh: bool = False  # the change being applied never reached the CRM before
    page_calls: int = 0  # calls this request's pages took (not counted as others' demand)


_unit: ContextVar[Unit | None] = ContextVar("portal_crm_unit", default=None)


def unit() -> Unit:
    """The unit of work the current call belongs to."""
    current = _unit.get()
    if current is None:
        current = Unit()
        _unit.set(current)
    return current


def new_unit_of_work() -> None:
    """Call at the start of each request or job: nothing is spent yet."""
    _unit.set(Unit())


@contextmanager
def calls_under(policy: CallPolicy) -> Iterator[None]:
    """Run the CRM calls inside under `policy`, on top of the one around it
    (background stays background, no waiting stays no waiting). Entering
    background work starts a unit of its own."""
    current = unit()
    combined = CallPolicy(background=current.policy.background or policy.background,
                          wait=current.policy.wait and policy.wait,
                          gives_way=current.policy.gives_way or policy.gives_way)
    if combined.background and not current.policy.background:
        token = _unit.set(Unit(combined))
        try:
            yield
        finally:
            _unit.reset(token)
        return
    outer, current.policy = current.policy, combined
    try:
        yield
    finally:
        current.policy = outer


@contextmanager
def calls_together(crm: str, calls: int) -> Iterator[None]:
    """The first call to `crm` inside takes slots for `calls` calls at once,
    and the next ones use them. A page read that got its first call but no
    slot for its second would waste the first; reserving both up front spends
    the budget on pages that can be shown. Nothing is taken if no call is
    made (a cached profile); slots left unused expire with their window."""
    current = unit()
    if calls < 1:
        yield
        return
    outer, current.batch = current.batch, Batch(crm, calls)
    try:
        yield
    finally:
        current.batch = outer


@contextmanager
def first_attempt(fresh: bool = True) -> Iterator[None]:
    """Apply a change inside: its calls are a unit of their own (so the
    writer can tell whether any of them went out), and `fresh` says it was
    never sent to the CRM before, so an adapter need not read what an earlier
    attempt may have written (notes, tags) before writing."""
    outer = unit()
    token = _unit.set(Unit(policy=outer.policy, fresh=fresh, page_calls=outer.page_calls))
    try:
        yield
    finally:
        _unit.reset(token)


def is_first_attempt() -> bool:
    return unit().fresh
