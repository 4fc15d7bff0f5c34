"""The README's command serves contacts side by side: a few slow or stalled
connections (a page waiting for the CRM, a client that never finishes its
request) do not hold up everyone else."""

from __future__ import annotations

import socket

import requests


def test_stalled_connections_do_not_hold_up_other_contacts(serve):
    portal = serve()
    host, port = portal.url.removeprefix("http://").split(":")
    stalled = []
    for _ in range(4):  # more than the README's two workers
        connection = socket.create_connection((host, int(port)), timeout=5)
        connection.sendall(b"GET / HTTP/1.1\r\nHost: www.example.org\r\n")  # never finished
        stalled.append(connection)
    try:
        answer = requests.get(portal.url + "/?lang=en", timeout=10,
                              headers={"Host": "www.example.org"})
        assert answer.status_code == 200
    finally:
        for connection in stalled:
            connection.close()
