"""Dropping retired master keys: only when no record uses one, safe beside other writers.

``store_url`` tests run on SQLite and PostgreSQL. A store opened with a master
key (not a key file) stands for another process that still writes with the key
it was given: each CredentialStore has its own keyring.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from credsign import ConflictError, IntegrityError
from credsign.store import CredentialStore, MasterKey
from tests.test_store import (  # noqa: F401 - embedded_default is a fixture
    Worker,
    bearer,
    embedded_default,
    key_ids,
    raw_sql,
    sqlite_url,
    worker_env,
)


def listed_keys(url: str) -> set[str]:
    rows = raw_sql(url, "SELECT name FROM credsign_meta WHERE name LIKE ?", ("key:%",))
    return {str(name).removeprefix("key:") for (name,) in rows}


def token(store: CredentialStore, view: dict[str, Any]) -> str:
    record = store.record(view["integrationId"], view["authId"])
    value: str = record.to_dict(reveal_secrets=True)["token"]
    return value


@pytest.mark.usefixtures("embedded_default")
def test_drop_retired_keys_empties_the_key_file_of_them() -> None:
    database = Path(os.environ["CREDSIGN_STORE"])
    key_file = database.with_name("credentials.db.key")
    with CredentialStore.open() as store:
        view = store.create("integ-1", bearer("tok-1"))
        first = store.keyring.current.key_id
        store.rotate_master_key()
        store.rotate_master_key()
        current = store.keyring.current.key_id
    assert len(key_file.read_text().split()) == 3  # rotation keeps retired keys
    with CredentialStore.open() as store:
        dropped = store.drop_retired_keys()
        assert first in dropped
        assert len(dropped) == 2
        assert current not in dropped
        assert store.drop_retired_keys() == []  # nothing left to drop
        assert token(store, view) == "tok-1"
    assert [MasterKey.parse(line).key_id for line in key_file.read_text().split()] == [current]
    assert listed_keys(sqlite_url(database)) == {current}
    with CredentialStore.open() as store:
        assert token(store, view) == "tok-1"
        store.create("integ-1", bearer("tok-2"))


def test_a_retired_key_no_longer_opens_nor_writes(store_url: str, master_key: MasterKey) -> None:
    new = MasterKey.generate()
    with CredentialStore.open(store_url, master_key=master_key.encoded()) as stale:
        with CredentialStore.open(store_url, master_key=master_key.encoded()) as rotating:
            rotating.create("integ-1", bearer("tok-1"))
            assert rotating.rotate_master_key(new) == 1
            assert rotating.drop_retired_keys() == [master_key.key_id]
        assert listed_keys(store_url) == {new.key_id}
        with pytest.raises(IntegrityError, match="not one of this store's keys"):
            stale.create("integ-1", bearer("tok-stale"))  # refused, never sealed unreadably
    assert set(key_ids(store_url)) == {new.key_id}
    with pytest.raises(IntegrityError):
        CredentialStore.open(store_url, master_key=master_key.encoded())


def test_drop_is_refused_while_a_record_uses_a_retired_key(
    store_url: str, master_key: MasterKey
) -> None:
    new = MasterKey.generate()
    with (
        CredentialStore.open(store_url, master_key=master_key.encoded()) as stale,
        CredentialStore.open(store_url, master_key=master_key.encoded()) as rotating,
    ):
        rotating.rotate_master_key(new)
        straggler = stale.create("integ-1", bearer("tok-late"))  # the old key, still listed
        listed = listed_keys(store_url)
        with pytest.raises(ConflictError, match="1 record is still sealed with another key"):
            rotating.drop_retired_keys()
        assert listed_keys(store_url) == listed  # nothing dropped
        stale.create("integ-1", bearer("tok-later"))  # and the old key still writes
        assert rotating.rotate_master_key(MasterKey.generate()) == 2
        assert sorted(rotating.drop_retired_keys()) == sorted([master_key.key_id, new.key_id])
        assert token(rotating, straggler) == "tok-late"


@pytest.mark.usefixtures("embedded_default")
def test_drop_is_refused_during_a_key_file_rotation() -> None:
    with CredentialStore.open() as store:
        store.create("integ-1", bearer())
        store._key_file.begin_rotation(MasterKey.generate())  # type: ignore[union-attr]
    with CredentialStore.open() as store, pytest.raises(ConflictError, match="rotation"):
        store.drop_retired_keys()


def test_drop_waits_for_a_writer_sealing_with_a_retired_key(
    store_url: str, master_key: MasterKey
) -> None:
    """The writer is inside its transaction, its row sealed with the old key, not committed."""
    new = MasterKey.generate()
    writing, release = threading.Event(), threading.Event()
    with (
        # reads the new key's rows, but still writes with the old key
        CredentialStore.open(
            store_url, master_key=master_key.encoded(), previous_keys=[new]
        ) as stale,
        CredentialStore.open(store_url, master_key=master_key.encoded()) as rotating,
    ):
        view = stale.create("integ-1", bearer("tok-1"))
        rotating.rotate_master_key(new)
        original = stale.backend._write

        def slow_write(cursor: Any, row: Any) -> None:
            original(cursor, row)
            writing.set()
            assert release.wait(30)

        stale.backend._write = slow_write  # type: ignore[method-assign]
        writer = threading.Thread(
            target=stale.update, args=("integ-1", view["authId"], {"token": "tok-2"})
        )
        writer.start()
        assert writing.wait(30)
        outcome: list[BaseException | list[str]] = []

        def drop() -> None:
            try:
                outcome.append(rotating.drop_retired_keys())
            except BaseException as error:
                outcome.append(error)

        dropper = threading.Thread(target=drop)
        dropper.start()
        dropper.join(0.5)
        assert dropper.is_alive()  # waits for the writer's transaction
        release.set()
        writer.join(30)
        dropper.join(30)
        assert isinstance(outcome[0], ConflictError), outcome
        assert master_key.key_id in listed_keys(store_url)
        assert token(rotating, view) == "tok-2"  # the write survived, readable


def test_rotations_and_drops_beside_a_writing_process_lose_no_record(tmp_path: Path) -> None:
    """Another process creates records (following the key file) while this one rotates the
    key and drops the retired ones, again and again: every record it was told is stored
    stays readable. A drop meets a straggler either way: it waits and refuses, or the
    straggler's write is refused; never is a row sealed with a forgotten key."""
    database = tmp_path / "shared" / "credentials.db"
    url = sqlite_url(database)
    with CredentialStore.open(url) as store:  # creates the key file
        store.create("integ-0", bearer())
    worker = Worker(["burst", url, "integ-1", "150"], worker_env(None), tmp_path / "w.err")
    try:
        worker.wait_for(lambda line: line.startswith("auth_"), timeout=60)
        outcomes = []
        with CredentialStore.open(url) as store:
            for _ in range(6):
                store.rotate_master_key()
                try:
                    outcomes.append(len(store.drop_retired_keys()))
                except ConflictError:
                    outcomes.append(-1)  # a straggler sealed with the old key: kept
        code = worker.finish()
    finally:
        worker.close()
    stored = [line for line in worker.seen if line.startswith("auth_")]
    while (line := worker.lines.get(timeout=5)) is not None:
        stored.append(line)
    errors = (tmp_path / "w.err").read_text()
    assert code == 0 or "not one of this store's keys" in errors, errors
    with CredentialStore.open(url) as store:  # alone now: a drop must succeed
        store.rotate_master_key()
        assert len(store.drop_retired_keys()) >= 1, outcomes
    with CredentialStore.open(url) as store:
        assert {view["authId"] for view in store.list("integ-1")} >= set(stored)
        for auth_id in stored:
            assert store.record("integ-1", auth_id).to_dict(reveal_secrets=True)["token"]
    assert set(key_ids(url)) <= listed_keys(url)
