"""The credential store (``credsign.store``) on SQLite and PostgreSQL.

Every test taking ``store_url`` runs on both backends: a SQLite file in ``tmp_path``
and a fresh PostgreSQL database (``fresh_postgres_url``, skipped without the server).
Concurrency and durability live in ``test_store_concurrency.py``.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import queue
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import credsign
from credsign import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    RecordError,
    StoreError,
    StoreValidationError,
)
from credsign.store import CredentialStore, MasterKey
from tests.strategies import header_names, header_values, records, unicode_text
from tests.strategies import secrets as secret_texts

WORKER = str(Path(__file__).resolve().parent / "store_worker.py")
AUTH_ID = re.compile(r"^auth_[0-9A-Za-z]{12}$")
BASE_VIEW_KEYS = {"authId", "integrationId", "authType", "headers", "createdAt", "updatedAt"}
OPTIONAL_VIEW_KEYS = ("label", "baseUrl", "contentType", "environment")
SECRET_KEYS = {"password", "token", "secretKey", "sessionToken", "clientSecret", "apiKey"}
TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


# -- helpers (test_store_concurrency.py uses them too; the fixtures are in conftest.py) --


def sqlite_url(path: Path) -> str:
    return f"sqlite://{path.resolve()}"


def bearer(token: str = "tok-initial", **fields: Any) -> dict[str, Any]:  # noqa: S107
    return {"authType": "BEARER_TOKEN", "token": token, **fields}


def raw_sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run SQL on the store's database behind the store's back (``?`` markers)."""
    if url.startswith("sqlite://"):
        with closing(sqlite3.connect(url.removeprefix("sqlite://"), timeout=30)) as connection:
            rows = connection.execute(statement, params).fetchall()
            connection.commit()
            return rows
    import psycopg

    with psycopg.connect(url) as connection:
        cursor = connection.execute(statement.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []


def worker_env(key: MasterKey | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CREDSIGN_MASTER_KEY", None)
    if key is not None:
        env["CREDSIGN_MASTER_KEY"] = key.encoded()
    return env


class Worker:
    """``tests/store_worker.py`` in a subprocess; its stdout lines arrive on a queue."""

    def __init__(self, args: list[str], env: dict[str, str], stderr: Path) -> None:
        self.stderr_path = stderr
        self._stderr = stderr.open("w")
        self.process = subprocess.Popen(
            [sys.executable, WORKER, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.endswith("\n"):  # a line cut by SIGKILL is no line
                self.lines.put(line[:-1])
        self.lines.put(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str:
        """The first line (from now) matching ``predicate``; fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                pytest.fail(f"worker said nothing matching in {timeout}s; last: {self.seen[-3:]}")
            if line is None:
                pytest.fail(f"worker ended ({self.process.wait()}): {self.errors()}")
            self.seen.append(line)
            if predicate(line):
                return line

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def errors(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text()[-3000:]

    def finish(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout=timeout)
        self.close()
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()
        self._stderr.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start ``store_worker.py`` processes; any left running are killed at the end."""
    started: list[Worker] = []

    def start(*args: str, key: MasterKey | None) -> Worker:
        worker = Worker(list(args), worker_env(key), tmp_path / f"worker-{len(started)}.err")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


def assert_unchanged(store: CredentialStore, view: dict[str, Any], secrets_: dict[str, Any]):
    """The record still has exactly ``view`` and the secret fields ``secrets_``."""
    assert store.get(view["integrationId"], view["authId"]) == view
    full = store.record(view["integrationId"], view["authId"]).to_dict(reveal_secrets=True)
    for name, value in secrets_.items():
        assert full[name] == value


# -- 1. the API's semantics -----------------------------------------------------------------


def test_create_returns_a_view_of_exact_shape(store: CredentialStore) -> None:
    body = bearer(
        "tok-shape-secret",
        label="Billing API",
        baseUrl="https://api.example.com",
        contentType="json",
        environment="test",
        headers=[{"key": "X-Tenant", "value": "acme"}],
    )
    view = store.create("integ-1", body)

    assert set(view) == BASE_VIEW_KEYS | set(OPTIONAL_VIEW_KEYS)
    assert AUTH_ID.match(view["authId"])
    assert view["integrationId"] == "integ-1"
    assert view["authType"] == "BEARER_TOKEN"
    assert view["headers"] == [{"key": "X-Tenant", "value": "acme"}]
    assert view["label"] == "Billing API"
    assert view["baseUrl"] == "https://api.example.com"
    assert view["contentType"] == "json"
    assert view["environment"] == "test"
    created = datetime.strptime(view["createdAt"], TIMESTAMP).replace(tzinfo=timezone.utc)
    assert view["updatedAt"] == view["createdAt"]
    assert abs(created - datetime.now(timezone.utc)).total_seconds() < 60
    for key in view:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)*", key), f"{key} is not camelCase"
    assert json.loads(json.dumps(view)) == view
    assert "tok-shape-secret" not in json.dumps(view)
    assert store.get("integ-1", view["authId"]) == view


def test_view_leaves_out_optional_fields_not_set(store: CredentialStore) -> None:
    view = store.create("integ-1", {"authType": "NO_AUTH"})
    assert set(view) == BASE_VIEW_KEYS
    assert view["headers"] == []
    assert view["authType"] == "NO_AUTH"


def test_create_assigns_ids_and_times_itself(store: CredentialStore) -> None:
    body = bearer(
        authId="auth_chosenByMe01",
        integrationId="someone-else",
        createdAt="2001-01-01T00:00:00Z",
        updatedAt="2001-01-01T00:00:00Z",
    )
    view = store.create("integ-1", json.dumps(body))  # JSON text works as well
    assert view["authId"] != "auth_chosenByMe01" and AUTH_ID.match(view["authId"])
    assert view["integrationId"] == "integ-1"
    assert not view["createdAt"].startswith("2001")
    ids = {store.create("integ-1", bearer())["authId"] for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize(
    "body",
    [
        {"authType": "BEARER_TOKEN"},
        {"authType": "BEARER_TOKEN", "token": ""},
        {"authType": "BASIC_AUTH", "username": "a:b", "password": "pw"},
        {"authType": "UNKNOWN"},
        {"token": "no-type"},
        bearer(baseUrl="ftp://example.com"),
        bearer(headers=[{"key": "Authorization", "value": "clash"}]),
        "not json",
        "[1, 2]",
    ],
)
def test_create_refuses_invalid_bodies(store: CredentialStore, body: Any) -> None:
    generation = store.generation()
    with pytest.raises(RecordError) as caught:
        store.create("integ-1", body)
    assert isinstance(caught.value, credsign.CredsignError)
    assert store.list("integ-1") == []
    assert store.generation() == generation


SECRET_BODIES = {
    "BASIC_AUTH": (
        {"authType": "BASIC_AUTH", "username": "alice", "password": "pw-Secret-91f"},
        ["pw-Secret-91f"],
    ),
    "BEARER_TOKEN": (bearer("tok-Secret-3a7"), ["tok-Secret-3a7"]),
    "API_KEY": (
        {
            "authType": "API_KEY",
            "apiKey": {"key": "X-Api-Key", "value": "key-Secret-c2d", "position": "header"},
        },
        ["key-Secret-c2d"],
    ),
}


@pytest.mark.parametrize("auth_type", sorted(SECRET_BODIES))
def test_secrets_never_in_views_or_reprs(store: CredentialStore, auth_type: str) -> None:
    body, secrets_ = SECRET_BODIES[auth_type]
    created = store.create("integ-1", body)
    updated = store.update("integ-1", created["authId"], {"label": "renamed"})
    record = store.record("integ-1", created["authId"])
    shown = [
        created,
        updated,
        store.get("integ-1", created["authId"]),
        store.list("integ-1"),
        record,
        store,
        store.keyring,
        store.keyring.current,
        store.backend,
        store.httpx_auth("integ-1", created["authId"]),
    ]
    for view in (created, updated, *store.list("integ-1")):
        assert not SECRET_KEYS & set(view)
    for thing in shown:
        for text in (repr(thing), str(thing)):
            for secret in secrets_:
                assert secret not in text
            assert store.keyring.current.encoded() not in text
    for view in (created, updated):
        for secret in secrets_:
            assert secret not in json.dumps(view)


def test_get_and_list_are_scoped_by_integration(store: CredentialStore) -> None:
    first = store.create("integ-1", bearer("t1"))
    second = store.create("integ-1", {"authType": "NO_AUTH", "label": "second"})
    other = store.create("integ-2", bearer("t3"))
    assert store.get("integ-1", first["authId"]) == first
    assert store.list("integ-1") == [first, second]
    assert store.list("integ-2") == [other]
    assert store.list("integ-none") == []
    with pytest.raises(NotFoundError) as caught:
        store.get("integ-2", first["authId"])
    assert caught.value.code == "not_found"
    assert isinstance(caught.value, StoreError)
    with pytest.raises(NotFoundError):
        store.get("integ-1", "auth_doesNotExist")
    with pytest.raises(NotFoundError):
        store.record("integ-1", "auth_doesNotExist")


def test_update_is_partial(store: CredentialStore) -> None:
    view = store.create(
        "integ-1",
        bearer(
            "tok-keep", baseUrl="https://api.example.com", headers=[{"key": "X-A", "value": "1"}]
        ),
    )
    updated = store.update("integ-1", view["authId"], {"label": "new label"})
    assert updated == view | {"label": "new label", "updatedAt": updated["updatedAt"]}
    assert store.get("integ-1", view["authId"]) == updated
    record = store.record("integ-1", view["authId"]).to_dict(reveal_secrets=True)
    assert record["token"] == "tok-keep"
    assert record["baseUrl"] == "https://api.example.com"

    updated = store.update("integ-1", view["authId"], {"token": "tok-new"})
    assert updated["label"] == "new label"
    assert updated["headers"] == [{"key": "X-A", "value": "1"}]
    assert store.record("integ-1", view["authId"]).to_dict(reveal_secrets=True)["token"] == (
        "tok-new"
    )


def test_update_merges_api_key(store: CredentialStore) -> None:
    body, _ = SECRET_BODIES["API_KEY"]
    view = store.create("integ-1", body)
    store.update("integ-1", view["authId"], {"apiKey": {"value": "key-rotated"}})
    api_key = store.record("integ-1", view["authId"]).to_dict(reveal_secrets=True)["apiKey"]
    assert api_key == {"key": "X-Api-Key", "value": "key-rotated", "position": "header"}


def test_headers_empty_list_removes_non_empty_replaces_omitted_leaves(
    store: CredentialStore,
) -> None:
    headers = [{"key": "X-A", "value": "1"}, {"key": "X-B", "value": "2"}]
    view = store.create("integ-1", bearer(headers=headers))
    assert view["headers"] == headers

    assert store.update("integ-1", view["authId"], {"label": "l"})["headers"] == headers
    replaced = [{"key": "X-C", "value": "3"}]
    assert store.update("integ-1", view["authId"], {"headers": replaced})["headers"] == replaced
    assert store.get("integ-1", view["authId"])["headers"] == replaced
    assert store.update("integ-1", view["authId"], {"headers": []})["headers"] == []
    assert store.get("integ-1", view["authId"])["headers"] == []
    assert store.record("integ-1", view["authId"]).headers == ()
    assert store.update("integ-1", view["authId"], {"token": "t2"})["headers"] == []


def test_updated_at_strictly_increases_created_at_never_changes(store: CredentialStore) -> None:
    view = store.create("integ-1", bearer())
    stamps = [view["updatedAt"]]
    for index in range(8):
        updated = store.update("integ-1", view["authId"], {"label": f"l{index}"})
        assert updated["createdAt"] == view["createdAt"]
        stamps.append(updated["updatedAt"])
    parsed = [datetime.strptime(stamp, TIMESTAMP) for stamp in stamps]
    assert all(earlier < later for earlier, later in itertools.pairwise(parsed))
    assert stamps == sorted(stamps)  # the text sorts like the time
    assert store.get("integ-1", view["authId"])["createdAt"] == view["createdAt"]


@pytest.mark.parametrize(
    "patch",
    [
        {"authType": "BASIC_AUTH", "username": "u", "password": "p"},
        {"authType": "NO_AUTH"},
        {"password": "pw"},
        {"username": "someone"},
        {"apiKey": {"key": "X-Key", "value": "v"}},
        {"accessKey": "AKIDEXAMPLE", "secretKey": "s"},
        {"clientSecret": "s", "clientId": "c"},
        {"label": "would change", "password": "pw"},
        {"createdAt": "2001-01-01T00:00:00.000000Z"},
        {"updatedAt": "2999-01-01T00:00:00.000000Z"},
        {"authId": "auth_other000000"},
        {"integrationId": "integ-2"},
    ],
)
def test_refused_patches_change_nothing(store: CredentialStore, patch: dict[str, Any]) -> None:
    view = store.create("integ-1", bearer("tok-orig", label="orig"))
    generation = store.generation()
    with pytest.raises(StoreValidationError) as caught:
        store.update("integ-1", view["authId"], patch)
    assert caught.value.code == "validation_error"
    assert_unchanged(store, view, {"token": "tok-orig", "label": "orig"})
    assert store.generation() == generation


@pytest.mark.parametrize(
    ("auth_type", "patch"),
    [
        ("NO_AUTH", {"token": "t"}),
        ("BASIC_AUTH", {"token": "t"}),
        ("BASIC_AUTH", {"apiKey": {"value": "v"}}),
        ("API_KEY", {"password": "p"}),
        ("API_KEY", {"token": "t"}),
    ],
)
def test_credential_fields_of_other_auth_types_are_refused(
    store: CredentialStore, auth_type: str, patch: dict[str, Any]
) -> None:
    body = {"authType": "NO_AUTH"} if auth_type == "NO_AUTH" else SECRET_BODIES[auth_type][0]
    view = store.create("integ-1", body)
    before = store.record("integ-1", view["authId"]).to_dict(reveal_secrets=True)
    with pytest.raises(StoreValidationError) as caught:
        store.update("integ-1", view["authId"], patch)
    assert caught.value.code == "validation_error"
    assert store.get("integ-1", view["authId"]) == view
    assert store.record("integ-1", view["authId"]).to_dict(reveal_secrets=True) == before


@pytest.mark.parametrize(
    "patch",
    [
        {"token": ""},
        {"token": "two\nlines-SECRETVALUE"},
        {"label": ""},
        {"label": "fine", "baseUrl": "ftp://example.com"},
        {"baseUrl": "https://user:pw@example.com"},
        {"contentType": "yaml"},
        {"environment": "staging"},
        {"headers": [{"key": "bad name", "value": "v"}]},
        {"headers": [{"key": "Authorization", "value": "clash"}]},
        {"headers": [{"key": "X-A", "value": "1"}, {"key": "x-a", "value": "2"}]},
        {"headers": "X-A: 1"},
        {"headers": None},
        "not json",
        "[]",
    ],
)
def test_invalid_values_raise_record_error_and_change_nothing(
    store: CredentialStore, patch: Any
) -> None:
    view = store.create("integ-1", bearer("tok-orig", label="orig"))
    generation = store.generation()
    with pytest.raises(RecordError) as caught:
        store.update("integ-1", view["authId"], patch)
    assert "SECRETVALUE" not in str(caught.value)
    assert_unchanged(store, view, {"token": "tok-orig", "label": "orig"})
    assert store.generation() == generation


def test_if_updated_at_is_a_compare_and_set(store: CredentialStore) -> None:
    view = store.create("integ-1", bearer())
    updated = store.update(
        "integ-1", view["authId"], {"label": "first"}, if_updated_at=view["updatedAt"]
    )
    generation = store.generation()
    with pytest.raises(ConflictError) as caught:
        store.update("integ-1", view["authId"], {"label": "stale"}, if_updated_at=view["updatedAt"])
    assert caught.value.code == "conflict"
    assert store.get("integ-1", view["authId"]) == updated
    assert store.generation() == generation
    again = store.update(
        "integ-1", view["authId"], {"label": "second"}, if_updated_at=updated["updatedAt"]
    )
    assert again["label"] == "second"


def test_duplicate_insert_is_a_conflict(store: CredentialStore) -> None:
    view = store.create("integ-1", bearer())
    row = store.backend.fetch("integ-1", view["authId"])
    assert row is not None
    with pytest.raises(ConflictError):
        store.backend.insert(row)


def test_delete(store: CredentialStore) -> None:
    kept = store.create("integ-1", bearer("t1"))
    gone = store.create("integ-1", bearer("t2"))
    generation = store.generation()
    assert store.delete("integ-1", gone["authId"]) is None
    assert store.generation() != generation
    assert store.list("integ-1") == [kept]
    for operation in (store.get, store.record):
        with pytest.raises(NotFoundError):
            operation("integ-1", gone["authId"])
    with pytest.raises(NotFoundError):
        store.update("integ-1", gone["authId"], {"label": "x"})
    with pytest.raises(NotFoundError):
        store.delete("integ-1", gone["authId"])
    with pytest.raises(NotFoundError):
        store.delete("integ-2", kept["authId"])
    assert store.get("integ-1", kept["authId"]) == kept


def test_generation_changes_on_every_write_only(store: CredentialStore) -> None:
    seen = [store.generation()]
    view = store.create("integ-1", bearer())
    seen.append(store.generation())
    store.get("integ-1", view["authId"])
    store.list("integ-1")
    store.record("integ-1", view["authId"])
    assert store.generation() == seen[-1]
    store.update("integ-1", view["authId"], {"label": "x"})
    seen.append(store.generation())
    store.delete("integ-1", view["authId"])
    seen.append(store.generation())
    assert len(set(seen)) == len(seen)


def test_open_refuses_unknown_urls_and_keyless_postgres(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    with pytest.raises(StoreValidationError):
        CredentialStore.open("mysql://localhost/db", master_key=MasterKey.generate().encoded())
    with pytest.raises(StoreValidationError):
        CredentialStore.open(fresh_postgres_url)
    with pytest.raises(StoreValidationError):
        CredentialStore.open(fresh_postgres_url, master_key="too short")


def test_master_key_from_environment(
    store_url: str, master_key: MasterKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDSIGN_MASTER_KEY", master_key.encoded())
    with CredentialStore.open(store_url) as store:
        view = store.create("integ-1", bearer("tok-env"))
    monkeypatch.delenv("CREDSIGN_MASTER_KEY")
    with CredentialStore.open(store_url, master_key=master_key.material) as store:
        assert store.record("integ-1", view["authId"]).to_dict(reveal_secrets=True)["token"] == (
            "tok-env"
        )


# -- 2. a state machine against an in-memory model ------------------------------------------

SAFE_BASE_URLS = ["https://api.example.com", "http://127.0.0.1:8080/v1", "https://b.example/x"]


def taken_header_names(body: dict[str, Any]) -> set[str]:
    if body["authType"] in ("BEARER_TOKEN", "BASIC_AUTH"):
        return {"authorization"}
    if body["authType"] == "API_KEY" and body["apiKey"]["position"] == "header":
        return {body["apiKey"]["key"].lower()}
    return set()


def static_headers(taken: set[str]) -> st.SearchStrategy[list[dict[str, str]]]:
    reserved = taken | {"authorization", "host", "content-length", "transfer-encoding"}
    names = header_names.filter(lambda name: name.lower() not in reserved | {"connection"})
    return st.lists(
        st.fixed_dictionaries({"key": names, "value": header_values}),
        min_size=1,
        max_size=3,
        unique_by=lambda header: header["key"].lower(),
    )


def valid_patches(body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    auth_type = body["authType"]
    optional: dict[str, st.SearchStrategy[Any]] = {
        "authType": st.just(auth_type),
        "label": unicode_text,
        "headers": st.one_of(st.just([]), static_headers(taken_header_names(body))),
        "baseUrl": st.sampled_from(SAFE_BASE_URLS),
        "contentType": st.sampled_from(["json", "xml", "form-urlencoded"]),
        "environment": st.sampled_from(["production", "test"]),
    }
    if auth_type == "BEARER_TOKEN":
        optional["token"] = secret_texts
    elif auth_type == "BASIC_AUTH":
        optional["password"] = unicode_text
        optional["username"] = unicode_text.filter(lambda name: ":" not in name)
    elif auth_type == "API_KEY":
        optional["apiKey"] = st.fixed_dictionaries({"value": secret_texts})
    return st.fixed_dictionaries({}, optional=optional)


def invalid_patches(body: dict[str, Any]) -> list[tuple[dict[str, Any], type[Exception]]]:
    auth_type = body["authType"]
    other = "NO_AUTH" if auth_type != "NO_AUTH" else "BEARER_TOKEN"
    foreign = {"token": "t"} if auth_type != "BEARER_TOKEN" else {"password": "p"}
    refused: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"authType": other, "token": "t"}, StoreValidationError),
        (foreign, StoreValidationError),
        ({"label": "changed", **foreign}, StoreValidationError),
        ({"createdAt": "2001-01-01T00:00:00.000000Z"}, StoreValidationError),
        ({"label": ""}, RecordError),
        ({"label": "changed", "baseUrl": "ftp://example.com"}, RecordError),
        ({"headers": [{"key": "bad name", "value": "v"}]}, RecordError),
        ({"environment": "staging", "headers": []}, RecordError),
    ]
    if auth_type == "BEARER_TOKEN":
        refused.append(({"token": "", "label": "changed"}, RecordError))
    elif auth_type == "BASIC_AUTH":
        refused.append(({"password": "bad\x00"}, RecordError))
    elif auth_type == "API_KEY":
        refused.append(({"apiKey": {"value": ""}}, RecordError))
    for name in taken_header_names(body):
        refused.append(({"headers": [{"key": name.upper(), "value": "x"}]}, RecordError))
    return refused


class StoreModel(RuleBasedStateMachine):
    """create / get / update / delete / list against a dict; ``store`` is set by the test."""

    store: CredentialStore

    def __init__(self) -> None:
        super().__init__()
        self.integration_id = f"integ-{uuid.uuid4().hex[:12]}"
        self.live: dict[str, dict[str, Any]] = {}  # authId -> {body, createdAt, updatedAt}
        self.deleted: list[str] = []

    def expected_view(self, auth_id: str) -> dict[str, Any]:
        entry = self.live[auth_id]
        body = entry["body"]
        view = {
            "authId": auth_id,
            "integrationId": self.integration_id,
            "authType": body["authType"],
            "headers": body.get("headers", []),
            "createdAt": entry["createdAt"],
            "updatedAt": entry["updatedAt"],
        }
        return view | {name: body[name] for name in OPTIONAL_VIEW_KEYS if name in body}

    def pick(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(list(self.live)), label="authId")  # creation order

    @initialize()
    def start_empty(self) -> None:
        assert self.store.list(self.integration_id) == []

    @rule(body=records())
    def create(self, body: dict[str, Any]) -> None:
        view = self.store.create(self.integration_id, body)
        assert AUTH_ID.match(view["authId"]) and view["authId"] not in self.live
        assert view["createdAt"] == view["updatedAt"]
        self.live[view["authId"]] = {
            "body": body,
            "createdAt": view["createdAt"],
            "updatedAt": view["updatedAt"],
        }
        assert view == self.expected_view(view["authId"])

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        auth_id = self.pick(data)
        assert self.store.get(self.integration_id, auth_id) == self.expected_view(auth_id)

    @precondition(lambda self: self.live)
    @rule(data=st.data(), guarded=st.booleans())
    def update(self, data: st.DataObject, guarded: bool) -> None:
        auth_id = self.pick(data)
        entry = self.live[auth_id]
        patch = data.draw(valid_patches(entry["body"]), label="patch")
        precondition_ = entry["updatedAt"] if guarded else None
        view = self.store.update(self.integration_id, auth_id, patch, if_updated_at=precondition_)
        body = entry["body"] | patch
        if "apiKey" in patch:
            body["apiKey"] = entry["body"]["apiKey"] | patch["apiKey"]
        assert view["updatedAt"] > entry["updatedAt"]
        assert view["createdAt"] == entry["createdAt"]
        entry.update(body=body, updatedAt=view["updatedAt"])
        assert view == self.expected_view(auth_id)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def update_refused(self, data: st.DataObject) -> None:
        auth_id = self.pick(data)
        patch, error = data.draw(st.sampled_from(invalid_patches(self.live[auth_id]["body"])))
        with pytest.raises(error):
            self.store.update(self.integration_id, auth_id, patch)

    @precondition(lambda self: any(e["createdAt"] != e["updatedAt"] for e in self.live.values()))
    @rule(data=st.data())
    def update_stale(self, data: st.DataObject) -> None:
        changed = [a for a, e in self.live.items() if e["createdAt"] != e["updatedAt"]]
        auth_id = data.draw(st.sampled_from(changed))
        stale = self.live[auth_id]["createdAt"]
        with pytest.raises(ConflictError):
            self.store.update(self.integration_id, auth_id, {"label": "x"}, if_updated_at=stale)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        auth_id = self.pick(data)
        self.store.delete(self.integration_id, auth_id)
        del self.live[auth_id]
        self.deleted.append(auth_id)

    @precondition(lambda self: self.deleted)
    @rule(data=st.data())
    def deleted_stay_gone(self, data: st.DataObject) -> None:
        auth_id = data.draw(st.sampled_from(self.deleted))
        with pytest.raises(NotFoundError):
            self.store.get(self.integration_id, auth_id)
        with pytest.raises(NotFoundError):
            self.store.update(self.integration_id, auth_id, {"label": "x"})
        with pytest.raises(NotFoundError):
            self.store.delete(self.integration_id, auth_id)

    @invariant()
    def matches_model(self) -> None:
        listed = self.store.list(self.integration_id)
        assert {view["authId"]: view for view in listed} == {
            auth_id: self.expected_view(auth_id) for auth_id in self.live
        }
        created = [view["createdAt"] for view in listed]
        assert created == sorted(created)
        for auth_id, entry in self.live.items():
            record = self.store.record(self.integration_id, auth_id)
            data = record.to_dict(reveal_secrets=True)
            for name in ("authId", "integrationId", "createdAt", "updatedAt"):
                data.pop(name)
            assert data == entry["body"]


def test_store_behaves_like_a_dict(store: CredentialStore) -> None:
    class Machine(StoreModel):
        pass

    Machine.store = store
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=20,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# -- 3. encryption at rest ------------------------------------------------------------------


def stored_bytes(url: str) -> bytes:
    """Everything the database holds: the SQLite files, or a dump of PostgreSQL's tables."""
    if url.startswith("sqlite://"):
        path = Path(url.removeprefix("sqlite://"))
        parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return b"".join(part.read_bytes() for part in parts if part.exists())
    import psycopg

    dump = bytearray()
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        for table in ("credsign_credentials", "credsign_meta"):
            with cursor.copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    dump += chunk
        cursor.execute("SELECT * FROM credsign_credentials")
        for row in cursor.fetchall():
            dump += repr(row).encode()
    return bytes(dump)


def assert_nowhere(dump: bytes, secrets_: list[str], key: MasterKey) -> None:
    for secret in secrets_:
        raw = secret.encode()
        for form in (raw, raw.hex().encode(), base64.b64encode(raw), json.dumps(secret).encode()):
            assert form not in dump, f"{secret!r} is stored readably"
    for form in (key.material, key.material.hex().encode(), key.encoded().encode()):
        assert form not in dump, "the master key is in the database"


def test_secrets_are_encrypted_at_rest(store_url: str, master_key: MasterKey) -> None:
    secrets_ = ["pw-AtRest-Basic-4417", "tok-AtRest-Bearer-7734", "key-AtRest-Api-0912"]
    store = CredentialStore.open(store_url, master_key=master_key.encoded())
    store.create(
        "integ-1",
        {"authType": "BASIC_AUTH", "username": "u", "password": secrets_[0], "label": "Marker-L"},
    )
    bearer_view = store.create("integ-1", bearer("tok-AtRest-Old-5561"))
    store.update("integ-1", bearer_view["authId"], {"token": secrets_[1]})
    store.create(
        "integ-2",
        {"authType": "API_KEY", "apiKey": {"key": "k", "value": secrets_[2], "position": "query"}},
    )
    everything = [*secrets_, "tok-AtRest-Old-5561"]
    dump = stored_bytes(store_url)
    assert b"Marker-L" in dump  # the dump does show what is stored in clear
    assert_nowhere(dump, everything, master_key)
    store.close()  # SQLite: checkpoints the WAL into the main file
    assert_nowhere(stored_bytes(store_url), everything, master_key)


def test_ciphertext_moved_to_another_record_fails(store: CredentialStore, store_url: str) -> None:
    victim = store.create("integ-1", bearer("tok-victim"))
    thief = store.create("integ-1", bearer("tok-thief"))
    elsewhere = store.create("integ-2", bearer("tok-elsewhere"))
    [(key_id, sealed)] = raw_sql(
        store_url,
        "SELECT key_id, secret FROM credsign_credentials WHERE auth_id = ?",
        (victim["authId"],),
    )
    for target in (thief, elsewhere):
        raw_sql(
            store_url,
            "UPDATE credsign_credentials SET key_id = ?, secret = ? WHERE auth_id = ?",
            (key_id, sealed, target["authId"]),
        )
        with pytest.raises(IntegrityError) as caught:
            store.record(target["integrationId"], target["authId"])
        assert caught.value.code == "integrity_error"
        assert "tok-victim" not in str(caught.value)
        with pytest.raises(IntegrityError):  # views are authenticated too
            store.get(target["integrationId"], target["authId"])
        with pytest.raises(IntegrityError):
            store.update(target["integrationId"], target["authId"], {"label": "x"})
    assert store.record("integ-1", victim["authId"]).to_dict(reveal_secrets=True)["token"] == (
        "tok-victim"
    )


def test_tampered_ciphertext_fails(store: CredentialStore, store_url: str) -> None:
    view = store.create("integ-1", bearer("tok-tampered"))
    [(sealed,)] = raw_sql(
        store_url, "SELECT secret FROM credsign_credentials WHERE auth_id = ?", (view["authId"],)
    )
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    raw_sql(
        store_url,
        "UPDATE credsign_credentials SET secret = ? WHERE auth_id = ?",
        (bytes(flipped), view["authId"]),
    )
    with pytest.raises(IntegrityError):
        store.record("integ-1", view["authId"])


def test_wrong_master_key(store_url: str, master_key: MasterKey) -> None:
    with CredentialStore.open(store_url, master_key=master_key.encoded()) as store:
        view = store.create("integ-1", bearer("tok-right-key", label="L"))
    wrong = MasterKey.generate()
    with pytest.raises(IntegrityError) as caught:  # neither reads nor writes
        CredentialStore.open(store_url, master_key=wrong.encoded())
    assert caught.value.code == "integrity_error"
    with CredentialStore.open(
        store_url, master_key=wrong.encoded(), previous_keys=[master_key.encoded()]
    ) as store:
        assert store.get("integ-1", view["authId"]) == view
        assert store.record("integ-1", view["authId"]).to_dict(reveal_secrets=True)["token"] == (
            "tok-right-key"
        )


# -- 4. master key rotation -----------------------------------------------------------------


def make_records(store: CredentialStore, count: int) -> dict[str, dict[str, Any]]:
    """``count`` records over two integrations: authId -> their full JSON (secrets in)."""
    made = {}
    for index in range(count):
        integration = f"integ-{index % 2}"
        view = store.create(integration, bearer(f"tok-rotate-{index}", label=f"r{index}"))
        made[view["authId"]] = store.record(integration, view["authId"]).to_dict(
            reveal_secrets=True
        )
    return made


def assert_reads_all(store: CredentialStore, made: dict[str, dict[str, Any]]) -> None:
    for auth_id, data in made.items():
        assert store.record(data["integrationId"], auth_id).to_dict(reveal_secrets=True) == data


def key_ids(url: str) -> list[str]:
    return [row[0] for row in raw_sql(url, "SELECT key_id FROM credsign_credentials")]


def crash_after(store: CredentialStore, rows: int) -> Callable[[], None]:
    """Make the store's backend fail (as if killed) on the update after ``rows`` of them.

    Returns what undoes that.
    """
    original = store.backend.update
    done = 0

    def update(*args: Any, **kwargs: Any) -> Any:
        nonlocal done
        if done == rows:
            raise RuntimeError("simulated crash")
        done += 1
        return original(*args, **kwargs)

    store.backend.update = update  # type: ignore[method-assign]
    return lambda: delattr(store.backend, "update")


def test_rotation_re_encrypts_everything(store_url: str, master_key: MasterKey) -> None:
    new = MasterKey.generate()
    with CredentialStore.open(store_url, master_key=master_key.encoded()) as store:
        made = make_records(store, 4)
        assert store.rotate_master_key(new.encoded()) == 4
        assert set(key_ids(store_url)) == {new.key_id}
        assert_reads_all(store, made)  # this store reads on, with the new key
        assert store.rotate_master_key(new) == 0
    with CredentialStore.open(store_url, master_key=new.material) as store:
        assert_reads_all(store, made)
        for view in store.list("integ-0"):
            assert view["updatedAt"] == made[view["authId"]]["updatedAt"]
    with (
        CredentialStore.open(store_url, master_key=master_key.encoded()) as store,
        pytest.raises(IntegrityError),
    ):
        store.record("integ-0", next(iter(made)))


@pytest.mark.parametrize("reopen_with", ["old key first", "new key first"])
def test_interrupted_rotation_resumes(
    store_url: str, master_key: MasterKey, monkeypatch: pytest.MonkeyPatch, reopen_with: str
) -> None:
    new = MasterKey.generate()
    store = CredentialStore.open(store_url, master_key=master_key.encoded())
    made = make_records(store, 5)
    crash_after(store, 2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.rotate_master_key(new)
    store.close()
    assert sorted(key_ids(store_url)) == sorted([new.key_id] * 2 + [master_key.key_id] * 3)

    with (
        CredentialStore.open(store_url, master_key=new.encoded()) as store,
        pytest.raises(IntegrityError),  # the new key alone does not read everything yet
    ):
        assert_reads_all(store, made)
    current, previous = (master_key, new) if reopen_with == "old key first" else (new, master_key)
    with CredentialStore.open(
        store_url, master_key=current.encoded(), previous_keys=[previous.encoded()]
    ) as store:
        assert_reads_all(store, made)
        assert store.rotate_master_key(new) == 3
    assert set(key_ids(store_url)) == {new.key_id}
    with CredentialStore.open(store_url, master_key=new.encoded()) as store:
        assert_reads_all(store, made)


def test_rotation_rerun_in_the_same_process_finishes(
    store_url: str, master_key: MasterKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = MasterKey.generate()
    with CredentialStore.open(store_url, master_key=master_key.encoded()) as store:
        made = make_records(store, 4)
        restore = crash_after(store, 1)
        with pytest.raises(RuntimeError):
            store.rotate_master_key(new)
        assert_reads_all(store, made)
        restore()
        assert store.rotate_master_key(new) == 3
    with CredentialStore.open(store_url, master_key=new.encoded()) as store:
        assert_reads_all(store, made)


@pytest.fixture
def embedded_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default store (``CredentialStore.open()``) at a temporary path, keyed by its file."""
    path = tmp_path / "data" / "credentials.db"
    monkeypatch.setenv("CREDSIGN_STORE", str(path))
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    return path


def test_key_file_is_created_private_and_rotation_replaces_it(embedded_default: Path) -> None:
    key_file = embedded_default.with_name("credentials.db.key")
    with CredentialStore.open() as store:
        made = make_records(store, 3)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    old = key_file.read_text()
    with CredentialStore.open() as store:
        assert_reads_all(store, made)
        assert store.rotate_master_key() == 3
    assert key_file.read_text() != old
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not key_file.with_name("credentials.db.key.next").exists()
    assert set(key_ids(sqlite_url(embedded_default))) == {
        MasterKey.parse(key_file.read_text().split()[0]).key_id  # line 1: current
    }
    with CredentialStore.open() as store:
        assert_reads_all(store, made)
    assert_nowhere(stored_bytes(sqlite_url(embedded_default)), [], MasterKey.parse(old.strip()))


def test_key_file_rotation_interrupted_resumes(
    embedded_default: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = embedded_default.with_name("credentials.db.key")
    pending = key_file.with_name("credentials.db.key.next")
    store = CredentialStore.open()
    made = make_records(store, 4)
    old = key_file.read_text()
    crash_after(store, 2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.rotate_master_key()
    store.close()
    assert pending.exists()
    assert stat.S_IMODE(pending.stat().st_mode) == 0o600
    assert key_file.read_text() == old
    new = pending.read_text()
    assert new != old

    with CredentialStore.open() as store:  # no key given: the files resume the rotation
        assert_reads_all(store, made)
        late = store.create("integ-late", bearer("tok-late"))  # written meanwhile
        made[late["authId"]] = store.record("integ-late", late["authId"]).to_dict(
            reveal_secrets=True
        )
    with CredentialStore.open() as store:
        # 2 left over; the one written meanwhile was sealed with the pending key already
        assert store.rotate_master_key() == 2
    assert not pending.exists()
    assert key_file.read_text().split() == [new.strip(), old.strip()]  # current, then retired
    with CredentialStore.open() as store:
        assert_reads_all(store, made)
    with CredentialStore.open(sqlite_url(embedded_default), master_key=new.strip()) as store:
        assert_reads_all(store, made)


def test_records_created_by_another_process_after_a_key_file_rotation_stay_readable(
    embedded_default: Path,
) -> None:
    # Each CredentialStore has its own keyring: `other` is what another process holds.
    with CredentialStore.open() as other:
        before = other.create("integ-1", bearer("tok-before"))
        with CredentialStore.open() as rotating:
            assert rotating.rotate_master_key() == 1
        after = other.create("integ-1", bearer("tok-after"))
    with CredentialStore.open() as reopened:
        for view, token in ((before, "tok-before"), (after, "tok-after")):
            record = reopened.record("integ-1", view["authId"])
            assert record.to_dict(reveal_secrets=True)["token"] == token


# -- 5. live adapters -----------------------------------------------------------------------


class Capture:
    """An httpx ``MockTransport`` handler remembering each request's Authorization."""

    def __init__(self) -> None:
        self.seen: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.headers)
        return httpx.Response(200)

    @property
    def last(self) -> str | None:
        return self.seen[-1].get("authorization")


def test_live_httpx_auth_follows_updates_at_once(store: CredentialStore) -> None:
    view = store.create("integ-1", bearer("tok-one"))
    capture = Capture()
    auth = store.httpx_auth("integ-1", view["authId"])
    with httpx.Client(transport=httpx.MockTransport(capture), auth=auth) as client:
        client.get("https://api.example.com/a")
        assert capture.last == "Bearer tok-one"
        store.update("integ-1", view["authId"], {"token": "tok-two"})
        client.get("https://api.example.com/a")
        assert capture.last == "Bearer tok-two"
        store.update("integ-1", view["authId"], {"headers": [{"key": "X-Static", "value": "s"}]})
        client.get("https://api.example.com/a")
        assert capture.seen[-1].get("x-static") == "s"
        assert capture.last == "Bearer tok-two"
        store.delete("integ-1", view["authId"])
        with pytest.raises(NotFoundError):
            client.get("https://api.example.com/a")
    assert len(capture.seen) == 3


def test_live_requests_auth_follows_updates_at_once(store: CredentialStore) -> None:
    requests = pytest.importorskip("requests")
    view = store.create("integ-1", bearer("tok-one"))
    auth = store.requests_auth("integ-1", view["authId"])

    def authorization() -> str:
        return (
            requests.Request("GET", "https://api.example.com/a", auth=auth)
            .prepare()
            .headers["Authorization"]
        )

    assert authorization() == "Bearer tok-one"
    store.update("integ-1", view["authId"], {"token": "tok-two"})
    assert authorization() == "Bearer tok-two"
    store.delete("integ-1", view["authId"])
    with pytest.raises(NotFoundError):
        authorization()


def test_live_auth_of_a_missing_record_fails_at_once(store: CredentialStore) -> None:
    with pytest.raises(NotFoundError):
        store.httpx_auth("integ-1", "auth_doesNotExist")


def test_live_auth_through_another_store_object_refreshes(
    store: CredentialStore, store_url: str, master_key: MasterKey
) -> None:
    view = store.create("integ-1", bearer("tok-one"))
    with CredentialStore.open(
        store_url, master_key=master_key.encoded(), refresh_interval=0.05
    ) as other:
        capture = Capture()
        auth = other.httpx_auth("integ-1", view["authId"])
        with httpx.Client(transport=httpx.MockTransport(capture), auth=auth) as client:
            client.get("https://api.example.com/a")
            assert capture.last == "Bearer tok-one"
            store.update("integ-1", view["authId"], {"token": "tok-two"})
            deadline = time.monotonic() + 2
            while capture.last != "Bearer tok-two" and time.monotonic() < deadline:
                time.sleep(0.02)
                client.get("https://api.example.com/a")
            assert capture.last == "Bearer tok-two"


def test_live_auth_in_another_process_sees_updates_within_the_interval(
    store: CredentialStore,
    store_url: str,
    master_key: MasterKey,
    workers: Callable[..., Worker],
) -> None:
    view = store.create("integ-1", bearer("tok-one"))
    worker = workers("watch", store_url, "integ-1", view["authId"], key=master_key)
    worker.wait_for(lambda line: line == "ready", timeout=30)
    worker.wait_for(lambda line: line == "Bearer tok-one", timeout=5)

    store.update("integ-1", view["authId"], {"token": "tok-two"})
    updated = time.monotonic()
    worker.wait_for(lambda line: line == "Bearer tok-two", timeout=1.5)
    assert time.monotonic() - updated < 1.5
    switched = len(worker.seen) - 1

    store.delete("integ-1", view["authId"])
    worker.wait_for(lambda line: line == "deleted", timeout=1.5)
    assert set(worker.seen[switched:-1]) == {"Bearer tok-two"}  # no going back
    assert worker.process.poll() is None, worker.errors()


def test_live_auth_in_another_process_survives_key_file_rotation(
    embedded_default: Path, workers: Callable[..., Worker]
) -> None:
    """A process opened before the rotation learns the new key from the key file."""
    url = sqlite_url(embedded_default)
    with CredentialStore.open(url) as store:
        view = store.create("integ-1", bearer("tok-one"))
    worker = workers("watch", url, "integ-1", view["authId"], key=None)
    worker.wait_for(lambda line: line == "ready", timeout=30)
    worker.wait_for(lambda line: line == "Bearer tok-one", timeout=5)
    with CredentialStore.open(url) as store:
        assert store.rotate_master_key() == 1
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        line = worker.wait_for(lambda _: True, timeout=1.5)
        assert line == "Bearer tok-one", worker.errors()


# -- environments: resolving by environment and label -----------------------------------


def sent_token(auth: httpx.Auth) -> str:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.get("https://api.example.com/")
    return seen[0]


def test_production_is_the_default_and_test_is_never_picked_for_it(
    store: CredentialStore,
) -> None:
    store.create("crm", bearer("tok-test", environment="test"))
    with pytest.raises(NotFoundError, match="no production record"):
        store.resolve("crm")
    production = store.create("crm", bearer("tok-prod"))  # no environment: production
    assert store.resolve("crm")["authId"] == production["authId"]
    assert store.resolve("crm", "production")["authId"] == production["authId"]
    assert store.resolve("crm", "test")["environment"] == "test"
    assert sent_token(store.httpx_auth("crm")) == "Bearer tok-prod"
    assert sent_token(store.httpx_auth("crm", environment="test")) == "Bearer tok-test"


def test_labels_pick_among_several(store: CredentialStore) -> None:
    eu = store.create("crm", bearer("tok-eu", label="EU", environment="production"))
    store.create("crm", bearer("tok-us", label="US"))
    with pytest.raises(ConflictError, match="give a label") as caught:
        store.resolve("crm")
    assert caught.value.code == "conflict"
    assert store.resolve("crm", label="EU")["authId"] == eu["authId"]
    assert sent_token(store.httpx_auth("crm", label="US")) == "Bearer tok-us"
    with pytest.raises(NotFoundError):
        store.resolve("crm", label="APAC")
    with pytest.raises(NotFoundError):
        store.resolve("other-integration")


def test_selector_and_auth_id_are_exclusive_and_environment_is_checked(
    store: CredentialStore,
) -> None:
    view = store.create("crm", bearer("tok"))
    with pytest.raises(StoreValidationError):
        store.httpx_auth("crm", view["authId"], environment="test")
    with pytest.raises(StoreValidationError):
        store.resolve("crm", "staging")


def test_requests_auth_takes_the_selector(store: CredentialStore) -> None:
    import requests

    store.create("crm", bearer("tok-test", environment="test"))
    auth = store.requests_auth("crm", environment="test")
    prepared = requests.Request("GET", "https://api.example.com/").prepare()
    assert auth(prepared).headers["Authorization"] == "Bearer tok-test"


def test_several_api_keys_are_sealed_and_round_trip(store: CredentialStore) -> None:
    body = {
        "authType": "API_KEY",
        "apiKeys": [
            {"key": "DD-API-KEY", "value": "dd-api-secret", "position": "header"},
            {"key": "DD-APPLICATION-KEY", "value": "dd-app-secret", "position": "header"},
        ],
    }
    view = store.create("datadog", body)
    assert "dd-api-secret" not in json.dumps(view)
    record = store.record("datadog", view["authId"]).to_dict(reveal_secrets=True)
    assert record["apiKeys"] == body["apiKeys"]


# -- per-organization credentials -------------------------------------------------------

ORGS = {
    "authType": "BEARER_TOKEN",
    "organizations": [
        {"orgId": "acme", "token": "org-acme-secret"},
        {"orgId": "globex", "token": "org-globex-secret"},
    ],
}


def test_organizations_are_sealed_and_round_trip(store: CredentialStore, store_url: str) -> None:
    view = store.create("crm", ORGS)
    assert "org-acme-secret" not in json.dumps(view)
    stored = store.record("crm", view["authId"]).to_dict(reveal_secrets=True)
    assert stored["organizations"] == ORGS["organizations"]
    dumped = repr(raw_sql(store_url, "SELECT public, secret FROM credsign_credentials"))
    assert "org-acme-secret" not in dumped
    assert "acme" in dumped  # org ids are not secret


def test_organization_patches_add_replace_remove_one_set(store: CredentialStore) -> None:
    auth_id = store.create("crm", ORGS)["authId"]
    store.update("crm", auth_id, {"organizations": {"initech": {"token": "org-initech"}}})
    store.update("crm", auth_id, {"organizations": {"acme": {"token": "org-acme-2"}}})
    store.update("crm", auth_id, {"organizations": {"globex": None}})
    organizations = store.record("crm", auth_id).to_dict(reveal_secrets=True)["organizations"]
    assert organizations == [
        {"orgId": "acme", "token": "org-acme-2"},
        {"orgId": "initech", "token": "org-initech"},
    ]
    with pytest.raises(NotFoundError):
        store.update("crm", auth_id, {"organizations": {"globex": None}})
    with pytest.raises(RecordError):
        store.update("crm", auth_id, {"organizations": {"acme": {"token": "bad\nvalue"}}})
    store.update("crm", auth_id, {"organizations": [{"orgId": "only", "token": "org-only"}]})
    organizations = store.record("crm", auth_id).to_dict(reveal_secrets=True)["organizations"]
    assert organizations == [{"orgId": "only", "token": "org-only"}]


def test_live_adapter_per_organization(store: CredentialStore) -> None:
    auth_id = store.create("crm", ORGS)["authId"]
    auth = store.httpx_auth("crm", auth_id, org="acme")
    assert sent_token(auth) == "Bearer org-acme-secret"
    store.update("crm", auth_id, {"organizations": {"acme": {"token": "org-acme-rotated"}}})
    assert sent_token(auth) == "Bearer org-acme-rotated"
    store.update("crm", auth_id, {"organizations": {"acme": None}})
    with pytest.raises(credsign.CredsignError, match="no credentials for organization 'acme'"):
        sent_token(auth)
    with pytest.raises(credsign.CredsignError, match="no credentials for organization"):
        store.httpx_auth("crm", auth_id, org="nobody")
