"""Issue 10, item 10: whatever ``parse_record`` accepts compiles and signs.

Any text may reach a record: lone surrogates (JSON ``"\\ud800"`` decodes to one),
U+2028, NUL, BOMs, non-characters. A record either refuses it with a
:class:`RecordError` naming the field, or signs every in-scope request with it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import requests
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from credsign import HttpxAuth, RecordError, RequestsAuth, compile_signer, parse_record
from credsign.records import Aws4Record, HmacSha256Record, Record
from credsign.signing.rfc9421_rules import Component
from credsign.testing import VerifyingAdapter, VerifyingTransport
from credsign.testing.strategies import records
from credsign.testing.strategies import requests as in_scope_requests
from tests.leaks import assert_no_secret

_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
_ODD = st.sampled_from(
    '\ud800\udfff\u2028\u2029\x00\x85\ufeff\ufffe\U0010ffff\t\r\n é%&=+#?/:"\\\x7f~'
)
#: Any text at all, surrogates included (``st.characters()`` leaves them out); most of it
#: printable ASCII or clean Unicode, so that edited records are often accepted and signed.
_ANY_TEXT = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=8),
    st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=8),
    st.text(st.one_of(st.characters(), _SURROGATES, _ODD), min_size=1, max_size=8),
    _ODD,
)
#: Fields this file leaves alone: the type is the record's shape, baseUrl has its own tests.
_FIXED = frozenset({"authType", "baseUrl"})
_AWS4_KEYS = ("accessKey", "secretKey", "sessionToken")


def _text_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every string in a JSON-shaped value."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, child in value.items():
            if not (path == () and key in _FIXED):
                yield from _text_leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _text_leaves(child, (*path, index))


def _set(data: Any, path: tuple[Any, ...], value: str) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def _edited(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record's mapping with arbitrary text put into some of its string fields."""
    record = draw(records(organizations=True))
    data = copy.deepcopy(record.to_dict(reveal_secrets=True))
    if data["authType"] == "AWS4" and draw(st.booleans()):  # the strategy gives AWS4 no entries
        keys = {name: data.pop(name) for name in _AWS4_KEYS if name in data}
        data["organizations"] = [{"orgId": "org-0", **keys}]
    leaves = list(_text_leaves(data))
    for path in draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=2)) if leaves else []:
        text = draw(_ANY_TEXT)
        current: str = _get(data, path)
        how = draw(st.sampled_from(["replace", "insert", "append"]))
        if how == "replace":
            _set(data, path, text)
        else:
            at = draw(st.integers(0, len(current))) if how == "insert" else len(current)
            _set(data, path, current[:at] + text + current[at:])
    return data


def _credential_sets(record: Record) -> list[str | None]:
    """``None`` for the record's own credentials, if any, and each organization's id."""
    organizations = getattr(record, "organizations", ())
    # An AWS4 record without keys of its own signs with a credential source instead.
    keyless = isinstance(record, Aws4Record) and record.access_key is None
    own: list[str | None] = [None] if record.has_credentials() and not keyless else []
    return own + [entry.org_id for entry in organizations]


def _covering(record: Record, request: httpx.Request) -> httpx.Request:
    """``request`` with the fields and query parameters ``record`` covers (an HMAC record
    refuses to sign a request without them: that is a property of the request)."""
    components = getattr(record, "components", None) or ()
    url, headers = request.url, request.headers.copy()
    for component in map(Component.parse, components):
        if component.query_name is not None:
            url = url.copy_set_param(unquote(component.query_name), "x")
        elif not component.name.startswith("@") and component.name not in headers:
            headers[component.name] = "x"
    return httpx.Request(request.method, url, headers=headers, content=request.content)


def _assert_signs(record: Record, request: httpx.Request) -> None:
    """Every credential set of ``record`` signs ``request``, as its verifier checks."""
    request = _covering(record, request)
    for org in _credential_sets(record):
        compile_signer(record, org)
        transport = VerifyingTransport(record, org=org)
        with httpx.Client(transport=transport, auth=HttpxAuth(record, org=org)) as client:
            response = client.send(copy.copy(request))
        assert response.status_code == 200, response.json()
        session = requests.Session()
        session.mount("https://", VerifyingAdapter(record, org=org))
        session.mount("http://", VerifyingAdapter(record, org=org))
        answer = session.request(
            request.method,
            str(request.url),
            headers=dict(request.headers),
            data=request.content or None,
            auth=RequestsAuth(record, org=org),
        )
        assert answer.status_code == 200, answer.json()


