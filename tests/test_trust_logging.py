"""Issue 10, item 5: no credential reaches the records of the HTTP clients' loggers.

Real requests to the local httpbin through httpx (sync and async) and requests, with the
httpx, httpcore, urllib3 and requests loggers at DEBUG, for every auth type. Each captured
record's message and arguments are searched for every secret the request carried.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
import requests
import requests.adapters

from credsign import HttpxAuth, RequestsAuth, ScopeError, log_redaction, parse_record
from credsign.log_redaction import MASK
from credsign.records import Record
from credsign.signing import compile_signer
from tests.leaks import revealed_secrets

CLIENT_LOGGERS = ("httpx", "httpcore", "urllib3", "requests")

AWS = {"accessKey": "AKIDLOGTEST0001", "secretKey": "aws-secret-log/+=", "region": "us-east-1"}
RECORDS: dict[str, dict[str, Any]] = {
    "no_auth": {"authType": "NO_AUTH", "headers": [{"key": "X-Source", "value": "tests"}]},
    "basic": {"authType": "BASIC_AUTH", "username": "log-user", "password": "log-pass-1"},
    "bearer": {"authType": "BEARER_TOKEN", "token": "log-bearer-token-1"},
    "api_key_header": {
        "authType": "API_KEY",
        "apiKey": {"key": "X-Api-Key", "value": "log-header-key-1", "position": "header"},
    },
    "api_key_query": {
        "authType": "API_KEY",
        "apiKey": {"key": "api_key", "value": "log query/key+1=", "position": "query"},
    },
    "api_keys_placements": {
        "authType": "API_KEY",
        "apiKeys": [
            {"key": "dd-api-key", "value": "log-dd-api-1", "position": "query"},
            {"key": "application key", "value": "log-dd-app-1", "position": "query"},
            {"key": "X-Extra", "value": "log-extra-header-1", "position": "header"},
        ],
    },
    "api_key_org": {
        "authType": "API_KEY",
        "apiKey": {"key": "top_key", "value": "log-top-key-1", "position": "query"},
        "organizations": [
            {
                "orgId": "acme",
                "apiKey": {"key": "acme_key", "value": "log-acme-key-1", "position": "query"},
            }
        ],
    },
    "aws4_header": {"authType": "AWS4", **AWS, "service": "execute-api"},
    "aws4_presigned": {
        "authType": "AWS4",
        **AWS,
        "sessionToken": "log-session/token+1=",
        "service": "s3",
        "signatureLocation": "query",
    },
    "hmac": {"authType": "HMAC_SHA256", "clientId": "log-client", "clientSecret": "log-hmac-1"},
}
ORGS = {"api_key_org": "acme"}
Captured = tuple[list[logging.LogRecord], io.StringIO]


def secrets_sent(record: Record, org: str | None, url: str, headers: Any) -> set[str]:
    """Every secret a request carried, in clear and percent-encoded."""
    values = set(revealed_secrets(record))
    query_names = compile_signer(record, org).query_names
    values |= {v for k, v in parse_qsl(urlsplit(url).query) if k in query_names}
    for name in ("Authorization", "Signature", "X-Amz-Security-Token"):
        if headers.get(name):
            values.add(headers[name])
    values |= {quote(value, safe="") for value in values}
    # A value shorter than this could occur by chance (e.g. an amz date); none of ours are.
    return {value for value in values if len(value) >= 8}


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Every record of the client loggers at DEBUG, kept, and formatted by a real handler."""
    records: list[logging.LogRecord] = []
    stream = io.StringIO()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handlers: list[logging.Handler] = [Keep(), logging.StreamHandler(stream)]
    handlers[1].setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    # Only the clients' records: credsign's own DEBUG log (tests/test_debug_log.py) shows a
    # presigned URL's scope, date and algorithm, which these tests count as query credentials.
    handlers[1].addFilter(lambda record: record.name.split(".")[0] in CLIENT_LOGGERS)
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield records, stream
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(old_level)


def _leaks(records: list[logging.LogRecord], text: str, secrets: set[str]) -> list[str]:
    found = []
    for record in records:
        if record.name.split(".")[0] not in CLIENT_LOGGERS:
            continue
        shown = [record.getMessage(), *(str(arg) for arg in record.args or ())]
        found += [f"{record.name}: {s!r}" for s in shown if any(v in s for v in secrets)]
    found += [line for line in text.splitlines() if any(v in line for v in secrets)]
    return found


