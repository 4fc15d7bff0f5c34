"""The same flow in a real browser behind nginx under /preferencias/: no
request the browser makes leaves the prefix."""

from __future__ import annotations

from tests.proxy.conftest import nginx  # noqa: F401 (the nginx fixture)
from tests.proxy.support import PREFIX, upstream
from tests.support.smtp import link_in


def test_contact_edits_profile_behind_nginx_without_leaving_the_prefix(make_app, smtp, nginx,  # noqa: F811
                                                                       context):
    app = make_app(append="[proxy]\ntrusted_hops = 1\n")
    with upstream(app, nginx):
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(nginx.portal)
        page.locator("input[type=email]").fill("demo@example.org")
        page.locator("form[action$='/sign-in'] button[type=submit]").click()
        page.wait_for_url(nginx.portal + "sign-in/sent")
        link = link_in(smtp.wait_for("demo@example.org")[0])
        page.goto(link)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(nginx.portal + "profile/")
        page.locator("#last_name").fill("Etxeberria Goñi")
        page.locator("button[name=action][value=save]").click()
        page.locator(".message-success").wait_for()
        assert page.url == nginx.portal + "profile/"
        assert page.locator("#last_name").input_value() == "Etxeberria Goñi"
        escaped = [url for url in requested if not url.startswith(nginx.url + PREFIX + "/")]
        assert not escaped, escaped
