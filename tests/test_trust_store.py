"""The store under attack: every stored field authenticated, faults as StoreErrors, keys checked.

Issue 10, items 16 (tampered fields), 17 (store faults), 18 (wrong or lost master key).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credsign import IntegrityError, StoreError
from credsign.records import MASK, Record
from credsign.store import CredentialStore, MasterKey
from credsign.store.backend import SCHEMA_VERSION
from credsign.store.fields import split_record
from credsign.store.migrate import reached_path
from credsign.testing import records
from tests.leaks import revealed_secrets
from tests.test_store import bearer, raw_sql, sqlite_url

FIXTURE_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COLUMNS = (
    "integration_id, auth_id, auth_type, public, key_id, secret, created_at, updated_at, version"
)
API_RECORD = {
    "authType": "API_KEY",
    "baseUrl": "https://api.example.com/v1",
    "apiKey": {"key": "X-Key", "value": "key-Tamper-7781", "position": "header"},
    "headers": [{"key": "X-Tenant", "value": "acme"}],
    "label": "main",
    "environment": "production",
}


def stored_row(url: str) -> tuple[Any, ...]:
    [row] = raw_sql(url, f"SELECT {COLUMNS} FROM credsign_credentials")  # noqa: S608
    return row


def put_row(url: str, row: tuple[Any, ...]) -> None:
    """Replace the one stored row by ``row`` behind the store's back."""
    raw_sql(url, "DELETE FROM credsign_credentials")
    markers = ", ".join("?" * len(row))
    insert = f"INSERT INTO credsign_credentials ({COLUMNS}) VALUES ({markers})"  # noqa: S608
    raw_sql(url, insert, row)


def assert_refused(store: CredentialStore, integration_id: str, auth_id: str) -> None:
    """Every read of the row fails authentication."""
    for read in (store.record, store.get, store.update):
        args: tuple[Any, ...] = (integration_id, auth_id)
        if read == store.update:
            args += ({"label": "x"},)
        with pytest.raises(IntegrityError):
            read(*args)
    with pytest.raises(IntegrityError):
        store.list(integration_id)


# -- 16: every stored field is bound to the seal ---------------------------------------------


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    _json_containers,
    max_leaves=5,
)


def _different(value: Any, current: Any) -> Any:
    return value if value != current else {"tampered": value}


@st.composite
def public_tampering(draw: st.DrawFn, public: dict[str, Any]) -> dict[str, Any]:
    """``public`` with one field (top level or one level down) deleted, changed or added."""
    changed = json.loads(json.dumps(public))
    target = changed
    nested = [name for name, value in public.items() if isinstance(value, dict | list) and value]
    if nested and draw(st.booleans()):
        inner = changed[draw(st.sampled_from(nested))]
        target = inner[0] if isinstance(inner, list) else inner
    name = draw(st.sampled_from([*sorted(target), "extra"]))
    if name in target and draw(st.booleans()):
        del target[name]
    else:
        target[name] = _different(draw(JSON_VALUES), target.get(name, object()))
    return changed


TAMPERED_COLUMNS = {
    "integration_id": st.just("integ-other"),
    "auth_id": st.just("auth_other"),
    "auth_type": st.sampled_from(["BEARER_TOKEN", "BASIC_AUTH", "AWS4"]),  # not API_KEY
    "created_at": st.just("2001-01-01T00:00:00.000000Z"),
    "updated_at": st.just("2001-01-01T00:00:00.000000Z"),
    "version": st.sampled_from([0, 2, 3, -1]),  # not 1
}
"""Values differing from those ``API_RECORD``'s fresh row holds."""


@FIXTURE_SETTINGS
@given(data=st.data())
@example(data=None)  # the attacks of the issue: see `attacks` below
def test_a_field_changed_without_the_key_fails_on_read(
    store: CredentialStore, store_url: str, data: st.DataObject | None
) -> None:
    raw_sql(store_url, "DELETE FROM credsign_credentials")  # one row, whatever came before
    view = store.create("integ-1", API_RECORD)
    original = stored_row(store_url)
    public = json.loads(original[3])
    names = COLUMNS.split(", ")
    attacks: list[tuple[str, Any]]
    if data is None:
        attacks = [
            ("public", public | {"baseUrl": "https://evil.example"}),
            ("public", public | {"apiKey": public["apiKey"] | {"position": "query"}}),
            ("public", {key: value for key, value in public.items() if key != "baseUrl"}),
            ("public", public | {"headers": []}),
            ("public", public | {"environment": "test"}),
            ("public", public | {"label": "other"}),
            ("updated_at", "2030-01-01T00:00:00.000000Z"),
            ("version", 2),
        ]
    else:
        column = data.draw(st.sampled_from(["public", *TAMPERED_COLUMNS]), label="column")
        if column == "public":
            value = data.draw(public_tampering(public), label="public")
        else:
            value = data.draw(TAMPERED_COLUMNS[column], label=column)
        attacks = [(column, value)]
    try:
        for column, value in attacks:
            row = list(original)
            row[names.index(column)] = json.dumps(value) if column == "public" else value
            assert row != list(original)
            put_row(store_url, tuple(row))
            assert_refused(store, row[0], row[1])
    finally:
        put_row(store_url, original)
    assert store.get("integ-1", view["authId"]) == view  # the original row reads again
    store.delete("integ-1", view["authId"])


