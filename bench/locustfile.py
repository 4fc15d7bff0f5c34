"""One simulated contact: open the profile, save a change, reload it.

Each user takes the next signed session cookie from BENCH_COOKIES (one
contact each) and appends "ref status" of its save to BENCH_RESULTS, so the
benchmark can check afterwards that every accepted save reached the CRM or
is waiting in the queue.
"""

from __future__ import annotations

import itertools
import json
import os
import re

from locust import HttpUser, task
from locust.exception import StopUser

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
COOKIES = json.loads(open(os.environ["BENCH_COOKIES"], encoding="utf-8").read())
NEXT = itertools.count()
HOST = "127.0.0.1"
RESULTS = open(os.environ["BENCH_RESULTS"], "a", encoding="utf-8", buffering=1)


class Contact(HttpUser):
    # Each user acts once; the spawn rate shapes the spike.
    wait_time = None

    @task
    def open_and_save(self) -> None:
        n = next(NEXT)
        if n >= len(COOKIES):
            raise StopUser()
        ref, cookie = COOKIES[n]
        # The host's own cookie, so the one the portal updates replaces it.
        self.client.cookies.set("session", cookie, domain=HOST, path="/")
        with self.client.get("/profile/?lang=en", name="view", catch_response=True) as page:
            if page.status_code != 200:
                page.failure(f"view answered {page.status_code}")
                RESULTS.write(f"{ref} no-view\n")
                raise StopUser()
            token = CSRF.search(page.text)
        name = f"Bench{ref}"
        data = {"csrf_token": token.group(1) if token else "", "first_name": name,
                "topics": ["theatre"], "sub_weekly": "y", "action": "save"}
        with self.client.post("/profile/", data=data, name="save", allow_redirects=False,
                              catch_response=True) as saved:
            if saved.status_code != 302:
                saved.failure(f"save answered {saved.status_code}")
                RESULTS.write(f"{ref} save-{saved.status_code}\n")
                raise StopUser()
            RESULTS.write(f"{ref} accepted\n")
        with self.client.get("/profile/?lang=en", name="reload", catch_response=True) as again:
            if again.status_code != 200:
                again.failure(f"reload answered {again.status_code}")
            elif f'value="{name}"' not in again.text:
                again.failure("reload does not show the saved value")
        raise StopUser()
