# ruff: noqa: RUF001, RUF002, RUF003 - look-alike characters are what this file tests
"""Scope against look-alike hosts: credsign's decision is the clients' own wire comparison.

httpx encodes a host with ``idna.encode`` (IDNA 2008), urllib3 (under requests) label by
label with the same package, and Python's ``idna`` codec (IDNA 2003) maps ``ß`` to ``ss``
and ``ς`` to ``σ`` and drops joiners. A record's credentials go only where the host a
client puts on the wire equals the scope's host on the wire.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest
import requests
import urllib3
from hypothesis import example, given, settings
from hypothesis import strategies as st
from requests.utils import requote_uri

from credsign import HttpxAuth, RecordError, RequestsAuth, parse_record
from credsign.adapters import httpx_fast
from credsign.adapters.httpx import HttpxHead
from credsign.adapters.requests import _redirect_target
from credsign.scope import Scope, Target, wire_host
from credsign.signing import as_signer

TOKEN = "tok-look-alike"


def httpx_wire(host: str) -> str | None:
    """The host httpx connects to and sends in ``Host``, or None if it refuses the URL."""
    try:
        request = httpx.Request("GET", f"https://{host}/p")
    except httpx.InvalidURL:
        return None
    if not request.url.raw_host:
        return None
    assert request.headers["host"] == request.url.raw_host.decode("ascii")
    return request.url.raw_host.decode("ascii")


def requests_wire(url: str) -> str | None:
    """The host urllib3 connects to (and http.client names in ``Host``) for a requests URL."""
    try:
        host = urllib3.util.parse_url(url).host
    except urllib3.exceptions.LocationParseError:
        return None
    return None if host is None else host


def prepared_url(host: str) -> str | None:
    try:
        return requests.Request("GET", f"https://{host}/p").prepare().url
    except (requests.exceptions.InvalidURL, UnicodeError):
        return None


def scope_for(host: str) -> Scope | None:
    """The scope of a record with baseUrl ``https://host/``, or None if parse_record refuses it."""
    try:
        record = parse_record(
            {"authType": "BEARER_TOKEN", "token": TOKEN, "baseUrl": f"https://{host}/"}
        )
    except RecordError as error:
        assert [path for path, _ in error.issues] == ["baseUrl"]
        assert f"//{host}/" not in str(error)
        return None
    scope = as_signer(record).scope
    assert scope is not None
    return scope


ALPHABET = st.sampled_from(
    [
        *"abcsz-0_",
        *"ßςσΣüÜİ",
        "\u200d",  # ZERO WIDTH JOINER
        "\u200c",  # ZERO WIDTH NON-JOINER
        "\u0301",  # COMBINING ACUTE ACCENT
        "ａ",  # FULLWIDTH LATIN SMALL LETTER A
        "Ｓ",  # FULLWIDTH LATIN CAPITAL LETTER S
        "。",  # IDEOGRAPHIC FULL STOP (a dot under UTS 46)
        "ﬀ",  # LATIN SMALL LIGATURE FF
        "\u2028",  # LINE SEPARATOR
        "S",
        "A",
    ]
)
labels = st.text(ALPHABET, min_size=0, max_size=6)
hosts = st.lists(labels, min_size=1, max_size=3).map(".".join)