#: An in-scope redirect: each client logs both hops (requests; httpx: see item 2 of issue 10).
REDIRECT = "/redirect-to?url=/get%3Fpage%3D2"


def assert_nothing_leaked(
    name: str, responses: list[httpx.Response] | list[requests.Response], captured: Captured
) -> None:
    record, org = parse_record(RECORDS[name]), ORGS.get(name)
    assert responses[-1].status_code == 200
    secrets: set[str] = set()
    for response in responses:
        request = response.request
        secrets |= secrets_sent(record, org, str(request.url), request.headers)
    records, stream = captured
    emitted = {r.name for r in records if r.name.split(".")[0] in CLIENT_LOGGERS}
    assert emitted & {"httpx", "urllib3.connectionpool"}
    assert _leaks(records, stream.getvalue(), secrets) == []
    assert "page" in stream.getvalue()  # what is not a credential stays readable


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_httpx_sync_logs_no_secret(name: str, httpbin_url: str, captured: Captured) -> None:
    auth = HttpxAuth(parse_record(RECORDS[name]), org=ORGS.get(name), follow_redirects=True)
    with httpx.Client(auth=auth) as client:
        response = client.get(f"{httpbin_url}/get?page=2")
    assert_nothing_leaked(name, [*response.history, response], captured)


@pytest.mark.parametrize("name", sorted(RECORDS))
async def test_httpx_async_logs_no_secret(name: str, httpbin_url: str, captured: Captured) -> None:
    auth = HttpxAuth(parse_record(RECORDS[name]), org=ORGS.get(name), follow_redirects=True)
    async with httpx.AsyncClient(auth=auth) as client:
        response = await client.get(f"{httpbin_url}/get?page=2")
    assert_nothing_leaked(name, [*response.history, response], captured)


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_requests_logs_no_secret(name: str, httpbin_url: str, captured: Captured) -> None:
    with requests.Session() as session:
        session.auth = RequestsAuth(parse_record(RECORDS[name]), org=ORGS.get(name))
        response = session.get(httpbin_url + REDIRECT)
    assert len(response.history) == 1
    assert_nothing_leaked(name, [*response.history, response], captured)


def test_the_off_switch_brings_the_raw_url_back(httpbin_url: str, captured: Captured) -> None:
    record = parse_record(RECORDS["api_key_query"])
    encoded = quote("log query/key+1=", safe="")
    records, stream = captured
    log_redaction.disable()
    try:
        with httpx.Client(auth=HttpxAuth(record)) as client:
            client.get(f"{httpbin_url}/get")
        with requests.Session() as session:
            session.auth = RequestsAuth(record)
            session.get(f"{httpbin_url}/get")
        raw = stream.getvalue()
        assert f"api_key={encoded}" in raw
        assert any(
            r.name == "urllib3.connectionpool" and encoded in r.getMessage() for r in records
        )
    finally:
        log_redaction.enable()
    records.clear()
    stream.truncate(0)
    with httpx.Client(auth=HttpxAuth(record)) as client:
        client.get(f"{httpbin_url}/get")
    assert encoded not in stream.getvalue()
    assert f"api_key={log_redaction.MASK}" in stream.getvalue()


