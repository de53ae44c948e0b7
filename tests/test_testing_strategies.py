"""The public Hypothesis strategies of ``credsign.testing.strategies`` draw what they claim."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from credsign import Record, RecordError, compile_signer, parse_record
from credsign.records import ApiKeyRecord, HmacSha256Record
from credsign.scope import Scope, Target
from credsign.testing.strategies import (
    AUTH_TYPES,
    HMAC_COMPONENTS,
    InvalidRecord,
    records,
    requests,
)

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEARCH = settings(max_examples=1000, database=None, phases=[Phase.generate])


def _compiles(record: Record) -> None:
    organizations = getattr(record, "organizations", ())
    if organizations:
        first = organizations[0].org_id
        compile_signer(record.for_organization(first))
        compile_signer(record, first)
    if not organizations or record.has_credentials():
        compile_signer(record)


@FAST
@given(records(organizations=True))
def test_valid_records_round_trip_and_compile(record: Record) -> None:
    assert parse_record(record.to_json(reveal_secrets=True)) == record
    assert parse_record(record.to_dict(reveal_secrets=True)) == record
    _compiles(record)


@pytest.mark.parametrize("auth_type", AUTH_TYPES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_each_auth_type_alone(auth_type: str, data: st.DataObject) -> None:
    record = data.draw(records(auth_type))
    assert record.auth_type == auth_type
    assert not getattr(record, "organizations", ())  # none unless asked for
    _compiles(record)


@settings(max_examples=30, deadline=None)
@given(records(base_url="http://127.0.0.1:8080/v1"))
def test_base_url_is_pinned(record: Record) -> None:
    assert record.base_url == "http://127.0.0.1:8080/v1"


@FAST
@given(records(valid=False))
def test_invalid_records_fail_as_claimed(case: InvalidRecord) -> None:
    json.dumps(case.data)  # still a JSON-shaped mapping
    with pytest.raises(RecordError) as caught:
        parse_record(case.data)
    issues = caught.value.issues
    assert any(path == case.path and case.reason in reason for path, reason in issues), (
        case.path,
        case.reason,
        issues,
    )


def test_optional_fields_are_covered() -> None:
    """A coverage property, so it must not depend on luck: derandomized, the same 300
    examples are drawn on every run and every machine, and they cover every option."""
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(records())
    def collect(record: Record) -> None:
        dumped = record.to_dict(reveal_secrets=True)
        seen.update(f"{record.auth_type}.{key}" for key in dumped)
        if isinstance(record, ApiKeyRecord):
            seen.update(f"position.{p.position}" for p in record.placements())
        if isinstance(record, HmacSha256Record) and record.components:
            seen.update(record.components)

    collect()
    expected = {
        "AWS4.sessionToken",
        "AWS4.signatureLocation",
        "AWS4.payload",
        "HMAC_SHA256.components",
        "HMAC_SHA256.secretEncoding",
        "API_KEY.apiKeys",
        "position.query",
        "position.header",
        *HMAC_COMPONENTS,
    }
    assert expected <= seen, expected - seen


@pytest.mark.parametrize(
    "reason",
    [
        "control characters",
        "unknown auth type",
        "is required",
        "at most",
        "is not a valid header name",
        "http:// or https://",
        "'header' or 'query'",
        "is given twice",
        "clashes with a header",
    ],
)
def test_every_mutation_kind_is_drawn(reason: str) -> None:
    find(records(valid=False), lambda case: reason in case.reason, settings=SEARCH)


@pytest.mark.parametrize("base_url", ["https://api.example.com", "http://127.0.0.1:8080/v1/"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_requests_are_well_formed(base_url: str, data: st.DataObject) -> None:
    request = data.draw(requests(base_url))
    assert isinstance(request, httpx.Request)
    assert Scope.from_base_url(base_url).contains(Target.from_url(str(request.url)))
    assert request.method in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}
    # httpx adds Host itself (and Content-Length for a body); the strategy adds neither.
    assert request.headers.get_list("host") == [request.url.netloc.decode("ascii")]
    banned = {"authorization", "transfer-encoding", "connection", "signature", "x-amz-date"}
    assert not banned & {name.lower() for name in request.headers}
    if request.method not in {"POST", "PUT", "PATCH"}:
        assert request.read() == b""
    # httpx can send it again from its parts.
    again = httpx.Request(
        request.method, request.url, headers=request.headers, content=request.read()
    )
    assert again.url == request.url


def test_requests_repeat_query_keys_and_carry_bodies() -> None:
    repeated, kinds = False, set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(requests(methods=["POST"]))
    def collect(request: httpx.Request) -> None:
        nonlocal repeated
        keys = [key for key, _ in request.url.params.multi_items()]
        repeated |= len(keys) != len(set(keys))
        kinds.add(request.headers.get("content-type", "none").split(";")[0])

    collect()
    assert repeated
    assert {"none", "application/json", "application/x-www-form-urlencoded"} <= kinds


def test_requests_without_bodies() -> None:
    @settings(max_examples=50, deadline=None)
    @given(requests(methods=["put"], bodies=False))
    def check(request: httpx.Request) -> None:
        assert request.method == "PUT"
        assert request.read() == b""

    check()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="auth_types"):
        records(["OAUTH"])
    with pytest.raises(ValueError, match="methods"):
        requests(methods=[])