def test_a_whole_row_rolled_back_is_not_detected(store: CredentialStore, store_url: str) -> None:
    """Documented limit: an older sealed copy of the same row is authentic."""
    view = store.create("integ-1", bearer("tok-old"))
    old = stored_row(store_url)
    store.update("integ-1", view["authId"], {"token": "tok-new"})
    put_row(store_url, old)
    assert store.record("integ-1", view["authId"]).to_dict(reveal_secrets=True)["token"] == (
        "tok-old"
    )


def make_schema_1(url: str, key: MasterKey) -> None:
    """Turn the store at ``url`` into what credsign wrote with schema 1 (ids-only seals)."""
    from credsign.store.crypto import Keyring

    keyring = Keyring(key)
    with CredentialStore.open(url, master_key=key) as store:
        integrations = raw_sql(url, "SELECT DISTINCT integration_id FROM credsign_credentials")
        for (integration_id,) in integrations:
            for row in store.backend.list(integration_id):
                plaintext = json.dumps(store._unseal(row), separators=(",", ":")).encode()
                associated = f"{row.integration_id}\0{row.auth_id}".encode()
                key_id, sealed = keyring.encrypt(plaintext, associated)
                raw_sql(
                    url,
                    "UPDATE credsign_credentials SET key_id = ?, secret = ? WHERE auth_id = ?",
                    (key_id, sealed, row.auth_id),
                )
    raw_sql(url, "UPDATE credsign_meta SET value = '1' WHERE name = 'schema_version'")
    raw_sql(url, "DELETE FROM credsign_meta WHERE name LIKE ?", ("key:%",))
    if url.startswith("sqlite://"):  # nor had the file beside it recorded schema 2 yet
        reached_path(Path(url.removeprefix("sqlite://"))).unlink(missing_ok=True)


def test_schema_1_stores_are_resealed_on_open(store_url: str, master_key: MasterKey) -> None:
    with CredentialStore.open(store_url, master_key=master_key) as store:
        first = store.create("integ-1", API_RECORD)
        second = store.create("integ-2", bearer("tok-migrate"))
    make_schema_1(store_url, master_key)
    schema_1 = {
        row[0]: bytes(row[1])
        for row in raw_sql(store_url, "SELECT auth_id, secret FROM credsign_credentials")
    }
    with CredentialStore.open(store_url, master_key=master_key) as store:
        assert store.get("integ-1", first["authId"]) == first
        token = store.record("integ-2", second["authId"]).to_dict(reveal_secrets=True)["token"]
        assert token == "tok-migrate"
    [(version,)] = raw_sql(
        store_url, "SELECT value FROM credsign_meta WHERE name = 'schema_version'"
    )
    assert int(version) == SCHEMA_VERSION
    for auth_id, secret in raw_sql(store_url, "SELECT auth_id, secret FROM credsign_credentials"):
        assert bytes(secret) != schema_1[auth_id]  # re-sealed
    raw_sql(
        store_url,
        "UPDATE credsign_credentials SET public = ? WHERE auth_id = ?",
        (
            json.dumps({"authType": "BEARER_TOKEN", "baseUrl": "https://evil.example"}),
            second["authId"],
        ),
    )
    with CredentialStore.open(store_url, master_key=master_key) as store:
        assert_refused(store, "integ-2", second["authId"])


