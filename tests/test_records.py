"""Records: parsing, validation errors, round trips and secrecy."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import credsign
from credsign import RecordError, parse_record
from tests.leaks import assert_no_secret
from tests.strategies import records

ISSUE_EXAMPLES: list[dict[str, Any]] = [
    {
        "authType": "API_KEY",
        "apiKey": {"key": "X-API-KEY", "value": "k3y-s3cret", "position": "header"},
        "headers": [{"key": "X-Request-Source", "value": "sigmamind"}],
    },
    {"authType": "BEARER_TOKEN", "token": "eyJhbGciOiJIUzI1NiJ9.e30.sig"},
    {"authType": "BASIC_AUTH", "username": "api_user@example.com", "password": "s3cretP@ssword"},
    {"authType": "NO_AUTH", "headers": [{"key": "X-Request-Source", "value": "sigmamind"}]},
    {
        "authType": "AWS4",
        "accessKey": "AKIDEXAMPLE",
        "secretKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "sessionToken": "tok3n",
        "region": "us-east-1",
        "service": "execute-api",
    },
    {"authType": "HMAC_SHA256", "clientId": "my-client", "clientSecret": "shared-s3cret"},
]
SECRET_FIELDS = {
    "password",
    "token",
    "secretKey",
    "sessionToken",
    "clientSecret",
}


@pytest.mark.parametrize("data", ISSUE_EXAMPLES, ids=lambda d: d["authType"])
def test_issue_examples_parse_and_round_trip(data: dict[str, Any]) -> None:
    record = parse_record(data)
    assert record.auth_type == data["authType"]
    assert record.to_dict(reveal_secrets=True) == data
    assert parse_record(json.dumps(data)) == record
    assert parse_record(json.dumps(data).encode()) == record


@given(records())
def test_any_valid_record_round_trips_through_json(data: dict[str, Any]) -> None:
    record = parse_record(data)
    text = record.to_json(reveal_secrets=True)
    assert parse_record(text) == record
    assert json.loads(text) == data


def test_metadata_fields_round_trip() -> None:
    data = {
        "authType": "BEARER_TOKEN",
        "token": "t0ken-value",
        "authId": "auth_abcdefghijkl",
        "integrationId": "crm",
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-02T11:30:00Z",
        "label": "CRM prod",
        "environment": "test",
        "baseUrl": "https://crm.example.com/api",
        "contentType": "xml",
    }
    assert parse_record(data).to_dict(reveal_secrets=True) == data


def test_fields_of_another_auth_type_are_dropped() -> None:
    record = parse_record(
        {
            "authType": "BEARER_TOKEN",
            "token": "t0ken-value",
            "username": "someone",
            "password": "pw",
            "apiKey": {"key": "X", "value": "v"},
        }
    )
    assert record.to_dict(reveal_secrets=True) == {
        "authType": "BEARER_TOKEN",
        "token": "t0ken-value",
    }
    assert not hasattr(record, "username")


def test_records_are_immutable() -> None:
    record = parse_record(ISSUE_EXAMPLES[1])
    with pytest.raises(ValidationError):
        record.token = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ({}, "authType", "is required"),
        ({"authType": "OAUTH9"}, "authType", "unknown auth type 'OAUTH9'"),
        ({"authType": 5}, "authType", "unknown auth type"),
        ({"authType": "BEARER_TOKEN"}, "token", "is required"),
        ({"authType": "BASIC_AUTH", "password": "p"}, "username", "is required"),
        ({"authType": "BASIC_AUTH", "username": "u"}, "password", "is required"),
        ({"authType": "BASIC_AUTH", "username": "u" * 257, "password": "p"}, "username", "256"),
        ({"authType": "BASIC_AUTH", "username": "u", "password": "p" * 513}, "password", "512"),
        ({"authType": "BASIC_AUTH", "username": "a:b", "password": "p"}, "username", "':'"),
        ({"authType": "API_KEY"}, "apiKey", "is required (or apiKeys, or organizations)"),
        (
            {
                "authType": "API_KEY",
                "apiKey": {"key": "X-K", "value": "a"},
                "apiKeys": [{"key": "x-k", "value": "b"}],
            },
            "apiKeys",
            "given twice",
        ),
        (
            {"authType": "API_KEY", "apiKey": {"key": "k", "value": "v", "position": "body"}},
            "apiKey.position",
            "'header' or 'query'",
        ),
        (
            {"authType": "API_KEY", "apiKey": {"key": "bad key", "value": "v"}},
            "apiKey.key",
            "header name",
        ),
        (
            {"authType": "API_KEY", "apiKey": {"key": "Host", "value": "v"}},
            "apiKey.key",
            "set by the HTTP client",
        ),
        (
            {"authType": "NO_AUTH", "headers": [{"key": "X A", "value": "v"}]},
            "headers[0].key",
            "RFC 9110 token",
        ),
        (
            {"authType": "NO_AUTH", "headers": [{"key": "X-A", "value": "v\r\nX-B: 1"}]},
            "headers[0].value",
            "CR, LF, NUL",
        ),
        (
            {"authType": "NO_AUTH", "headers": [{"key": "X-A", "value": "x" * 8193}]},
            "headers[0].value",
            "8192",
        ),
        (
            {"authType": "NO_AUTH", "headers": [{"key": "X-A", "value": " v"}]},
            "headers[0].value",
            "whitespace",
        ),
        (
            {"authType": "NO_AUTH", "headers": [{"key": "X-A", "value": "é"}]},
            "headers[0].value",
            "visible ASCII",
        ),
        (
            {
                "authType": "NO_AUTH",
                "headers": [{"key": "a", "value": "1"}, {"key": "A", "value": "2"}],
            },
            "headers",
            "twice",
        ),
        (
            {"authType": "NO_AUTH", "headers": [{"key": "Content-Length", "value": "1"}]},
            "headers",
            "set by the HTTP client",
        ),
        (
            {
                "authType": "BEARER_TOKEN",
                "token": "t",
                "headers": [{"key": "authorization", "value": "x"}],
            },
            "headers[0].key",
            "clashes",
        ),
        ({"authType": "NO_AUTH", "baseUrl": "ftp://example.com"}, "baseUrl", "http"),
        ({"authType": "NO_AUTH", "baseUrl": "/relative"}, "baseUrl", "http"),
        ({"authType": "NO_AUTH", "baseUrl": "https://u:p@example.com"}, "baseUrl", "user"),
        ({"authType": "NO_AUTH", "baseUrl": "https://example.com/?a=b"}, "baseUrl", "query"),
        ({"authType": "NO_AUTH", "baseUrl": "https://example.com:99999"}, "baseUrl", "port"),
        ({"authType": "NO_AUTH", "contentType": "yaml"}, "contentType", "'json'"),
        ({"authType": "NO_AUTH", "environment": "staging"}, "environment", "'production'"),
        ({"authType": "NO_AUTH", "createdAt": "2024-01-01T00:00:00"}, "createdAt", "timezone"),
        ({"authType": "NO_AUTH", "headers": "X-A: 1"}, "headers", "tuple"),
        ({"authType": "NO_AUTH", "label": "a\nb"}, "label", "CR, LF"),
    ],
)
def test_invalid_records_name_the_field_and_reason(data: Any, path: str, reason: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(data)
    assert any(p == path and reason in r for p, r in caught.value.issues), caught.value.issues
    assert f"{path}: " in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None  # pydantic's error would keep the input


@pytest.mark.parametrize("data", [None, [], 42, "", "[1]", "{not json", b"\xff\xfe", "x" * 70000])
def test_non_objects_and_bad_json_are_record_errors(data: Any) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(data)
    assert caught.value.issues[0][0] == "record"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(
    [
        "authType",
        "token",
        "username",
        "password",
        "apiKey",
        "headers",
        "baseUrl",
        "contentType",
        "environment",
        "label",
        "createdAt",
        "accessKey",
        "secretKey",
        "region",
        "service",
        "clientId",
        "clientSecret",
    ]
)
auth_types = st.sampled_from(list(credsign.records.RECORD_TYPES)) | st.text(max_size=5)


@given(auth_types, st.dictionaries(field_names, json_values, max_size=6))
def test_junk_is_a_record_or_a_record_error(auth_type: str, data: dict[str, Any]) -> None:
    data["authType"] = auth_type
    try:
        parse_record(data)
    except RecordError as error:
        assert error.issues
        assert all(path and reason for path, reason in error.issues)
        assert error.__context__ is None and error.__cause__ is None


injections = st.sampled_from(["\r", "\n", "\r\n", "\x00"])


@given(records(), injections, st.integers(min_value=0, max_value=40))
def test_control_characters_in_any_header_value_are_refused(
    data: dict[str, Any], injection: str, position: int
) -> None:
    targets: list[tuple[dict[str, Any], str]] = [(h, "value") for h in data["headers"]]
    targets += [(h, "key") for h in data["headers"]]
    for field in ("token", "password", "username", "label"):
        if field in data:
            targets.append((data, field))
    if "apiKey" in data:
        targets += [(data["apiKey"], "value"), (data["apiKey"], "key")]
    for holder, field in targets:
        original = holder[field]
        holder[field] = original[:position] + injection + original[position:]
        with pytest.raises(RecordError):
            parse_record(data)
        holder[field] = original


MARK = "S3CR3T~"


@given(records(("BASIC_AUTH", "BEARER_TOKEN", "API_KEY")))
def test_secrets_never_show_in_repr_str_dumps_or_logs(data: dict[str, Any]) -> None:
    for field in SECRET_FIELDS & data.keys():
        data[field] = MARK + data[field]
    if "apiKey" in data:
        data["apiKey"]["value"] = MARK + data["apiKey"]["value"]
    record = parse_record(data)
    shown = [
        repr(record),
        str(record),
        f"{record}",
        record.to_json(),
        json.dumps(record.to_dict()),
        record.model_dump_json(),
        repr(record.model_dump()),
        str(record.model_dump(mode="json")),
        repr(credsign.compile_signer(record)),
        repr(credsign.HttpxAuth(record)),
    ]
    for text in shown:
        assert MARK not in text
    assert MARK in record.to_json(reveal_secrets=True)


def test_secrets_never_show_in_logging(caplog: pytest.LogCaptureFixture) -> None:
    record = parse_record(ISSUE_EXAMPLES[2])
    logger = logging.getLogger("credsign.test")
    with caplog.at_level(logging.DEBUG):
        logger.info("record %s / %r", record, record)
        logger.info("signer %r", credsign.compile_signer(record))
        logger.info("auth %r", credsign.HttpxAuth(record))
        logger.info("dump %s", record.model_dump())
    assert "s3cretP@ssword" not in caplog.text
    assert "**********" in caplog.text


@pytest.mark.parametrize(
    "data",
    [
        {"authType": "BASIC_AUTH", "username": "u", "password": "Sup3rSecret\n" + "x" * 600},
        {"authType": "BEARER_TOKEN", "token": "Sup3rSecret\r\ninjected"},
        {"authType": "BEARER_TOKEN", "token": "Sup3rSecrét"},
        {"authType": "API_KEY", "apiKey": {"key": "K", "value": "Sup3rSecret\n", "position": "x"}},
        {"authType": "AWS4", "secretKey": "Sup3rSecret\x00", "region": "R!", "service": "s"},
        {"authType": "HMAC_SHA256", "clientSecret": "Sup3rSecret" * 1000},
    ],
)
def test_errors_never_echo_secrets(data: dict[str, Any]) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(data)
    assert_no_secret(caught.value, "Sup3rSecret")


def test_reveal_is_explicit() -> None:
    record = parse_record(ISSUE_EXAMPLES[0])
    assert record.to_dict()["apiKey"]["value"] == "**********"
    assert record.to_dict(reveal_secrets=True)["apiKey"]["value"] == "k3y-s3cret"
    assert isinstance(record, credsign.ApiKeyRecord)
    assert record.api_key.value.get_secret_value() == "k3y-s3cret"
