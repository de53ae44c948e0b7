"""Issue 10, items 8 and 9: record errors hold no secret; deep nesting is a RecordError."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from credsign import (
    CredentialStore,
    CredsignError,
    HttpxAuth,
    RecordError,
    compile_signer,
    parse_record,
)
from credsign.aws import AwsCredentials, RefreshingCredentials, Sigv4Signer
from credsign.record_fields import MASK, secret_values
from credsign.record_input import MAX_DEPTH
from credsign.records import ApiKeyRecord, Aws4Record
from credsign.store import MasterKey
from credsign.testing.strategies import records
from tests.leaks import assert_no_secret

SECRET = "Sup3rS3cret~"


# -- the helper finds what it must --------------------------------------------------------------


def _chained() -> BaseException:
    try:
        try:
            (SECRET + "\ud800").encode()
        except UnicodeEncodeError:
            raise ValueError("bad text") from None
    except ValueError as error:
        return error
    raise AssertionError  # pragma: no cover


def _with_attribute() -> BaseException:
    error = RuntimeError("wrapped")
    error.detail = {"value": SECRET}  # type: ignore[attr-defined]
    return error


class _Model(BaseModel):
    value: int


def _validation_error() -> ValidationError:
    try:
        _Model.model_validate({"value": SECRET})
    except ValidationError as error:
        return error
    raise AssertionError  # pragma: no cover


@pytest.mark.parametrize(
    "error",
    [
        ValueError(SECRET),
        ValueError("x", {"nested": [SECRET.encode()]}),
        _chained(),  # hidden by `from None`, still in __context__, as .object
        _with_attribute(),
        _validation_error(),  # only .errors() shows the input
    ],
    ids=["args", "nested-bytes", "context-object", "attribute", "pydantic-errors"],
)
def test_the_leak_helper_finds_secrets(error: BaseException) -> None:
    with pytest.raises(AssertionError, match="a secret is reachable"):
        assert_no_secret(error, SECRET)


def test_the_leak_helper_passes_clean_errors() -> None:
    assert_no_secret(ValueError("bad token: must be visible ASCII"), SECRET)


# -- item 8: nothing reachable from a RecordError holds a secret --------------------------------


def _raised(data: Any) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse_record(data)
    return caught.value


_LEAKY = [
    {"authType": "BEARER_TOKEN", "token": SECRET + "\r\n"},
    {"authType": "BEARER_TOKEN", "token": SECRET + "é"},
    {
        "authType": "BEARER_TOKEN",
        "token": SECRET,
        "headers": [{"key": "Authorization", "value": "x"}],
    },
    {"authType": "BASIC_AUTH", "username": "u", "password": SECRET * 100},
    {"authType": "BASIC_AUTH", "username": "u:" + SECRET, "password": SECRET},
    {"authType": "BASIC_AUTH", "username": "u", "password": SECRET + "\ud800"},
    {"authType": "AWS4", "accessKey": "AK", "secretKey": SECRET, "region": "R!", "service": "s"},
    {"authType": "AWS4", "secretKey": SECRET, "region": "r", "service": "s"},
    {
        "authType": "HMAC_SHA256",
        "clientId": "c",
        "clientSecret": SECRET,
        "secretEncoding": "base64",
    },
    {"authType": "HMAC_SHA256", "clientId": SECRET + "\t", "clientSecret": SECRET},
    {"authType": "API_KEY", "apiKey": {"key": "k", "value": SECRET, "position": "body"}},
    {"authType": "API_KEY", "apiKey": {"key": "Host", "value": SECRET}},
    {
        "authType": "API_KEY",
        "apiKey": {"key": "k", "value": SECRET + "\udfff", "position": "query"},
    },
    {"authType": "BEARER_TOKEN", "organizations": [{"orgId": "a", "token": SECRET + "\n"}]},
    {"authType": "BEARER_TOKEN", "organizations": [{"token": SECRET}]},
    '{"authType": "BEARER_TOKEN", "token": "' + SECRET + '\x01"}',  # control char in JSON text
    '{"authType": "BEARER_TOKEN", "token": "' + SECRET,  # unterminated: .doc is the text
    b'{"authType": "BEARER_TOKEN", "token": "' + SECRET.encode() + b'\xff"}',  # bad UTF-8
    '{"authType": "BEARER_TOKEN", "token": "' + SECRET + '", ' + "[" * 5000,
    '{"authType": "BEARER_TOKEN", "token": "' + SECRET + '", "x": ' + "1" * 5000 + "}",
]


@pytest.mark.parametrize("data", _LEAKY)
def test_record_errors_hold_no_secret(data: Any) -> None:
    assert_no_secret(_raised(data), SECRET)


def _with_marked_secrets(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every secret value prefixed by ``SECRET``."""
    marked = copy.deepcopy(data)
    holders = [marked, *marked.get("organizations", ())]
    for holder in holders:
        for name in ("password", "token", "secretKey", "sessionToken", "clientSecret"):
            if isinstance(holder.get(name), str) and holder.get("secretEncoding") != "base64":
                holder[name] = SECRET + holder[name]
        placements = [holder.get("apiKey"), *holder.get("apiKeys", ())]
        for placement in placements:
            if isinstance(placement, dict) and isinstance(placement.get("value"), str):
                placement["value"] = SECRET + placement["value"]
    return marked