def test_a_schema_1_store_with_another_key_is_refused_and_left_as_it_was(
    store_url: str, master_key: MasterKey
) -> None:
    with CredentialStore.open(store_url, master_key=master_key) as store:
        store.create("integ-1", bearer("tok-migrate"))
    make_schema_1(store_url, master_key)
    before = raw_sql(store_url, "SELECT secret FROM credsign_credentials")
    with pytest.raises(IntegrityError):
        CredentialStore.open(store_url, master_key=MasterKey.generate())
    assert raw_sql(store_url, "SELECT secret FROM credsign_credentials") == before
    [(version,)] = raw_sql(
        store_url, "SELECT value FROM credsign_meta WHERE name = 'schema_version'"
    )
    assert version == "1"


# -- 17: faults of the store are StoreErrors ---------------------------------------------------


def call_everything(url: str, key: MasterKey, auth_id: str) -> None:
    """Open the store and use it every way; returns only if all of that worked."""
    with CredentialStore.open(url, master_key=key) as store:
        store.generation()
        store.list("integ-1")
        store.get("integ-1", auth_id)
        store.record("integ-1", auth_id)
        store.update("integ-1", auth_id, {"label": "after"})
        store.create("integ-1", bearer("tok-after"))


@settings(max_examples=80, deadline=None)
@given(content=st.binary(min_size=1, max_size=3000))
@example(content=b"SQLite format 3\0" + bytes(84))  # a header, then nothing sound
def test_a_garbage_sqlite_file_is_a_store_error(tmp_path_factory: Any, content: bytes) -> None:
    path = tmp_path_factory.mktemp("garbage") / "credentials.db"
    path.write_bytes(content)
    with pytest.raises(StoreError):
        call_everything(sqlite_url(path), MasterKey.generate(), "auth_x")


@pytest.fixture(scope="module")
def sound_database(tmp_path_factory: Any) -> tuple[bytes, MasterKey, str]:
    """A SQLite store's file holding a few records, the key, and one record's authId."""
    path = tmp_path_factory.mktemp("sound") / "credentials.db"
    key = MasterKey.generate()
    with CredentialStore.open(sqlite_url(path), master_key=key) as store:
        view = store.create("integ-1", API_RECORD)
        for index in range(5):
            store.create("integ-1", bearer(f"tok-{index}", label=f"l{index}" * 20))
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.read_bytes(), key, view["authId"]


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_a_truncated_or_corrupted_sqlite_file_is_a_store_error(
    tmp_path_factory: Any, sound_database: tuple[bytes, MasterKey, str], data: st.DataObject
) -> None:
    content, key, auth_id = sound_database
    if data.draw(st.booleans(), label="truncate"):
        broken = content[: data.draw(st.integers(1, len(content) - 1), label="length")]
    else:
        flips = data.draw(
            st.lists(st.tuples(st.integers(0, len(content) - 1), st.integers(1, 255)), min_size=1),
            label="flips",
        )
        changed = bytearray(content)
        for offset, mask in flips:
            changed[offset] ^= mask
        broken = bytes(changed)
    path = tmp_path_factory.mktemp("broken") / "credentials.db"
    path.write_bytes(broken)
    with contextlib.suppress(StoreError):  # any other exception fails the test
        call_everything(sqlite_url(path), key, auth_id)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("public", "not json"),
        ("public", "[1, 2]"),
        ("public", "[" * 5000 + "]" * 5000),
        ("secret", b"\x01\x02\x03"),
        ("secret", b""),
        ("created_at", None),
        ("version", "x"),
        ("auth_type", 7),
    ],
)
def test_a_corrupt_column_is_an_integrity_error(
    tmp_path: Path, master_key: MasterKey, column: str, value: Any
) -> None:
    url = sqlite_url(tmp_path / "credentials.db")  # SQLite: a column takes any type
    with CredentialStore.open(url, master_key=master_key) as store:
        view = store.create("integ-1", bearer())
        raw_sql(url, "PRAGMA ignore_check_constraints = 1")
        if value is None:
            raw_sql(url, f"UPDATE credsign_credentials SET {column} = ?", (b"\xff",))  # noqa: S608
        else:
            raw_sql(url, f"UPDATE credsign_credentials SET {column} = ?", (value,))  # noqa: S608
        assert_refused(store, "integ-1", view["authId"])


@pytest.mark.parametrize("value", ["", "abc", "-1", "9" * 40])
def test_a_corrupt_generation_is_an_integrity_error(
    store: CredentialStore, store_url: str, value: str
) -> None:
    raw_sql(store_url, "UPDATE credsign_meta SET value = ? WHERE name = 'generation'", (value,))
    with pytest.raises(IntegrityError):
        store.generation()


