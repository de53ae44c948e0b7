"""Signers: what each record type puts on a request, through both request views."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from credsign import compile_signer, parse_record
from credsign.adapters import httpx_fast
from credsign.adapters.httpx import HttpxHead
from credsign.adapters.requests import RequestsHead
from credsign.records import CONTENT_TYPES
from credsign.signing import utc_now
from credsign.signing.query import encode_component, remove_params, set_param
from tests.strategies import header_values, records

URL = "https://api.example.com/v1/items"


def _sign_httpx(record: Any, url: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    request = httpx.Request("GET", url, headers=headers)
    compile_signer(parse_record(record)).sign(HttpxHead(request), utc_now)
    sent = {k: v for k, v in request.headers.items() if k != "host"}
    return str(request.url), sent


def _sign_requests(record: Any, url: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    request = requests.Request("GET", url, headers=headers).prepare()
    compile_signer(parse_record(record)).sign(RequestsHead(request), utc_now)
    return str(request.url), {k.lower(): v for k, v in request.headers.items()}


SIGNERS = [_sign_httpx, _sign_requests]


def _expected(record: dict[str, Any], request_headers: dict[str, str]) -> dict[str, str]:
    own = {k.lower(): v for k, v in request_headers.items()}
    expected = dict(own)
    for header in record.get("headers", []):
        expected.setdefault(header["key"].lower(), header["value"])
    if "contentType" in record:
        expected.setdefault("content-type", CONTENT_TYPES[record["contentType"]])
    auth_type = record["authType"]
    if auth_type == "BASIC_AUTH":
        pair = f"{record['username']}:{record['password']}".encode()
        expected["authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif auth_type == "BEARER_TOKEN":
        expected["authorization"] = "Bearer " + record["token"]
    elif auth_type == "API_KEY" and record["apiKey"]["position"] == "header":
        expected[record["apiKey"]["key"].lower()] = record["apiKey"]["value"]
    return expected


request_headers = st.dictionaries(
    st.sampled_from(["Authorization", "X-Trace", "Content-Type", "Accept", "X-API-KEY"]),
    header_values,
    max_size=3,
)
queries = st.lists(
    st.tuples(st.sampled_from(["a", "api_key", "k", "x y"]), st.text(max_size=5)), max_size=3
)


@pytest.mark.parametrize("sign", SIGNERS)
@given(record=records(), own_headers=request_headers, query=queries)
def test_any_record_yields_exactly_the_expected_headers_and_query(
    sign: Any, record: dict[str, Any], own_headers: dict[str, str], query: list[tuple[str, str]]
) -> None:
    url = str(httpx.URL(URL, params=query))
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    signed_url, sent = sign(record, url, own_headers)
    assert sent == _expected(record, own_headers)
    sent_query = parse_qsl(urlsplit(signed_url).query, keep_blank_values=True)
    api_key = record.get("apiKey", {})
    if api_key.get("position") == "query":
        name = api_key["key"]
        assert sent_query.count((name, api_key["value"])) == 1
        assert [p for p in sent_query if p[0] != name] == [p for p in query if p[0] != name]
    else:
        assert sent_query == query


@pytest.mark.parametrize("sign", SIGNERS)
@pytest.mark.parametrize(
    ("url", "expected_query"),
    [
        (URL, "api_key=s%20e%2Fc%2Br%26t%3D%C3%A9"),
        (URL + "?api_key=old", "api_key=s%20e%2Fc%2Br%26t%3D%C3%A9"),
        (URL + "?a=1&api_key=old&b=%2F&api_key", "a=1&b=%2F&api_key=s%20e%2Fc%2Br%26t%3D%C3%A9"),
        (URL + "?api%5Fkey=old&a=+", "a=+&api_key=s%20e%2Fc%2Br%26t%3D%C3%A9"),
    ],
)
def test_query_key_is_encoded_and_replaces_existing(
    sign: Any, url: str, expected_query: str
) -> None:
    record = {
        "authType": "API_KEY",
        "apiKey": {"key": "api_key", "value": "s e/c+r&t=é", "position": "query"},
    }
    signed_url, _ = sign(record, url, {})
    assert urlsplit(signed_url).query == expected_query


def test_requests_fragment_is_kept() -> None:
    record = {"authType": "API_KEY", "apiKey": {"key": "k", "value": "v", "position": "query"}}
    signed_url, _ = _sign_requests(record, URL + "?a=1#frag", {})
    assert signed_url == URL + "?a=1&k=v#frag"


@pytest.mark.parametrize("sign", SIGNERS)
def test_record_authorization_replaces_the_requests_own(sign: Any) -> None:
    record = {"authType": "BEARER_TOKEN", "token": "record-token"}
    _, sent = sign(record, URL, {"Authorization": "Bearer mine", "X-Other": "1"})
    assert sent == {"authorization": "Bearer record-token", "x-other": "1"}


def test_httpx_repeated_header_is_replaced_once() -> None:
    request = httpx.Request("GET", URL, headers=[("Authorization", "a"), ("Authorization", "b")])
    signer = compile_signer(parse_record({"authType": "BEARER_TOKEN", "token": "t"}))
    signer.sign(HttpxHead(request), utc_now)
    assert request.headers.get_list("authorization") == ["Bearer t"]


@pytest.mark.parametrize(
    "record",
    [
        {"authType": "BEARER_TOKEN", "token": "t"},
        {
            "authType": "API_KEY",
            "apiKey": {"key": "k", "value": "v", "position": "query"},
            "headers": [{"key": "X-S", "value": "1"}],
            "contentType": "json",
        },
    ],
)
def test_public_api_fallback_gives_the_same_request(
    monkeypatch: pytest.MonkeyPatch, record: dict[str, Any]
) -> None:
    fast = _sign_httpx(record, URL + "?a=1", {"Authorization": "x"})
    monkeypatch.setattr(httpx_fast, "FAST_URL", False)
    monkeypatch.setattr("credsign.adapters.httpx.FAST_HEADERS", False)
    assert _sign_httpx(record, URL + "?a=1", {"Authorization": "x"}) == fast


def test_probes_find_the_fast_paths_on_this_httpx() -> None:
    assert httpx_fast.FAST_HEADERS and httpx_fast.FAST_URL


@pytest.mark.parametrize("head_of", [HttpxHead, RequestsHead])
def test_strip_removes_everything_the_signer_set(head_of: Any) -> None:
    record = parse_record(
        {
            "authType": "API_KEY",
            "apiKey": {"key": "api_key", "value": "v", "position": "query"},
            "headers": [{"key": "X-Static", "value": "1"}],
        }
    )
    if head_of is HttpxHead:
        request: Any = httpx.Request("GET", URL + "?a=1", headers={"X-Mine": "2"})
    else:
        request = requests.Request("GET", URL + "?a=1", headers={"X-Mine": "2"}).prepare()
    signer = compile_signer(record)
    head = head_of(request)
    signer.sign(head, utc_now)
    assert "api_key=v" in str(request.url) and "X-Static" in request.headers
    signer.strip(head)
    assert str(request.url) == URL + "?a=1"
    assert "X-Static" not in request.headers and request.headers["X-Mine"] == "2"


def test_query_helpers() -> None:
    assert encode_component("a b~._-/é") == "a%20b~._-%2F%C3%A9"
    assert set_param("", "k", "k=v") == "k=v"
    assert set_param("a=1", "k", "k=v") == "a=1&k=v"
    assert set_param("k=1&a=2&k", "k", "k=v") == "a=2&k=v"
    assert set_param("a=1&&b", "k", "k=v") == "a=1&&b&k=v"  # untouched when nothing matches
    assert set_param("a=1&&k=2", "k", "k=v") == "a=1&k=v"
    assert remove_params("k=1&a=2&%6B=3", {"k"}) == "a=2"


def test_signer_repr_shows_shape_not_secrets() -> None:
    signer = compile_signer(
        parse_record(
            {
                "authType": "BASIC_AUTH",
                "username": "u",
                "password": "hunter2-secret",
                "baseUrl": "https://api.example.com/v1",
            }
        )
    )
    assert repr(signer) == (
        "HeaderSigner(auth_type='BASIC_AUTH', sets=['authorization'], "
        "scope='https://api.example.com/v1')"
    )


@pytest.mark.parametrize("sign", SIGNERS)
def test_several_api_keys_in_headers_and_query(sign: Any) -> None:
    record = {
        "authType": "API_KEY",
        "apiKeys": [
            {"key": "DD-API-KEY", "value": "api-secret", "position": "header"},
            {"key": "DD-APPLICATION-KEY", "value": "app-secret", "position": "header"},
            {"key": "sig", "value": "s p", "position": "query"},
        ],
    }
    signed_url, sent = sign(record, URL + "?sig=old&a=1", {"DD-API-KEY": "mine"})
    assert sent == {"dd-api-key": "api-secret", "dd-application-key": "app-secret"}
    assert urlsplit(signed_url).query == "a=1&sig=s%20p"
    signer = compile_signer(parse_record(record))
    assert signer.header_names == {"dd-api-key", "dd-application-key"}
    assert signer.query_names == {"sig"}
