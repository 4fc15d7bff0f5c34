"""Finding 5: the limits on link requests hold whatever a client says of
itself: an X-Forwarded-For counts only from a trusted proxy."""

from __future__ import annotations

from tests.security.conftest import csrf_of

PUBLIC = "https://www.example.org/preferencias"
FEW = {"link_requests_per_address_per_hour = 30": "link_requests_per_address_per_hour = 3"}


def ask(client, base: str, email: str, **headers) -> int:
    page = client.get(base + "/", headers=headers)
    answer = client.post(base + "/sign-in", data={"email": email, "csrf_token": csrf_of(page.text)},
                         headers=headers, allow_redirects=False)
    return answer.status_code


def test_a_forged_forwarded_for_does_not_rotate_the_per_address_limit(serve):
    # The only proxy the portal trusts is elsewhere: this client talks to it directly.
    portal = serve(PUBLIC, replace=FEW,
                   append='[proxy]\ntrusted_hops = 1\ntrusted_proxies = ["192.0.2.1"]\n')
    client = portal.session()
    answers = [ask(client, portal.url, f"person{n}@example.org", **{"X-Forwarded-For": f"198.51.100.{n}"})
               for n in range(5)]
    assert answers[:3] == [302] * 3
    assert answers[3:] == [429, 429]


def test_the_per_address_limit_is_one_for_all_workers(serve):
    portal = serve(PUBLIC, replace=FEW)  # gunicorn with two workers
    client = portal.session()
    answers = [ask(client, portal.url, f"person{n}@example.org") for n in range(6)]
    assert answers.count(302) == 3 and answers[3:] == [429] * 3
