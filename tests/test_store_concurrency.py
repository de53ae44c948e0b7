"""The credential store under concurrent writers (threads, processes) and SIGKILL.

Every test taking ``store_url`` runs on SQLite and PostgreSQL (see ``test_store.py``).
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from credsign import ConflictError, IntegrityError
from credsign.store import CredentialStore, MasterKey
from credsign.store import crypto as store_crypto
from tests.store_worker import patch_for
from tests.test_store import (
    Worker,
    bearer,
    raw_sql,
    sqlite_url,
    worker_env,
)

FIELDS = ("label", "baseUrl", "headers", "token")
AUTH_ID = re.compile(r"^auth_[0-9A-Za-z]{12}$")


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(*args: str, key: MasterKey | None) -> Worker:
        worker = Worker(list(args), worker_env(key), tmp_path / f"worker-{len(started)}.err")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


def assert_last_rounds(store: CredentialStore, view: dict[str, Any], rounds: int) -> None:
    """Every field of ``FIELDS`` holds its value of the last round: no update was lost."""
    data = store.record(view["integrationId"], view["authId"]).to_dict(reveal_secrets=True)
    for field in FIELDS:
        expected = patch_for(field, rounds - 1)[field]
        assert data.get(field) == expected, f"{field}: an update was lost"
    assert data["createdAt"] == view["createdAt"]


def version(url: str, auth_id: str) -> int:
    [(found,)] = raw_sql(
        url, "SELECT version FROM credsign_credentials WHERE auth_id = ?", (auth_id,)
    )
    return int(found)


# -- 6. no lost updates ----------------------------------------------------------------------


def test_threads_updating_different_fields_lose_nothing(
    store: CredentialStore, store_url: str
) -> None:
    rounds = 12
    view = store.create("integ-1", bearer("tok-start"))
    generation = store.generation()
    start = threading.Barrier(len(FIELDS))
    failures: list[BaseException] = []

    def hammer(field: str) -> None:
        try:
            start.wait()
            for round_ in range(rounds):
                store.update("integ-1", view["authId"], patch_for(field, round_))
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=hammer, args=(field,)) for field in FIELDS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    assert_last_rounds(store, view, rounds)
    assert version(store_url, view["authId"]) == 1 + len(FIELDS) * rounds
    assert store.generation() == generation + len(FIELDS) * rounds


def test_processes_updating_different_fields_lose_nothing(
    store: CredentialStore,
    store_url: str,
    master_key: MasterKey,
    workers: Callable[..., Worker],
) -> None:
    rounds = 20
    view = store.create("integ-1", bearer("tok-start"))
    started = [
        workers("update", store_url, "integ-1", view["authId"], field, str(rounds), key=master_key)
        for field in FIELDS
    ]
    for worker in started:
        worker.wait_for(lambda line: line == "ready", timeout=30)
    for worker in started:
        worker.send("go")
    for worker in started:
        worker.wait_for(lambda line: line == "done", timeout=60)
        assert worker.finish() == 0, worker.errors()
    assert_last_rounds(store, view, rounds)
    assert version(store_url, view["authId"]) == 1 + len(FIELDS) * rounds


def race(store: CredentialStore, view: dict[str, Any], racers: int, tag: str) -> dict[int, Any]:
    """``racers`` threads update ``view``'s record at once, each if it is still ``view``."""
    start = threading.Barrier(racers)
    outcomes: dict[int, Any] = {}

    def racer(number: int) -> None:
        start.wait()
        try:
            outcomes[number] = store.update(
                view["integrationId"],
                view["authId"],
                {"label": f"{tag}-racer-{number}"},
                if_updated_at=view["updatedAt"],
            )
        except ConflictError as error:
            outcomes[number] = error

    threads = [threading.Thread(target=racer, args=(number,)) for number in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.parametrize("racers", [2, 4])
def test_compare_and_set_has_exactly_one_winner(store: CredentialStore, racers: int) -> None:
    view = store.create("integ-1", bearer())
    for attempt in range(8):
        current = store.get("integ-1", view["authId"])
        outcomes = race(store, current, racers, f"attempt-{attempt}")
        assert len(outcomes) == racers
        winners = [number for number, outcome in outcomes.items() if isinstance(outcome, dict)]
        losers = [o for o in outcomes.values() if isinstance(o, ConflictError)]
        assert len(winners) == 1, outcomes
        assert len(losers) == racers - 1
        assert all(error.code == "conflict" for error in losers)
        final = store.get("integ-1", view["authId"])
        assert final == outcomes[winners[0]]
        assert final["label"] == f"attempt-{attempt}-racer-{winners[0]}"


def test_two_processes_opening_a_new_embedded_store_agree_on_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    url = sqlite_url(tmp_path / "new" / "credentials.db")
    original = store_crypto._write_keys
    made: dict[str, str] = {}

    def interleaved(path: Path, keys: Any, *, exclusive: bool = False) -> None:
        # The other process runs between this one's exists() check and its write.
        monkeypatch.setattr(store_crypto, "_write_keys", original)
        with CredentialStore.open(url) as other:
            made["other"] = other.create("integ-1", bearer("tok-other"))["authId"]
        original(path, keys, exclusive=exclusive)

    monkeypatch.setattr(store_crypto, "_write_keys", interleaved)
    with CredentialStore.open(url) as first:
        made["first"] = first.create("integ-1", bearer("tok-first"))["authId"]
    with CredentialStore.open(url) as reopened:
        for auth_id in made.values():
            try:
                reopened.record("integ-1", auth_id)
            except IntegrityError:
                pytest.fail(f"{auth_id} can no longer be decrypted: its key was overwritten")


def test_updates_by_another_process_during_a_key_file_rotation_stay_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    url = sqlite_url(tmp_path / "rotating" / "credentials.db")
    # Each CredentialStore has its own keyring: `other` is what another process holds.
    other = CredentialStore.open(url)
    made = [other.create("integ-1", bearer(f"tok-{index}"))["authId"] for index in range(3)]
    rotating = CredentialStore.open(url)
    reseal = rotating.backend.update
    resealed: list[str] = []

    def update_then_let_the_other_write(integration_id: str, auth_id: str, change: Any) -> Any:
        row = reseal(integration_id, auth_id, change)
        resealed.append(auth_id)
        if len(resealed) == 1:  # the other process writes the row just re-sealed
            other.update(integration_id, auth_id, {"label": "during rotation"})
        return row

    monkeypatch.setattr(rotating.backend, "update", update_then_let_the_other_write)
    assert rotating.rotate_master_key() == 3
    other.close()
    rotating.close()
    with CredentialStore.open(url) as reopened:
        assert reopened.get("integ-1", resealed[0])["label"] == "during rotation"
        for index, auth_id in enumerate(made):
            record = reopened.record("integ-1", auth_id)
            assert record.to_dict(reveal_secrets=True)["token"] == f"tok-{index}"


# -- 7. durability under SIGKILL -------------------------------------------------------------


def test_creates_acknowledged_before_sigkill_survive(
    store_url: str, master_key: MasterKey, workers: Callable[..., Worker]
) -> None:
    with CredentialStore.open(store_url, master_key=master_key.encoded()) as store:
        store.create("integ-0", bearer("tok-before"))  # the schema exists before the burst
    worker = workers("burst", store_url, "integ-burst", "100000", key=master_key)
    acknowledged: list[str] = []
    while len(acknowledged) < 40:
        acknowledged.append(worker.wait_for(lambda _: True, timeout=30))
    worker.process.send_signal(signal.SIGKILL)
    assert worker.process.wait(timeout=30) == -signal.SIGKILL
    while (line := worker.lines.get(timeout=30)) is not None:  # said before it died
        acknowledged.append(line)
    assert all(AUTH_ID.match(auth_id) for auth_id in acknowledged)

    if store_url.startswith("sqlite://"):
        assert raw_sql(store_url, "PRAGMA integrity_check") == [("ok",)]
    with CredentialStore.open(store_url, master_key=master_key.encoded()) as store:
        stored = {view["authId"] for view in store.list("integ-burst")}
        missing = set(acknowledged) - stored
        assert not missing, f"{len(missing)} acknowledged creates were lost"
        assert len(stored) - len(acknowledged) <= 1  # at most the one in flight
        for index, auth_id in enumerate(acknowledged):
            token = store.record("integ-burst", auth_id).to_dict(reveal_secrets=True)["token"]
            assert token == f"burst-{index}"
        assert store.create("integ-burst", bearer("tok-after"))["authId"]  # still writable
