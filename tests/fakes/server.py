"""Run a fake CRM (a Flask app) over real HTTP on loopback, with the faults a
real CRM shows: latency, a requests-per-second limit answered with 429 and
Retry-After, injected 5xx answers, dropped connections and downtime.

Each CRM fake builds its Flask app, wraps it in `FakeServer`, and records
the documentation it follows in its own docstring. The tests and the
benchmark both use these servers, so every behaviour is a setting.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

# The WSGI environ key a fake sets on the requests it makes to itself while
# answering one call (Salesforce's composite subrequests).
SUBREQUEST = "fake.subrequest"


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # tests read calls, not logs
        return None


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived
    refused: bool = False  # answered 429


@dataclass
class Faults:
    latency: float = 0.0  # seconds added to every answer
    per_second: int = 0  # 0: no limit; else answers 429 past this many requests a window
    window: float = 1.0  # seconds of that window (HubSpot: 100 requests per 10 seconds)
    retry_after: str = "1"
    fail_next: int = 0  # answer the next N requests with `fail_status`
    fail_status: int = 500
    drop_next: int = 0  # close the connection without an answer on the next N requests
    down: bool = False  # refuse connections altogether (the listening socket is closed)
    rate_limit_response: Callable[[], Response] | None = None  # CRM-specific 429 body
    rate_limit_next: int = 0  # answer the next N requests as rate limited, whatever the window


@dataclass
class FakeServer:
    app: Flask
    faults: Faults = field(default_factory=Faults)
    calls: list[Call] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self.rate_limited = 0  # 429s answered, for benchmarks
        self.app.before_request(self._before)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ----------------------------------------------------------------

    def start(self) -> FakeServer:
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=QuietHandler)
        self.port = self._server.server_port
        # A short poll interval keeps shutdown (and every test's teardown) quick.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def go_down(self) -> None:
        """Stop listening: connections are refused until `come_back`."""
        self.faults.down = True
        self.stop()
        # The port can take a moment to refuse after its socket closes (a
        # connection made then is reset instead): wait until it does.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
            except ConnectionRefusedError:
                return
            except OSError:
                pass
            time.sleep(0.01)

    def come_back(self) -> None:
        self.faults.down = False
        self.start()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def calls_to(self, method: str, path_prefix: str = "") -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(path_prefix)]

    # the faults ---------------------------------------------------------------

    def _before(self) -> Any:
        if request.environ.get(SUBREQUEST):
            return None  # part of a call already counted, delayed and limited (a composite's)
        call = Call(request.method, request.path, dict(request.args),
                    dict(request.headers), request.get_data())
        with self._lock:
            self.calls.append(call)
            faults = self.faults
            if faults.drop_next > 0:
                faults.drop_next -= 1
                drop = True
            else:
                drop = False
            if faults.fail_next > 0:
                faults.fail_next -= 1
                fail = faults.fail_status
            else:
                fail = 0
            limited = self._over_limit()
            if faults.rate_limit_next > 0:
                faults.rate_limit_next -= 1
                limited = True
            call.refused = limited
        if faults.latency:
            time.sleep(faults.latency)
        if drop:
            _drop_connection()
        if limited:
            self.rate_limited += 1
            if faults.rate_limit_response is not None:
                return faults.rate_limit_response()
            response = jsonify({"message": "Too Many Requests"})
            response.status_code = 429
            response.headers["Retry-After"] = faults.retry_after
            return response
        if fail:
            response = jsonify({"message": f"Injected failure {fail}"})
            response.status_code = fail
            return response
        return None

    def _over_limit(self) -> bool:
        limit = self.faults.per_second
        if not limit:
            return False
        now = time.monotonic()
        while self._window and now - self._window[0] >= self.faults.window:
            self._window.popleft()
        if len(self._window) >= limit:
            return True
        self._window.append(now)
        return False


def _drop_connection() -> None:
    """Reset the client's connection mid-request, as a flaky proxy does."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        # Linger 0 turns the close into a TCP reset, as a crashed peer sends.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("dropped by fault injection")