@settings(max_examples=150, deadline=None)
@given(records(valid=False))
def test_no_invalid_record_error_holds_a_secret(case: Any) -> None:
    data = _with_marked_secrets(case.data)
    try:
        parse_record(data)
    except RecordError as error:
        assert_no_secret(error, SECRET)
    try:
        parse_record(json.dumps(data))
    except RecordError as error:
        assert_no_secret(error, SECRET)


def test_compile_errors_hold_no_secret() -> None:
    record = parse_record(
        {"authType": "BEARER_TOKEN", "organizations": [{"orgId": "a", "token": SECRET}]}
    )
    for org in (None, "b"):
        with pytest.raises(CredsignError) as caught:
            compile_signer(record, org)
        assert_no_secret(caught.value, SECRET)


# -- item 9: nesting deeper than a record ever needs is a RecordError ---------------------------


_BASE = {"authType": "API_KEY", "apiKey": {"key": "K", "value": "v"}}
_FIELDS = {"extra": "x-extra", "headers": "headers", "apiKeys": "apiKeys"}


def _chain(shape: str, depth: int) -> Any:
    """Containers ``depth`` deep: lists, or entries whose ``organizations`` hold one entry."""
    if shape == "organizations":
        entry: dict[str, Any] = {}
        for _ in range(depth // 2):
            entry = {"organizations": [entry]}
        return entry["organizations"]
    inner: list[Any] = []
    for _ in range(depth - 1):
        inner = [inner]
    return inner


def _chain_text(shape: str, depth: int) -> str:
    """``_chain`` as JSON text, written out (``json.dumps`` cannot nest that deep)."""
    if shape == "organizations":
        half = depth // 2
        return ('{"organizations": [' * half + "{}" + "]}" * half)[len('{"organizations": ') : -1]
    return "[" * depth + "]" * depth


def _field(shape: str) -> str:
    return _FIELDS.get(shape, shape)


def _deep(shape: str, depth: int, as_text: bool) -> Any:
    """A record with a ``depth`` deep chain in one field, as a mapping or JSON text."""
    if as_text:
        return json.dumps(_BASE)[:-1] + f', "{_field(shape)}": {_chain_text(shape, depth)}}}'
    return {**_BASE, _field(shape): _chain(shape, depth)}


def _deep_patch(shape: str, depth: int, as_text: bool) -> Any:
    if as_text:
        return f'{{"{_field(shape)}": {_chain_text(shape, depth)}}}'
    return {_field(shape): _chain(shape, depth)}


def test_the_deep_texts_are_the_deep_mappings() -> None:
    for shape in ("extra", "organizations"):
        assert json.loads(_deep(shape, 8, True)) == _deep(shape, 8, False)
        assert json.loads(_deep_patch(shape, 8, True)) == _deep_patch(shape, 8, False)


_SHAPES = st.sampled_from(["extra", "headers", "apiKeys", "organizations"])
_DEPTHS = st.integers(MAX_DEPTH + 1, 3000)


def _assert_too_deep(error: RecordError) -> None:
    assert any("nests deeper than" in reason for _, reason in error.issues), error.issues
    assert len(str(error)) < 500
    assert error.__context__ is None and error.__cause__ is None


@settings(max_examples=30, deadline=None)
@given(_SHAPES, _DEPTHS, st.booleans())
@example("extra", 1000, True)
@example("organizations", 1000, False)
@example("headers", 1000, False)
def test_deep_records_are_record_errors(shape: str, depth: int, as_text: bool) -> None:
    _assert_too_deep(_raised(_deep(shape, depth, as_text)))


def test_deep_json_text_beyond_the_interpreter_limit_is_a_record_error() -> None:
    text = '{"authType": "NO_AUTH", "x": ' + "[" * 10_000 + "]" * 10_000 + "}"
    _assert_too_deep(_raised(text))
    _assert_too_deep(_raised(text.encode()))


def test_a_cyclic_mapping_is_a_record_error() -> None:
    data: dict[str, Any] = {"authType": "NO_AUTH", "headers": []}
    data["headers"].append(data)
    _assert_too_deep(_raised(data))


def test_records_as_deep_as_the_model_still_parse() -> None:
    data = {
        "authType": "API_KEY",
        "organizations": [{"orgId": "a", "apiKeys": [{"key": "K", "value": "v"}]}],
    }
    entry = parse_record(data).for_organization("a")
    assert isinstance(entry, ApiKeyRecord)
    assert entry.placements()[0].key == "K"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Any:
    url = f"sqlite://{(tmp_path / 'store' / 'credentials.db').resolve()}"
    with CredentialStore.open(url, master_key=MasterKey.generate().encoded()) as opened:
        yield opened


@pytest.mark.parametrize("as_text", [True, False], ids=["text", "mapping"])
@pytest.mark.parametrize("shape", ["extra", "organizations", "headers"])
def test_the_store_refuses_deep_records(sqlite_store: Any, shape: str, as_text: bool) -> None:
    with pytest.raises(RecordError) as created:
        sqlite_store.create("crm", _deep(shape, 1000, as_text))
    _assert_too_deep(created.value)
    view = sqlite_store.create("crm", {"authType": "API_KEY", "apiKey": {"key": "K", "value": "v"}})
    with pytest.raises(RecordError) as updated:
        sqlite_store.update("crm", view["authId"], _deep_patch(shape, 1000, as_text))
    _assert_too_deep(updated.value)
    kept = sqlite_store.record("crm", view["authId"]).to_dict(reveal_secrets=True)
    assert kept["apiKey"] == {"key": "K", "value": "v"}
    assert not {"organizations", "headers", "apiKeys"} & kept.keys()


# -- keys from an AWS credential source obey the record's rules ---------------------------------


@pytest.mark.parametrize(
    "keys",
    [
        ("AKID", SECRET + "\ud800", None),
        ("AKID", SECRET, SECRET + "\r\nX-Injected: 1"),
        ("AKID\n" + SECRET, SECRET, None),
    ],
    ids=["surrogate-secret", "crlf-token", "crlf-access-key"],
)
def test_unsignable_keys_from_a_source_are_refused_without_the_key(
    keys: tuple[str, str, str | None],
) -> None:
    record = parse_record({"authType": "AWS4", "region": "us-east-1", "service": "s3"})
    assert isinstance(record, Aws4Record)

    def load() -> AwsCredentials:
        return AwsCredentials(*keys)

    signer = Sigv4Signer(record, credentials=RefreshingCredentials(load))
    auth = HttpxAuth(signer)
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with httpx.Client(transport=transport) as client, pytest.raises(CredsignError) as caught:
        client.get("https://s3.amazonaws.com/bucket/key", auth=auth)
    assert_no_secret(caught.value, SECRET)


# -- a record's secrets come from its own field types -------------------------------------------


def _masked(masked: Any, revealed: Any) -> list[str]:
    """The values ``to_dict()`` masks: where the masked dump differs from the revealed one."""
    if isinstance(masked, dict):
        return [v for key in masked for v in _masked(masked[key], revealed[key])]
    if isinstance(masked, list):
        return [v for pair in zip(masked, revealed, strict=True) for v in _masked(*pair)]
    return [revealed] if masked == MASK and revealed != MASK else []


@settings(max_examples=100, deadline=None)
@given(records(organizations=True))
def test_secret_values_are_what_the_record_masks(record: Any) -> None:
    expected = _masked(record.to_dict(), record.to_dict(reveal_secrets=True))
    assert sorted(secret_values(record)) == sorted(expected)
