"""The CLI's store location and its bad input, run as the real command in subprocesses.

``$CREDSIGN_STORE``, ``--store`` and ``CredentialStore.open`` take the same
forms (a URL or a bare path) through one parser; arguments that are not UTF-8
and deeply nested JSON end with exit status 2 and a message, never a traceback
(``Cli`` asserts there is none).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.test_cli import BEARER, Cli, cmd, random_key

pytest.importorskip("cryptography")

from credsign.store import CredentialStore

NOT_UTF8 = os.fsdecode(b"\xff")  # what Python makes of the byte 0xFF in argv


def entries(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


def test_every_store_form_names_the_same_database(tmp_path: Path) -> None:
    key = random_key()
    cli = Cli(tmp_path, master_key=key)
    database = tmp_path / "db" / "credentials.db"
    forms = [str(database), f"sqlite://{database}"]
    created = cli.ok("auth", "create", "crm", "--json", "-", "--store", forms[0],
                     stdin=json.dumps(BEARER))  # fmt: skip
    auth_id = json.loads(created)["authId"]
    for result in cli.all(
        *(cmd("auth", "list", "crm", "--store", form) for form in forms),
        *(cmd("auth", "list", "crm", env={"CREDSIGN_STORE": form}) for form in forms),
    ):
        assert result.code == 0, result
        assert [view["authId"] for view in json.loads(result.out)] == [auth_id]
    for form in [*forms, database]:
        with CredentialStore.open(form, master_key=key) as store:
            assert [view["authId"] for view in store.list("crm")] == [auth_id]
    assert not any(name.endswith(":") for name in entries(tmp_path)), entries(tmp_path)


def test_a_postgresql_url_in_the_variable_is_postgresql(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    key = random_key()
    cli = Cli(tmp_path, master_key=key)
    created = cli.ok("auth", "create", "crm", "--json", "-", stdin=json.dumps(BEARER),
                     env={"CREDSIGN_STORE": fresh_postgres_url})  # fmt: skip
    auth_id = json.loads(created)["authId"]
    with CredentialStore.open(fresh_postgres_url, master_key=key) as store:
        assert [view["authId"] for view in store.list("crm")] == [auth_id]
    listed = cli.ok("auth", "list", "crm", "--store", fresh_postgres_url)
    assert [view["authId"] for view in json.loads(listed)] == [auth_id]
    assert not any(name.startswith("postgres") for name in entries(tmp_path))


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ("postgresql://user:pw-SECRET@127.0.0.1:1/db", 1),  # nothing listens on port 1
        ("postgres://user:pw-SECRET@127.0.0.1:1/db", 1),
        ("mysql://user:pw-SECRET@127.0.0.1/db", 2),
        ("sqlite://", 2),
    ],
)
def test_a_store_url_never_becomes_a_directory(tmp_path: Path, location: str, code: int) -> None:
    cli = Cli(tmp_path, master_key=random_key())
    before = entries(tmp_path)
    for result in cli.all(
        cmd("auth", "list", "crm", env={"CREDSIGN_STORE": location}),
        cmd("auth", "list", "crm", "--store", location),
    ):
        assert result.code == code, result
        assert result.out == "", result
        assert result.err.startswith("credsign: ") and "pw-SECRET" not in result.err, result
    assert entries(tmp_path) == before


@pytest.mark.parametrize(
    "args",
    [
        ("auth", "get", NOT_UTF8, "auth_x"),
        ("auth", "get", "crm", "auth_" + NOT_UTF8),
        ("auth", "list", "crm" + NOT_UTF8),
        ("auth", "update", "crm", "auth_x", "--json", "-", "--if-updated-at", NOT_UTF8),
        ("sign", "crm", "auth_x", "GET", f"https://api.example.com/{NOT_UTF8}"),
        ("sign", "crm", "auth_x", "GET", "https://api.example.com/", "-H", f"X-A: {NOT_UTF8}"),
        ("credentials", "store", "datadog", "--field", f"api_key={NOT_UTF8}", "--no-validate"),
        ("credentials", "store", "datadog", "--label", NOT_UTF8, "--no-validate"),
        ("providers", "show", NOT_UTF8),
        ("keys", "rotate", "--new-key-env", NOT_UTF8),
        ("auth", "list", "crm", "--store", f"postgresql://u:{NOT_UTF8}@127.0.0.1:1/db"),
    ],
)
def test_arguments_that_are_not_utf8_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = Cli(tmp_path, master_key=random_key())(*args, stdin="{}")
    assert result.code == 2, result
    assert result.err.startswith("credsign: ") and "UTF-8" in result.err, result


def test_bytes_arguments_stay_bytes(tmp_path: Path) -> None:
    """A body and file names may be any bytes; so may a SQLite path, as in the variable."""
    cli = Cli(tmp_path, master_key=random_key())
    [auth_id] = cli.create(BEARER)
    signed = cli.ok("sign", "crm", auth_id, "POST", "https://api.example.com/v1", "-d", NOT_UTF8)
    assert signed.endswith("\n[1 bytes of binary data]\n")
    missing = cli("auth", "create", "crm", "--json", NOT_UTF8)
    assert missing.code == 2 and "cannot read JSON" in missing.err, missing
    database = str(tmp_path / f"{NOT_UTF8}.db")
    created = cli.ok("auth", "create", "odd", "--json", "-", "--store", database,
                     stdin=json.dumps(BEARER))  # fmt: skip
    listed = cli.ok("auth", "list", "odd", env={"CREDSIGN_STORE": database})
    assert [view["authId"] for view in json.loads(listed)] == [json.loads(created)["authId"]]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_json_exits_2(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    [auth_id] = cli.create(BEARER)
    deep_record = '{"authType": "BEARER_TOKEN", "token": "t", "headers": ' + nested(1000) + "}"
    for result in cli.all(
        cmd("auth", "create", "crm", "--json", "-", stdin=deep_record),
        cmd("auth", "update", "crm", auth_id, "--json", "-", stdin='{"x": ' + nested(1000) + "}"),
        cmd("auth", "create", "crm", "--json", "-", stdin=nested(100_000)),
    ):
        assert result.code == 2, result
        assert result.err.startswith("credsign: invalid record: "), result
