"""Fixtures shared by the CRM tests: a started harness per CRM, its adapter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.crm.harnesses import HARNESSES, Harness


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> Iterator[Harness]:
    h = HARNESSES[request.param]()
    h.start(tmp_path)
    for key, value in h.env().items():
        monkeypatch.setenv(key, value)
    yield h
    h.stop()


@pytest.fixture
def adapter(harness: Harness, tmp_path):
    return harness.adapter(tmp_path)
