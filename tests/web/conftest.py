"""The web pages' fixtures: a fake ActiveCampaign that can go down, for the
pages that must say so."""

from tests.resilience.conftest import ac, portal_for  # noqa: F401 (fixtures)
