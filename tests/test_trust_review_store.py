"""The store after the security review: no downgrade to unauthenticated fields, no stored data
in messages.

Issue 10, review findings on items 16 (a schema downgrade re-sealed forged public fields as
authentic) and 17 (text that is not UTF-8 was a plain StoreError quoting the column).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from credsign import IntegrityError
from credsign.store import CredentialStore, MasterKey
from credsign.store.migrate import reached_path
from tests.test_store import bearer, raw_sql, sqlite_url
from tests.test_trust_store import make_schema_1

GOOD, EVIL = "https://api.good.example", "https://evil.example"
Backup = list[tuple[Any, ...]]


def upgraded_with_a_backup(url: str, key: MasterKey | None) -> tuple[list[str], Backup]:
    """Two records written by the pre-upgrade credsign, then upgraded; their schema-1 seals.

    ``key`` None: the store is keyed by its key file (SQLite's default).
    """
    given = {} if key is None else {"master_key": key}
    with CredentialStore.open(url, **given) as store:
        auth_ids = [
            store.create("crm", bearer(f"tok-{index}", baseUrl=GOOD))["authId"]
            for index in range(2)
        ]
        key = store.keyring.current
    make_schema_1(url, key)
    backup = raw_sql(url, "SELECT auth_id, key_id, secret FROM credsign_credentials")
    CredentialStore.open(url, **given).close()  # the upgrade: every field bound from now on
    return auth_ids, backup


def downgrade(url: str, backup: Backup, auth_ids: list[str], *, unlist_keys: bool) -> None:
    """The attack, with write access to the database and no key: schema-1 seals put back."""
    for auth_id, key_id, secret in backup:
        if auth_id in auth_ids:
            [(public,)] = raw_sql(
                url, "SELECT public FROM credsign_credentials WHERE auth_id = ?", (auth_id,)
            )
            forged = json.dumps(json.loads(public) | {"baseUrl": EVIL})
            raw_sql(
                url,
                "UPDATE credsign_credentials SET public = ?, key_id = ?, secret = ?"
                " WHERE auth_id = ?",
                (forged, key_id, secret, auth_id),
            )
    raw_sql(url, "UPDATE credsign_meta SET value = '1' WHERE name = 'schema_version'")
    if unlist_keys:
        raw_sql(url, "DELETE FROM credsign_meta WHERE name LIKE ?", ("key:%",))


def assert_left_as_it_was(url: str) -> None:
    """A refused store is not migrated: nothing forged was re-sealed."""
    [(version,)] = raw_sql(url, "SELECT value FROM credsign_meta WHERE name = 'schema_version'")
    assert version == "1"


@pytest.mark.parametrize(
    ("forged", "unlist_keys"),
    [
        ("all", False),  # the reviewer's attack: the keys listed since schema 2 still there
        ("first", True),  # the other record's seal binds every field: schema 2 wrote it
    ],
)
def test_a_downgraded_store_is_refused(
    store_url: str, master_key: MasterKey, forged: str, unlist_keys: bool
) -> None:
    auth_ids, backup = upgraded_with_a_backup(store_url, master_key)
    downgrade(store_url, backup, auth_ids[: 1 if forged == "first" else 2], unlist_keys=unlist_keys)
    if store_url.startswith("sqlite://"):  # what the database shows alone (the mark: below)
        reached_path(Path(store_url.removeprefix("sqlite://"))).unlink()
    with pytest.raises(IntegrityError, match="downgraded"):
        CredentialStore.open(store_url, master_key=master_key)
    assert_left_as_it_was(store_url)


@pytest.mark.parametrize("keyed_by", ["master key", "key file"])
def test_a_sqlite_store_downgraded_entirely_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyed_by: str
) -> None:
    """Every row put back and the keys unlisted: the file beside the database remembers."""
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    database = tmp_path / "credentials.db"
    url = sqlite_url(database)
    key = MasterKey.generate() if keyed_by == "master key" else None
    given = {} if key is None else {"master_key": key}
    auth_ids, backup = upgraded_with_a_backup(url, key)
    assert reached_path(database).exists()
    downgrade(url, backup, auth_ids, unlist_keys=True)
    with pytest.raises(IntegrityError, match="downgraded") as caught:
        CredentialStore.open(url, **given)
    assert str(reached_path(database)) in str(caught.value)  # what to do if it was on purpose
    assert_left_as_it_was(url)


def test_a_postgres_store_downgraded_entirely_is_not_detected(
    fresh_postgres_url: str, master_key: MasterKey
) -> None:
    """Documented limit: an edited pre-upgrade copy of every row needs state outside the database.

    The same class as a whole row rolled back (test_trust_store.py): the migration
    trusts the rows as they are when it runs.
    """
    url = fresh_postgres_url
    auth_ids, backup = upgraded_with_a_backup(url, master_key)
    downgrade(url, backup, auth_ids, unlist_keys=True)
    with CredentialStore.open(url, master_key=master_key) as store:
        assert store.record("crm", auth_ids[0]).base_url == EVIL


def test_a_genuine_schema_1_store_keyed_by_its_file_migrates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    database = tmp_path / "credentials.db"
    url = sqlite_url(database)
    with CredentialStore.open(url) as store:
        view = store.create("crm", bearer("tok-1", baseUrl=GOOD))
        key = store.keyring.current
    make_schema_1(url, key)
    assert not reached_path(database).exists()  # as before the upgrade
    with CredentialStore.open(url) as store:
        assert store.get("crm", view["authId"]) == view
    assert reached_path(database).read_text().strip() == "2"


def test_a_trusted_pre_upgrade_backup_migrates_once_its_mark_is_removed(
    tmp_path: Path, master_key: MasterKey
) -> None:
    """Restoring a schema-1 backup on purpose: delete the mark, then the migration runs."""
    database = tmp_path / "credentials.db"
    url = sqlite_url(database)
    auth_ids, backup = upgraded_with_a_backup(url, master_key)
    downgrade(url, backup, auth_ids, unlist_keys=True)  # here: the owner's own restore
    with pytest.raises(IntegrityError, match="downgraded"):
        CredentialStore.open(url, master_key=master_key)
    reached_path(database).unlink()
    with CredentialStore.open(url, master_key=master_key) as store:
        assert store.record("crm", auth_ids[0]).base_url == EVIL  # trusted as it is
    assert reached_path(database).exists()


# -- text that is not UTF-8 ----------------------------------------------------------------


@pytest.mark.parametrize("column", ["public", "auth_type", "key_id", "created_at"])
def test_text_that_is_not_utf8_is_an_integrity_error_quoting_nothing(
    tmp_path: Path, master_key: MasterKey, column: str
) -> None:
    url = sqlite_url(tmp_path / "credentials.db")
    stored = "Xq3stored"  # the column's bytes: ff, then these
    with CredentialStore.open(url, master_key=master_key) as store:
        view = store.create("crm", bearer())
        raw_sql(
            url,
            f"UPDATE credsign_credentials SET {column} = CAST(? AS TEXT)",  # noqa: S608
            (b"\xff" + stored.encode(),),
        )
        for read in (
            lambda: store.get("crm", view["authId"]),
            lambda: store.list("crm"),
            lambda: store.record("crm", view["authId"]),
            lambda: store.update("crm", view["authId"], {"label": "x"}),
            lambda: CredentialStore.open(url, master_key=master_key),
        ):
            with pytest.raises(IntegrityError) as caught:
                read()
            assert stored not in str(caught.value) and stored not in repr(caught.value.args)
            assert caught.value.__context__ is None