_PLAIN_GET = httpx.Request("GET", "https://api.example.com/v1/items?q=1")
_AWS4: dict[str, Any] = {"authType": "AWS4", "region": "us-east-1", "service": "s3"}
_EXAMPLES: list[dict[str, Any]] = [
    {**_AWS4, "organizations": [{"orgId": "o", "accessKey": "AK", "secretKey": "\u2028\x85"}]},
    {**_AWS4, "organizations": [{"orgId": "o", "accessKey": "AK", "secretKey": "s\udfff"}]},
    {
        **_AWS4,
        "organizations": [
            {"orgId": "o", "accessKey": "AK", "secretKey": "s", "sessionToken": "t\ud800"}
        ],
    },
    {
        "authType": "HMAC_SHA256",
        "secretEncoding": "base64",
        "organizations": [{"orgId": "o", "clientId": "c", "clientSecret": "0"}],
    },
    {"authType": "BASIC_AUTH", "username": "u", "password": "p\ud800"},
    {"authType": "BASIC_AUTH", "username": "\udfffu", "password": "p"},
    {"authType": "BASIC_AUTH", "username": "u\u2028", "password": "\x85\ufeff\U0010ffff"},
    {"authType": "BEARER_TOKEN", "token": "t\ud800"},
    {"authType": "API_KEY", "apiKey": {"key": "k", "value": "v\ud800", "position": "query"}},
    {"authType": "API_KEY", "apiKey": {"key": "k\udc00", "value": "v", "position": "query"}},
    {"authType": "API_KEY", "apiKey": {"key": "k\u2028", "value": "\u2029v", "position": "query"}},
    {"authType": "API_KEY", "apiKeys": [{"key": "K", "value": "v\ud800"}]},
    {"authType": "AWS4", "accessKey": "AK", "secretKey": "s\ud800", "region": "r", "service": "s"},
    {"authType": "AWS4", "accessKey": "AK", "secretKey": "s\u2028", "region": "r", "service": "s"},
    {
        "authType": "AWS4",
        "accessKey": "AK",
        "secretKey": "s",
        "sessionToken": "t\udfff",
        "region": "r",
        "service": "s",
    },
    {"authType": "HMAC_SHA256", "clientId": "c\ud800", "clientSecret": "s"},
    {"authType": "HMAC_SHA256", "clientId": "c", "clientSecret": "s\ud800"},
    {"authType": "HMAC_SHA256", "clientId": "c", "clientSecret": "\u2028\x85"},
    {"authType": "NO_AUTH", "headers": [{"key": "X-A", "value": "v\ud800"}]},
    {"authType": "NO_AUTH", "label": "l\ud800"},
    {"authType": "NO_AUTH", "authId": "a\ud800", "integrationId": "i\udfff"},
    {
        "authType": "BASIC_AUTH",
        "organizations": [{"orgId": "o\ud800", "username": "u", "password": "p"}],
    },
    {
        "authType": "BASIC_AUTH",
        "organizations": [{"orgId": "o", "username": "u", "password": "p\ud800"}],
    },
    {
        "authType": "API_KEY",
        "organizations": [
            {"orgId": "o", "apiKey": {"key": "k", "value": "\udfff", "position": "query"}}
        ],
    },
]


@st.composite
def _cases(draw: st.DrawFn) -> tuple[dict[str, Any], httpx.Request]:
    data = draw(_edited())
    base = data.get("baseUrl") or "https://api.example.com"
    return data, draw(in_scope_requests(base))


