"""The portal behind Apache under /preferencias/, configured with the README's
Apache example word for word: every link, redirect, form action, asset and
email link carries the prefix and the public host."""

from __future__ import annotations

from tests.proxy.support import (
    PROXY_CONFIG,
    check_forged_headers_are_ignored,
    check_rest_of_site_is_not_the_portal,
    check_whole_flow,
)


def test_whole_flow_through_apache_keeps_the_prefix(make_app, smtp, apache):
    check_whole_flow(make_app(append=PROXY_CONFIG), smtp, apache)


def test_forged_forwarded_headers_through_apache_are_ignored(make_app, smtp, apache):
    check_forged_headers_are_ignored(make_app(append=PROXY_CONFIG), smtp, apache)


def test_the_rest_of_the_site_is_not_the_portal(apache):
    check_rest_of_site_is_not_the_portal(apache)