@pytest.fixture
def hanging_up_url() -> Iterator[str]:
    """A server on 127.0.0.1 that closes every connection it accepts: clients retry."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)  # accept() wakes up to see stop
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connection, _ = server.accept()
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()
        thread.join(timeout=5)


def test_urllib3_retry_warnings_are_masked(hanging_up_url: str, captured: Captured) -> None:
    """urllib3 logs the URL of each retry at WARNING; its final error names it too."""
    record = parse_record(RECORDS["api_key_query"])
    encoded = quote("log query/key+1=", safe="")
    with requests.Session() as session:
        session.mount("http://", requests.adapters.HTTPAdapter(max_retries=2))
        session.auth = RequestsAuth(record)
        with pytest.raises(requests.ConnectionError) as caught:
            session.get(f"{hanging_up_url}/p")
    records, stream = captured
    assert any(r.levelno == logging.WARNING and "Retrying" in r.getMessage() for r in records)
    assert _leaks(records, stream.getvalue(), {encoded, "log query/key+1="}) == []
    # The exception is requests' own and holds the URL as sent; redact() masks it.
    assert encoded in str(caught.value)
    assert encoded not in log_redaction.redact(str(caught.value))


def test_the_filter_serves_handlers_of_ones_own(httpbin_url: str) -> None:
    """A handler's filters see records propagated from any logger, the caller's own too."""
    record = parse_record(RECORDS["api_key_query"])
    with httpx.Client(auth=HttpxAuth(record)) as client:
        response = client.get(f"{httpbin_url}/get")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(log_redaction.FILTER)
    own = logging.getLogger("tests.my_app")
    own.addHandler(handler)
    try:
        own.warning("fetched %s", response.request.url)
    finally:
        own.removeHandler(handler)
    assert stream.getvalue() == f"fetched {httpbin_url}/get?api_key={log_redaction.MASK}\n"


# --- Real peers: the review's redirect to a login page, through every client ----------


class _LoginRedirect(http.server.BaseHTTPRequestHandler):
    """On A, /v1/...: a 302 to B's login page with the URL asked for, and the same URL in
    Refresh, Set-Cookie and Content-Location. On B: 200."""

    login = ""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/v1/"):
            back = quote(f"http://{self.headers['Host']}{self.path}", safe="")
            self.send_response(302)
            self.send_header("Location", f"{self.login}/login?return_to={back}")
            self.send_header("Refresh", f"0; url={self.login}/login?return_to={back}")
            self.send_header("Set-Cookie", f"return_to={back}; Path=/; HttpOnly")
            self.send_header("Content-Location", f"/v1/orders?return_to={back}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def api_and_login() -> Iterator[tuple[str, str]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LoginRedirect) for _ in "ab"]
    api, login = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    _LoginRedirect.login = login
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield api, login
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


NESTED_SECRET = "SECRETKEY123"


def _nested_leaks(captured: Captured) -> list[str]:
    records, stream = captured
    shown = [f"{r.name}: {r.getMessage()}" for r in records]
    shown += [str(arg) for r in records for arg in r.args or ()]
    return [line for line in shown + stream.getvalue().splitlines() if NESTED_SECRET in line]


def _login_record(api: str) -> Record:
    return parse_record(
        {
            "authType": "API_KEY",
            "baseUrl": f"{api}/v1",
            "apiKey": {"key": "api_key", "value": NESTED_SECRET, "position": "query"},
        }
    )


def _assert_logged_masked(captured: Captured, login: str) -> None:
    assert _nested_leaks(captured) == []
    records, _ = captured
    messages = [r.getMessage() for r in records]
    assert any("Location" in m and f"return_to={MASK}" in m for m in messages)  # httpcore
    assert any(login in m and f"return_to={MASK}" in m for m in messages)  # httpx, INFO


def test_httpx_sync_logs_no_nested_key(api_and_login: tuple[str, str], captured: Captured) -> None:
    """The 302 (httpcore logs its headers), then the login page fetched as a browser would."""
    api, login = api_and_login
    with httpx.Client(auth=HttpxAuth(_login_record(api))) as client:
        response = client.get(f"{api}/v1/orders")
    assert response.status_code == 302
    assert httpx.get(response.headers["Location"]).status_code == 200
    auth = HttpxAuth(_login_record(api), follow_redirects=True)
    with httpx.Client(auth=auth) as client, pytest.raises(ScopeError):
        client.get(f"{api}/v1/orders")  # the hop out of scope would carry the key
    _assert_logged_masked(captured, login)


async def test_httpx_async_logs_no_nested_key(
    api_and_login: tuple[str, str], captured: Captured
) -> None:
    api, login = api_and_login
    async with httpx.AsyncClient(auth=HttpxAuth(_login_record(api))) as client:
        response = await client.get(f"{api}/v1/orders")
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(response.headers["Location"])).status_code == 200
    _assert_logged_masked(captured, login)


def test_requests_logs_no_nested_key(api_and_login: tuple[str, str], captured: Captured) -> None:
    """RequestsAuth refuses the hop itself; the login URL, fetched otherwise, is logged masked."""
    api, login = api_and_login
    with pytest.raises(ScopeError):
        requests.get(f"{api}/v1/orders", auth=RequestsAuth(_login_record(api)), timeout=10)
    back = quote(f"{api}/v1/orders?api_key={NESTED_SECRET}", safe="")
    assert requests.get(f"{login}/login?return_to={back}", timeout=10).status_code == 200
    assert _nested_leaks(captured) == []
    records, _ = captured
    assert any(
        r.name == "urllib3.connectionpool" and f"return_to={MASK}" in r.getMessage()
        for r in records
    )