def _check(data: dict[str, Any], request: httpx.Request) -> None:
    """``data``, as a mapping and as JSON text, is refused or signs ``request``.

    The two may differ: in JSON text ``"\\ud800\\udc00"`` is one character (U+10000),
    in a mapping two lone surrogates.
    """
    for form in (data, json.dumps(data)):
        try:
            record = parse_record(form)
        except RecordError as error:
            assert error.issues
            event("refused")
            continue
        event(f"accepted {record.auth_type}")
        _assert_signs(record, request)


def _with_examples(test: Any) -> Any:
    for data in _EXAMPLES:
        test = example((data, _PLAIN_GET))(test)
    return test


@settings(max_examples=200, deadline=None)
@_with_examples
@given(_cases())
def test_accepted_records_sign_any_in_scope_request(
    case: tuple[dict[str, Any], httpx.Request],
) -> None:
    _check(*case)


_UNICODE = "must be valid Unicode text (no lone surrogates)"
_BASE64 = "is not valid base64 (secretEncoding)"
_HMAC64: dict[str, Any] = {"authType": "HMAC_SHA256", "secretEncoding": "base64"}
_REFUSED = [
    ({"authType": "BASIC_AUTH", "username": "u", "password": "p\ud800"}, "password", _UNICODE),
    ({"authType": "BASIC_AUTH", "username": "\udfffu", "password": "p"}, "username", _UNICODE),
    (
        {"authType": "API_KEY", "apiKey": {"key": "k", "value": "v\ud800", "position": "query"}},
        "apiKey.value",
        _UNICODE,
    ),
    (
        {"authType": "API_KEY", "apiKey": {"key": "k\udc00", "value": "v", "position": "query"}},
        "apiKey.key",
        _UNICODE,
    ),
    (
        {
            "authType": "AWS4",
            "accessKey": "A",
            "secretKey": "\ud800",
            "region": "r",
            "service": "s",
        },
        "secretKey",
        _UNICODE,
    ),
    (
        {"authType": "HMAC_SHA256", "clientId": "c", "clientSecret": "s\ud800"},
        "clientSecret",
        _UNICODE,
    ),
    ({"authType": "NO_AUTH", "label": "l\ud800"}, "label", _UNICODE),
    ({"authType": "NO_AUTH", "authId": "a\ud800"}, "authId", _UNICODE),
    ({"authType": "NO_AUTH", "integrationId": "i\udfff"}, "integrationId", _UNICODE),
    (
        {
            "authType": "BASIC_AUTH",
            "organizations": [{"orgId": "o\ud800", "username": "u", "password": "p"}],
        },
        "organizations[0].orgId",
        _UNICODE,
    ),
    (
        {
            "authType": "BASIC_AUTH",
            "organizations": [{"orgId": "o", "username": "u", "password": "\ud800"}],
        },
        "organizations[0].password",
        _UNICODE,
    ),
    # An entry's secret is decoded with its record's secretEncoding.
    (
        {**_HMAC64, "organizations": [{"orgId": "o", "clientId": "c", "clientSecret": "0"}]},
        "organizations[0].clientSecret",
        _BASE64,
    ),
    (
        {**_HMAC64, "organizations": [{"orgId": "o", "clientId": "c", "clientSecret": "\xa0AA="}]},
        "organizations[0].clientSecret",
        _BASE64,
    ),
]


@pytest.mark.parametrize(("data", "path", "reason"), _REFUSED)
def test_unsignable_text_is_refused_naming_the_field(
    data: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(data)
    assert (path, reason) in caught.value.issues
    assert_no_secret(caught.value, "\ud800", "\udfff", "\udc00", "\xa0AA=")


def test_entries_take_the_secret_encoding_of_their_record() -> None:
    data = {
        **_HMAC64,
        "organizations": [{"orgId": "o", "clientId": "c", "clientSecret": "AAEC"}],
    }
    record = parse_record(data)
    assert record.to_dict(reveal_secrets=True) == data
    entry = record.for_organization("o")
    assert isinstance(entry, HmacSha256Record)
    assert entry.secret_bytes() == b"\x00\x01\x02"
    shared = {**data, "organizations": [{**data["organizations"][0], "secretEncoding": "utf-8"}]}
    with pytest.raises(RecordError, match=r"organizations\[0\]\.secretEncoding: is shared"):
        parse_record(shared)
