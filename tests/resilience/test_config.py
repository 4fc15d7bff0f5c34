"""The [resilience] section is checked like the rest of the configuration."""

from __future__ import annotations

import pytest

from portal.config import ConfigError, load_config
from tests.support.config import demo_config


def test_mistakes_in_resilience_are_reported_with_their_place(tmp_path):

    path = demo_config(tmp_path, append='[resilience]\nqueue = "kafka"\nbackoff_first = "soon"\n'
                                         'cache = "redis"\nretries = 3\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    problems = "\n".join(error.value.problems)
    assert 'resilience.queue: must be one of "sqlite", "redis"' in problems
    assert "resilience.backoff_first: must be a number" in problems
    assert "resilience.redis_url: is needed for Redis" in problems
    assert "resilience.retries: is not a setting of [resilience]" in problems


def test_rate_limit_defaults_follow_the_crm_type():
    from portal.crm import rate_for as rate_option

    assert rate_option({"type": "activecampaign"}) == "5/second"
    assert rate_option({"type": "activecampaign", "rate_limit": "2/second"}) == "2/second"
    assert rate_option({"type": "activecampaign", "rate_limit": "off"}) is None
    assert rate_option({"type": "local"}) is None


def test_a_rate_that_is_not_a_rate_is_named():
    from portal.crm.base import CrmConfigError
    from portal.crm.limiter import SharedLimiter

    with pytest.raises(CrmConfigError, match=r'\[crm.main\] rate_limit = "fast"'):
        SharedLimiter("memory://", {"main": "fast"})
