"""Export and import of whole records, and the list of integrations.

The round trip goes from a SQLite store to the ``store`` fixture's: SQLite, and
PostgreSQL, so records move between backends as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credsign import ConflictError, StoreValidationError
from credsign.records import Record, parse_record
from credsign.store import CredentialStore, MasterKey
from credsign.testing import records
from tests.test_store import bearer

FIXTURE_OK = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HMAC = {"authType": "HMAC_SHA256", "clientId": "c-1", "clientSecret": "hmac-secret-1"}


@pytest.fixture
def source(tmp_path: Path) -> Iterator[CredentialStore]:
    """Another store, on SQLite, with a master key of its own."""
    url = f"sqlite://{tmp_path / 'source' / 'credentials.db'}"
    with CredentialStore.open(url, master_key=MasterKey.generate().encoded()) as opened:
        yield opened


@FIXTURE_OK
@given(record=records(organizations=True), integration=st.sampled_from(["crm", "billing", "é/1"]))
@example(record=parse_record({"authType": "NO_AUTH"}), integration="crm")
@example(record=parse_record(HMAC), integration="crm")
def test_export_revealed_then_import_round_trips(
    source: CredentialStore, store: CredentialStore, record: Record, integration: str
) -> None:
    view = source.create(integration, record.to_dict(reveal_secrets=True))
    exported = source.export(integration, view["authId"], reveal=True)
    text = json.dumps(exported)  # as the command line writes and reads it
    assert store.import_record(text) == view  # same ids, same timestamps
    assert store.export(integration, view["authId"], reveal=True) == exported
    assert store.record(integration, view["authId"]).to_dict(reveal_secrets=True) == (
        source.record(integration, view["authId"]).to_dict(reveal_secrets=True)
    )
    with pytest.raises(ConflictError, match="exists already"):
        store.import_record(text)


@FIXTURE_OK
@given(record=records())
@example(record=parse_record(HMAC))
def test_a_masked_export_is_refused_unless_it_has_no_secret(
    source: CredentialStore, store: CredentialStore, record: Record
) -> None:
    view = source.create("crm", record.to_dict(reveal_secrets=True))
    masked = source.export("crm", view["authId"])
    revealed = source.export("crm", view["authId"], reveal=True)
    if masked == revealed:  # NO_AUTH: nothing to mask
        assert store.import_record(masked)["authId"] == view["authId"]
        return
    generation = store.generation()
    with pytest.raises(StoreValidationError, match="masked") as caught:
        store.import_record(masked)
    assert store.generation() == generation
    assert str(caught.value).startswith("the record's secrets are masked")  # no value in it


def test_import_replace_overwrites_and_moves_updated_at_forward(
    source: CredentialStore, store: CredentialStore
) -> None:
    view = source.create("crm", bearer("tok-backup"))
    backup = source.export("crm", view["authId"], reveal=True)
    store.import_record(backup)
    changed = store.update("crm", view["authId"], {"token": "tok-changed", "label": "new"})
    restored = store.import_record(backup, replace=True)
    assert restored["createdAt"] == view["createdAt"]
    assert restored["updatedAt"] > changed["updatedAt"]  # compare-and-set clients see it
    assert "label" not in restored
    record = store.record("crm", view["authId"]).to_dict(reveal_secrets=True)
    assert record["token"] == "tok-backup"
    other_type = {**backup, "authType": "BASIC_AUTH", "username": "u", "password": "p"}
    del other_type["token"]
    with pytest.raises(StoreValidationError, match="authType is permanent"):
        store.import_record(other_type, replace=True)
    fresh = {**backup, "authId": "auth_fresh"}
    assert store.import_record(fresh, replace=True)["updatedAt"] == view["updatedAt"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"authId": None}, "authId"),
        ({"integrationId": ""}, "integrationId"),
        ({"createdAt": "yesterday"}, "createdAt"),
        ({"updatedAt": "2026-01-01T00:00:00"}, "updatedAt"),  # naive
        ({"createdAt": "2030-01-01T00:00:00Z"}, "before createdAt"),
    ],
)
def test_import_refuses_bad_metadata(
    store: CredentialStore, change: dict[str, object], reason: str
) -> None:
    base = {
        "authId": "auth_x",
        "integrationId": "crm",
        **bearer(),
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-02T00:00:00+00:00",
    }
    with pytest.raises(StoreValidationError, match=reason):
        store.import_record({**base, **change})
    assert store.integrations() == []


def test_integrations_lists_each_once_sorted(store: CredentialStore) -> None:
    assert store.integrations() == []
    for integration in ("zeta", "alpha", "zeta", "Beta", "é"):
        store.create(integration, bearer())
    assert store.integrations() == ["Beta", "alpha", "zeta", "é"]
    for view in store.list("Beta"):
        store.delete("Beta", view["authId"])
    assert store.integrations() == ["alpha", "zeta", "é"]