@pytest.mark.parametrize("content", [b"", b"\n\n", b"not base64!\n", b"\xff\xfe\n", b"AAAA\n"])
def test_an_empty_or_corrupt_key_file_is_an_integrity_error(
    keyed_by_file: Path, content: bytes
) -> None:
    path = keyed_by_file
    CredentialStore.open(sqlite_url(path)).close()
    path.with_name("credentials.db.key").write_bytes(content)
    with pytest.raises(IntegrityError) as caught:
        CredentialStore.open(sqlite_url(path))
    assert caught.value.__context__ is None or not isinstance(
        caught.value.__context__, UnicodeError
    )


# -- 18: the store knows its keys ------------------------------------------------------------


def test_a_wrong_master_key_neither_reads_nor_writes(store_url: str, master_key: MasterKey) -> None:
    with CredentialStore.open(store_url, master_key=master_key) as store:
        store.create("integ-1", bearer("tok-right"))
    wrong = MasterKey.generate()
    with pytest.raises(IntegrityError) as caught:
        CredentialStore.open(store_url, master_key=wrong)
    assert wrong.key_id in str(caught.value)
    assert len(raw_sql(store_url, "SELECT auth_id FROM credsign_credentials")) == 1
    dump = repr(raw_sql(store_url, "SELECT name, value FROM credsign_meta")).encode()
    for form in (
        master_key.material,
        master_key.encoded().encode(),
        master_key.material.hex().encode(),
    ):
        assert form not in dump
    with CredentialStore.open(store_url, master_key=master_key) as store:
        store.create("integ-1", bearer("tok-right-again"))


def test_an_empty_store_listed_under_one_key_refuses_another(
    store_url: str, master_key: MasterKey
) -> None:
    CredentialStore.open(store_url, master_key=master_key).close()
    with pytest.raises(IntegrityError):
        CredentialStore.open(store_url, master_key=MasterKey.generate())


@pytest.fixture
def keyed_by_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a SQLite store keyed by its key file (no key in the environment) will be."""
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    return tmp_path / "credentials.db"


def test_a_deleted_key_file_does_not_become_a_new_key(keyed_by_file: Path) -> None:
    path = keyed_by_file
    key_file = path.with_name("credentials.db.key")
    with CredentialStore.open(sqlite_url(path)) as store:
        view = store.create("integ-1", bearer("tok-keep"))
    saved = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(IntegrityError, match="missing"):
        CredentialStore.open(sqlite_url(path))
    assert not key_file.exists()
    key_file.write_bytes(saved)
    with CredentialStore.open(sqlite_url(path)) as store:
        assert store.record("integ-1", view["authId"]).to_dict(reveal_secrets=True)["token"] == (
            "tok-keep"
        )
        key_file.unlink()  # while the store is open: reloading the keys makes no new one
        with pytest.raises(IntegrityError):
            store._follow_key_file(force=True)
        assert not key_file.exists()


def test_a_key_file_replaced_under_a_running_store_writes_nothing(keyed_by_file: Path) -> None:
    path = keyed_by_file
    key_file = path.with_name("credentials.db.key")
    with CredentialStore.open(sqlite_url(path)) as store:
        store.create("integ-1", bearer("tok-1"))
        key_file.write_text(MasterKey.generate().encoded() + "\n")
        with pytest.raises(IntegrityError):
            store.create("integ-1", bearer("tok-2"))
    assert len(raw_sql(sqlite_url(path), "SELECT auth_id FROM credsign_credentials")) == 1


def test_rotation_lists_the_new_key_for_every_process(
    store_url: str, master_key: MasterKey
) -> None:
    new = MasterKey.generate()
    with CredentialStore.open(store_url, master_key=master_key) as store:
        store.create("integ-1", bearer())
        store.rotate_master_key(new)
    names = {row[0] for row in raw_sql(store_url, "SELECT name FROM credsign_meta")}
    assert {f"key:{master_key.key_id}", f"key:{new.key_id}"} <= names
    CredentialStore.open(store_url, master_key=new).close()


@settings(max_examples=150, deadline=None)
@given(record=records(organizations=True))
def test_every_secret_is_in_the_sealed_part(record: Record) -> None:
    """The store's split reads the secret fields from the record types: whatever a record
    masks is sealed, never kept in the stored plaintext (every type, organization entries)."""
    public, secret = split_record(record.to_dict(reveal_secrets=True))
    masked_public, masked_secret = split_record(record.to_dict())
    assert public == masked_public  # a secret left in clear would show as the mask here
    assert set(revealed_secrets(record)) <= set(_leaves(secret))
    assert set(_leaves(masked_secret)) <= {MASK}


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value
