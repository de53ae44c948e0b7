"""Per-organization credentials: one credential set per organization in one record."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import requests

from credsign import CredsignError, HttpxAuth, RecordError, RequestsAuth, parse_record

RECORD = {
    "authType": "BEARER_TOKEN",
    "baseUrl": "https://api.example.com",
    "headers": [{"key": "X-Source", "value": "crm"}],
    "organizations": [
        {"orgId": "acme", "token": "acme-secret"},
        {"orgId": "globex", "token": "globex-secret"},
    ],
}


def sent(auth: httpx.Auth) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.get("https://api.example.com/v1")
    return seen[0]


def test_entries_are_typed_masked_and_round_trip() -> None:
    record = parse_record(RECORD)
    assert "acme-secret" not in repr(record)
    assert "acme-secret" not in record.to_json()
    assert record.to_dict()["organizations"][0] == {"orgId": "acme", "token": "**********"}
    assert record.to_dict(reveal_secrets=True) == RECORD
    assert parse_record(record.to_json(reveal_secrets=True)) == record


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        ({"organizations": [{"token": "t"}]}, "organizations[0].orgId", "is required"),
        ({"organizations": [{"orgId": "a"}]}, "organizations[0].token", "is required"),
        (
            {"organizations": [{"orgId": "a", "token": "t"}, {"orgId": "a", "token": "u"}]},
            "organizations[1].orgId",
            "given twice",
        ),
        (
            {"organizations": [{"orgId": "a", "token": "t", "baseUrl": "https://x.example"}]},
            "organizations[0].baseUrl",
            "shared",
        ),
        ({"organizations": [{"orgId": "a", "token": "t\nX: y"}]}, "organizations[0].token", "CR"),
    ],
)
def test_bad_entries_name_the_entry(change: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record({**RECORD, **change})
    assert any(p == path and reason in r for p, r in caught.value.issues), caught.value.issues


@pytest.mark.parametrize(
    ("data", "org", "expected"),
    [
        (RECORD, "acme", {"authorization": "Bearer acme-secret"}),
        (
            {
                "authType": "BASIC_AUTH",
                "organizations": [{"orgId": "o", "username": "u", "password": "p"}],
            },
            "o",
            {"authorization": "Basic dTpw"},
        ),
        (
            {
                "authType": "API_KEY",
                "organizations": [
                    {
                        "orgId": "o",
                        "apiKeys": [
                            {"key": "DD-API-KEY", "value": "k1"},
                            {"key": "DD-APPLICATION-KEY", "value": "k2"},
                        ],
                    }
                ],
            },
            "o",
            {"dd-api-key": "k1", "dd-application-key": "k2"},
        ),
    ],
)
def test_httpx_and_requests_sign_with_the_organizations_set(
    data: dict[str, Any], org: str, expected: dict[str, str]
) -> None:
    record = parse_record(data)
    request = sent(HttpxAuth(record, org=org))
    assert {k: request.headers[k] for k in expected} == expected
    prepared = RequestsAuth(record, org=org)(
        requests.Request("GET", "https://api.example.com/v1").prepare()
    )
    assert {k: prepared.headers[k] for k in expected} == expected


def test_shared_fields_apply_to_every_organization() -> None:
    record = parse_record(RECORD)
    request = sent(HttpxAuth(record, org="globex"))
    assert request.headers["authorization"] == "Bearer globex-secret"
    assert request.headers["x-source"] == "crm"


def test_an_unknown_organization_fails_before_sending() -> None:
    record = parse_record(RECORD)
    with pytest.raises(CredsignError, match="no credentials for organization 'initech'"):
        HttpxAuth(record, org="initech")
    with pytest.raises(CredsignError, match="say which with org="):
        RequestsAuth(record)


def test_own_credentials_stay_the_default() -> None:
    record = parse_record({**RECORD, "token": "own-secret"})
    assert sent(HttpxAuth(record)).headers["authorization"] == "Bearer own-secret"
    assert sent(HttpxAuth(record, org="acme")).headers["authorization"] == "Bearer acme-secret"


def test_aws4_entries_inherit_region_and_service() -> None:
    data = {
        "authType": "AWS4",
        "region": "eu-west-1",
        "service": "execute-api",
        "organizations": [{"orgId": "acme", "accessKey": "AKIDACME", "secretKey": "acme-aws"}],
    }
    record = parse_record(data)
    assert record.to_dict(reveal_secrets=True) == data
    request = sent(HttpxAuth(record, org="acme"))
    assert "Credential=AKIDACME/" in request.headers["authorization"]
    assert "/eu-west-1/execute-api/aws4_request" in request.headers["authorization"]
    with pytest.raises(RecordError, match=r"organizations\[0\]\.region: is shared"):
        parse_record(
            {
                **data,
                "organizations": [
                    {"orgId": "a", "accessKey": "A", "secretKey": "s", "region": "x"}
                ],
            }
        )


def test_hmac_client_id_is_a_valid_keyid() -> None:
    with pytest.raises(RecordError, match="clientId: must not contain tabs"):
        parse_record({"authType": "HMAC_SHA256", "clientId": "a\tb", "clientSecret": "s"})
