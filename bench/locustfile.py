"""One simulated contact: arrive, open the profile, save a change, reload it.

BENCH_ARRIVALS lists one arrival per contact: ["ref", "newsletter", "/n/<token>"]
(a link from a newsletter: the confirmation page, its button, then the
profile) or ["ref", "session", "<cookie>"] (a contact already signed in
through an emailed link). Each user takes the next one and appends "ref
status" of its save to BENCH_RESULTS, so the benchmark can check afterwards
that every accepted save reached the CRM or is waiting in the queue.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from http.cookiejar import Cookie
from urllib.parse import urlencode

from locust import FastHttpUser, constant, task

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ARRIVALS = json.loads(open(os.environ["BENCH_ARRIVALS"], encoding="utf-8").read())
ITEMS = int(os.environ.get("BENCH_ITEMS", "3"))
NEXT = itertools.count()
HOST = "127.0.0.1"
RESULTS = open(os.environ["BENCH_RESULTS"], "a", encoding="utf-8", buffering=1)
ARRIVED = open(os.environ["BENCH_ARRIVED"], "a", encoding="utf-8", buffering=1)
FIRST_ARRIVAL: list[float] = []  # set by the first user


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def session_cookie(value: str) -> Cookie:
    return Cookie(0, "session", value, None, False, HOST, False, False, "/", True, False, None,
                  False, None, None, {})


# FastHttpUser: the load generator shares the portal's cores, so it should
# spend as little of them as it can (a fraction of requests' CPU per request).
class Contact(FastHttpUser):
    # Each user acts once, then idles until the run ends: the spawn rate
    # shapes the spike.
    wait_time = constant(3600)

    def arrive(self, ref: str, door: str, key: str) -> bool:
        if door == "session":
            # The host's own cookie, so the one the portal updates replaces it.
            self.client.cookiejar.set_cookie(session_cookie(key))
            return True
        with self.client.get(key, name="newsletter link", catch_response=True) as page:
            token = CSRF.search(page.text) if page.status_code == 200 else None
            if token is None:
                page.failure(f"newsletter link answered {page.status_code}")
                return False
        with self.client.post(key, data=urlencode({"csrf_token": token.group(1)}), headers=FORM,
                              name="newsletter button", allow_redirects=False,
                              catch_response=True) as signed:
            if signed.status_code != 302:
                signed.failure(f"newsletter button answered {signed.status_code}")
                return False
        return True

    @task
    def open_and_save(self) -> None:
        n = next(NEXT)
        if n >= len(ARRIVALS):
            return
        now = time.monotonic()
        FIRST_ARRIVAL[:] = FIRST_ARRIVAL or [now]
        ARRIVED.write(f"{n} {now - FIRST_ARRIVAL[0]:.2f}\n")
        ref, door, key = ARRIVALS[n]
        if not self.arrive(ref, door, key):
            RESULTS.write(f"{ref} no-view\n")
            return
        with self.client.get("/profile/?lang=en", name="view", catch_response=True) as page:
            if page.status_code != 200:
                page.failure(f"view answered {page.status_code}")
                RESULTS.write(f"{ref} no-view\n")
                return
            token = CSRF.search(page.text)
        name = f"Bench{ref}"
        data = {"csrf_token": token.group(1) if token else "", "first_name": name,
                "topics": ["events"], "action": "save",
                **{f"sub_item{i}": "y" for i in range(ITEMS)}}
        with self.client.post("/profile/", data=urlencode(data, doseq=True), headers=FORM,
                              name="save", allow_redirects=False, catch_response=True) as saved:
            if saved.status_code != 302:
                saved.failure(f"save answered {saved.status_code}")
                RESULTS.write(f"{ref} save-{saved.status_code}\n")
                return
            RESULTS.write(f"{ref} accepted\n")
        with self.client.get("/profile/?lang=en", name="reload", catch_response=True) as again:
            if again.status_code != 200:
                again.failure(f"reload answered {again.status_code}")
            elif f'value="{name}"' not in again.text:
                again.failure("reload does not show the saved value")
