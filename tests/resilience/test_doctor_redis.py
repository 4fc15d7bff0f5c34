"""`portal doctor` checks the Redis it is given and says what losing it means."""

from __future__ import annotations

from tests.support.smtp import free_port


def test_doctor_says_the_redis_answers_and_what_losing_it_means(portal_for, redis_url):
    app = portal_for(resilience={"queue": "redis", "cache": "redis", "redis_url": redis_url})
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    assert f"Redis {redis_url} (queue wake-ups, profile cache)" in result.output
    assert "answers (Redis " in result.output
    assert "loses nothing a contact saved" in result.output


def test_doctor_fails_when_the_redis_does_not_answer(portal_for):
    nowhere = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    app = portal_for(resilience={"queue": "redis", "redis_url": nowhere})
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "FAIL  no answer" in result.output and "s3cret" not in result.output
    assert "saves wait in the database" in result.output