LOOK_ALIKES = [
    ("strasse.de", "straße.de"),
    ("straße.de", "strasse.de"),
    ("xn--strae-oqa.de", "straße.de"),
    ("xn--strae-oqa.de", "STRAßE.de"),
    ("σa.gr", "ςa.gr"),
    ("xn--a-zmb.gr", "ςa.gr"),
    ("ab.com", "a\u200db.com"),
    ("ab.com", "ａb.com"),
    ("ab.com", "a\u200cb.com"),
    ("example.com", "ｅｘａｍｐｌｅ.com"),
    ("example.com", "EXAMPLE.Com"),
    ("ab.com", "ab．com"),  # FULLWIDTH FULL STOP
    ("bücher.de", "BÜCHER.de"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("ab.com", "ab。com"),
    ("a_b.xn--zca.de", "a_b.ß.de"),
    ("xn--zca.de", "ß。de"),
    ("ss.de", "ß.de"),
    ("xn--a-ymb.a", "AΣ.A"),  # per label, urllib3 lower-cases Σ to a final ς; httpx to σ
    ("xn--a-0mb.a", "AΣ.A"),
    ("AΣ.A", "xn--a-0mb.a"),
]


def _examples(test: Any) -> Any:
    for scope_host, target_host in LOOK_ALIKES:
        test = example(scope_host, target_host)(test)
    return test


@settings(max_examples=300, deadline=None)
@given(hosts, hosts)
@_examples
def test_scope_decision_is_the_clients_wire_comparison(scope_host: str, target_host: str) -> None:
    scope = scope_for(scope_host)
    if scope is None:
        return
    # Whatever parse_record accepts, both clients send to the scope's host on the wire.
    assert httpx_wire(scope_host) == scope.host
    assert requests_wire(prepared_url(scope_host) or "") == scope.host

    url = f"https://{target_host}/p"
    by_httpx = httpx_wire(target_host)
    if by_httpx is not None:
        request = httpx.Request("GET", url)
        assert scope.contains(HttpxHead(request).target()) == (by_httpx == scope.host)
    if (prepared := prepared_url(target_host)) is not None:
        sent = requests_wire(prepared)
        assert scope.contains(Target.from_url(prepared)) == (sent == scope.host)
    # The one wire-host function: what the clients send, or nothing where they would disagree.
    by_urllib3 = requests_wire(url)
    agreed = by_httpx if by_urllib3 is None or by_urllib3 == by_httpx else by_urllib3
    if by_httpx is not None and by_urllib3 is not None and by_httpx != by_urllib3:
        assert not scope.contains(Target.from_url(url))
    elif agreed is not None:
        assert Target.from_url(url).host == agreed
    # A redirect: requests follows the Location as it is, urllib3 encodes the host on sending.
    location = requote_uri(url)
    if (sent := requests_wire(location)) is not None:
        inside = scope.contains(Target.from_url(location))
        if by_httpx is not None and by_httpx != sent:
            assert not inside  # the clients would reach different hosts: no credentials
        else:
            assert inside == (sent == scope.host)


@pytest.mark.parametrize(("scope_host", "target_host"), LOOK_ALIKES)
def test_look_alike_hosts_get_no_credentials_through_httpx(
    scope_host: str, target_host: str
) -> None:
    scope = scope_for(scope_host)
    sent = httpx_wire(target_host)
    if scope is None or sent is None or sent == scope.host:
        return
    record = parse_record(
        {"authType": "BEARER_TOKEN", "token": TOKEN, "baseUrl": f"https://{scope_host}/"}
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.raw_host.decode() == scope.host:
            location = f"https://{target_host}/next".encode()
            return httpx.Response(307, headers=[(b"Location", location)])
        return httpx.Response(200)

    auth = HttpxAuth(record, follow_redirects=True)
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.get(f"https://{scope_host}/start")
    assert [request.url.raw_host.decode() for request in seen] == [scope.host, sent]
    assert "authorization" in seen[0].headers
    assert "authorization" not in seen[1].headers


@pytest.mark.parametrize(("scope_host", "target_host"), LOOK_ALIKES)
def test_look_alike_redirects_get_no_credentials_through_requests(
    scope_host: str, target_host: str
) -> None:
    scope = scope_for(scope_host)
    location = requote_uri(f"https://{target_host}/next")
    sent = requests_wire(location)
    if scope is None or sent is None or sent == scope.host:
        return
    response = requests.Response()
    response.status_code = 307
    response.url = f"https://{scope.host}/start"
    # http.client hands requests header bytes decoded as Latin-1.
    response.headers["Location"] = f"https://{target_host}/next".encode().decode("latin-1")
    assert _redirect_target(response) == location
    assert not scope.contains(Target.from_url(_redirect_target(response)))


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("straße.de", id="sharp-s"),
        pytest.param("STRAßE.de", id="sharp-s-upper"),
        pytest.param("ςa.gr", id="final-sigma"),
        pytest.param("a\u200db.com", id="zwj"),
        pytest.param("a\u200cb.com", id="zwnj"),
        pytest.param("ｅｘａｍｐｌｅ.com", id="fullwidth"),
        pytest.param("ab。com", id="ideographic-dot"),
        pytest.param("a..b.com", id="empty-label"),
        pytest.param("a" * 64 + ".com", id="label-over-63"),
        pytest.param("a\u2028b.com", id="line-separator"),
        pytest.param("%61pi.example.com", id="percent-escape"),
        pytest.param("a b.com", id="space"),
        pytest.param("AΣ.A", id="clients-lower-case-apart"),
    ],
)
def test_base_url_hosts_the_clients_disagree_on_are_refused(host: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record({"authType": "BEARER_TOKEN", "token": TOKEN, "baseUrl": f"https://{host}/v1"})
    assert [path for path, _ in caught.value.issues] == ["baseUrl"]
    assert host not in str(caught.value) and host not in repr(caught.value.args)


@pytest.mark.parametrize(
    ("host", "wire"),
    [
        ("API.Example.com", "api.example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("σa.gr", "xn--a-zmb.gr"),
        ("xn--strae-oqa.de", "xn--strae-oqa.de"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("my_service.internal", "my_service.internal"),
        ("example.com.", "example.com."),
    ],
)
def test_base_url_hosts_every_client_encodes_alike_are_accepted(host: str, wire: str) -> None:
    scope = scope_for(f"{host}:8443")
    assert scope is not None
    assert scope.host == wire
    assert wire_host(wire) == wire


@settings(max_examples=200, deadline=None)
@given(hosts)
@example("a..b")
@example("a" * 64)
@example("a\u2028b")
def test_accepted_base_url_hosts_sign_through_every_client(host: str) -> None:
    if scope_for(host) is None:
        return
    record = parse_record(
        {"authType": "BEARER_TOKEN", "token": TOKEN, "baseUrl": f"https://{host}/v1"}
    )
    request = httpx.Request("GET", f"https://{host}/v1/x")
    flow = HttpxAuth(record).auth_flow(request)
    assert next(flow).headers["authorization"] == f"Bearer {TOKEN}"
    prepared = requests.Request("GET", f"https://{host}/v1/x").prepare()
    assert RequestsAuth(record)(prepared).headers["Authorization"] == f"Bearer {TOKEN}"


# --- IP literals: hosts compare case-insensitively on the wire --------------------------------


@st.composite
def ip_literal_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """Two spellings of IP literals (IPv6 in any case, compressed or not; IPv4 forms)."""
    v6 = draw(st.booleans())
    first = draw(st.integers(0, 2**128 - 1 if v6 else 2**32 - 1))
    second = first if draw(st.booleans()) else draw(st.integers(0, 2**128 - 1 if v6 else 2**32 - 1))

    def spell(number: int) -> str:
        if not v6:
            address = str(ipaddress.IPv4Address(number))
            if draw(st.booleans()):
                address = ".".join(part.zfill(3) for part in address.split("."))
            return address
        ip6 = ipaddress.IPv6Address(number)
        form = draw(st.sampled_from(["compressed", "exploded", "mapped"]))
        text = ip6.exploded if form == "exploded" else ip6.compressed
        if form == "mapped":
            text = f"::ffff:{ipaddress.IPv4Address(number & 0xFFFFFFFF)}"
        flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
        cased = (c.upper() if flip else c for c, flip in zip(text, flips, strict=True))
        return "[" + "".join(cased) + "]"

    return spell(first), spell(second)


def httpx_ip_wire(host: str) -> str | None:
    """The host httpx connects to for ``host``, lower-cased: hosts compare case-insensitively."""
    try:
        return httpx.Request("GET", f"http://{host}:8080/p").url.raw_host.decode("ascii").lower()
    except httpx.InvalidURL:
        return None


def requests_ip_wire(host: str) -> str | None:
    url = prepared_url(f"{host}:8080")
    return None if url is None else (requests_wire(url) or "").strip("[]").lower()


@settings(max_examples=200, deadline=None)
@given(ip_literal_pairs())
@example(("[::FFFF:7F00:1]", "[::ffff:7f00:1]"))  # the review's case
@example(("[::ffff:7f00:1]", "[::FFFF:7F00:1]"))
@example(("[::FFFF:127.0.0.1]", "[::ffff:127.0.0.1]"))
@example(("[0:0:0:0:0:0:0:1]", "[::1]"))
@example(("127.0.0.1", "127.000.000.001"))
def test_ip_literal_scope_decision_is_the_clients_wire_comparison(pair: tuple[str, str]) -> None:
    scope_host, target_host = pair
    base_url = f"http://{scope_host}:8080/v1"
    try:
        record = parse_record({"authType": "BEARER_TOKEN", "token": TOKEN, "baseUrl": base_url})
    except RecordError:
        return
    scope = as_signer(record).scope
    assert scope is not None
    # Whatever parse_record accepts, both clients reach the scope's host, and sign there.
    assert httpx_ip_wire(scope_host) in (scope.host, None)
    assert requests_ip_wire(scope_host) == scope.host
    if httpx_ip_wire(scope_host) is not None:
        flow = HttpxAuth(record).auth_flow(httpx.Request("GET", f"http://{scope_host}:8080/v1/x"))
        assert next(flow).headers["authorization"] == f"Bearer {TOKEN}"
    prepared = requests.Request("GET", f"http://{scope_host}:8080/v1/x").prepare()
    assert RequestsAuth(record)(prepared).headers["Authorization"] == f"Bearer {TOKEN}"

    if (by_httpx := httpx_ip_wire(target_host)) is not None:
        request = httpx.Request("GET", f"http://{target_host}:8080/v1/x")
        assert scope.contains(HttpxHead(request).target()) == (by_httpx == scope.host)
    if (url := prepared_url(f"{target_host}:8080")) is not None:
        target = Target.from_url(url.replace("https:", "http:").replace("/p", "/v1/x"))
        assert scope.contains(target) == (requests_ip_wire(target_host) == scope.host)


@pytest.mark.parametrize("fast", [True, False], ids=["httpx-internals", "public-api"])
def test_httpx_targets_name_ip_literals_in_lower_case(
    monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    """Both ways ``target_of`` reads a URL (see ``httpx_fast``) agree with requests."""
    monkeypatch.setattr(httpx_fast, "FAST_URL", fast and httpx_fast.FAST_URL)
    url = "http://[::FFFF:7F00:1]:8080/v1/x"
    target = httpx_fast.target_of(httpx.URL(url))
    assert target == Target.from_url(url) == Target("http", "::ffff:7f00:1", 8080, "/v1/x")
