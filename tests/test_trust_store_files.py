"""The store's surroundings: locations, URLs without passwords, private files, valid ids.

Issue 10, items 7 (PostgreSQL passwords in errors and reprs), 19 (file modes),
21 (one location parser) and the store part of 10 (odd ids are validation errors).
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credsign import StoreError, StoreValidationError
from credsign.store import (
    CredentialStore,
    MasterKey,
    StoreLocation,
    parse_store_location,
    redact_url,
)
from tests.test_store import bearer, raw_sql, sqlite_url

MARKER, END = "Zq9x", "Wk7v"  # every password starts and ends with these: neither may show
PASSWORDS = st.builds(
    lambda tail: MARKER + tail + END,
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
        | st.sampled_from("%@/:?#&='\" \\"),
        max_size=20,
    ),
)


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        yield current
        pending += [current.__cause__, current.__context__]


def assert_hidden(password: str, *shown: object) -> None:
    for thing in shown:
        texts = [repr(thing), str(thing)]
        if isinstance(thing, BaseException):
            texts = [
                text
                for link in exception_chain(thing)
                for text in (str(link), repr(link.args), repr(getattr(link, "object", "")))
            ]
        for text in texts:
            assert MARKER not in text and END not in text, f"a password shows in {text!r}"
            assert quote(password, safe="") not in text


@pytest.fixture(scope="module")
def closed_port() -> int:
    """A local port nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- 7: no password in messages, chained exceptions or reprs -----------------------------------


@settings(max_examples=150, deadline=None)
@given(password=PASSWORDS, form=st.sampled_from(["raw", "encoded", "query"]))
@example(password=MARKER + "pw%zz" + END, form="raw")  # libpq: invalid percent-encoded token
@example(password=MARKER + "/" + END, form="raw")  # libpq would take the host from the password
@example(password=MARKER + "@" + END, form="raw")
@example(password=MARKER + "@\ufff9" + END, form="raw")  # psycopg: the host cannot be encoded
@example(password=MARKER + "&" + END, form="query")
def test_a_failing_postgres_url_never_shows_its_password(
    closed_port: int, password: str, form: str
) -> None:
    host = f"127.0.0.1:{closed_port}/postgres"
    url = {
        "raw": f"postgresql://user:{password}@{host}",
        "encoded": f"postgres://user:{quote(password, safe='')}@{host}",
        "query": f"postgresql://user@{host}?connect_timeout=5&password={password}",
    }[form]
    with pytest.raises(StoreError) as caught:
        CredentialStore.open(url, master_key=MasterKey.generate())
    assert_hidden(password, caught.value)
    shown: object
    try:
        shown = parse_store_location(url)
    except StoreValidationError as refused:  # e.g. a raw "@" or "/" in the password
        shown = refused
    assert_hidden(password, shown)


@settings(max_examples=200, deadline=None)
@given(
    password=PASSWORDS,
    before=st.text(st.sampled_from("u:@/h?=&"), max_size=6),
    after=st.text(st.sampled_from("h:5/d?a=b&@"), max_size=12),
    form=st.sampled_from(["user info", "parameter"]),
)
def test_redacted_urls_never_show_a_password(
    password: str, before: str, after: str, form: str
) -> None:
    url = (
        f"postgresql://{before}:{password}@{after}"
        if form == "user info"
        else f"postgresql://{before}@{after}?password={password}"
    )
    assert_hidden(password, redact_url(url))


def test_a_working_postgres_store_never_shows_its_password(
    fresh_postgres_url: str, master_key: MasterKey
) -> None:
    password = MARKER + "s3cret:/@%"
    scheme, rest = fresh_postgres_url.split("://", 1)
    url = f"{scheme}://{rest.replace('@', ':' + quote(password, safe='') + '@', 1)}"
    with CredentialStore.open(url, master_key=master_key) as store:  # trust: any password
        view = store.create("integ-1", bearer())
        assert_hidden(password, store, store.backend, store.backend.url)
        assert "****" in repr(store)
        raw_sql(fresh_postgres_url, "DROP TABLE credsign_credentials")
        with pytest.raises(StoreError) as caught:
            store.get("integ-1", view["authId"])
        assert_hidden(password, caught.value)
        assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_an_unknown_scheme_does_not_show_the_url() -> None:
    with pytest.raises(StoreValidationError) as caught:
        CredentialStore.open(f"mysql://user:{MARKER}@db/x", master_key=MasterKey.generate())
    assert_hidden(MARKER, caught.value)


# -- 21: one parser for open(), $CREDSIGN_STORE and the CLI ------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/data/c.db", StoreLocation("sqlite", Path("/data/c.db"))),
        ("relative/c.db", StoreLocation("sqlite", Path("relative/c.db"))),
        ("sqlite:///data/c.db", StoreLocation("sqlite", Path("/data/c.db"))),
        ("sqlite://relative/c.db", StoreLocation("sqlite", Path("relative/c.db"))),
        (Path("/data/c.db"), StoreLocation("sqlite", Path("/data/c.db"))),
        ("postgresql://u@h/db", StoreLocation("postgresql", url="postgresql://u@h/db")),
        ("postgres://u@h/db", StoreLocation("postgresql", url="postgres://u@h/db")),
    ],
)
def test_locations_parse(value: Any, expected: StoreLocation) -> None:
    assert parse_store_location(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "mysql://h/db", "postgresql+psycopg://h/db", "file:///x.db", "sqlite://", "http://x"],
)
def test_unknown_locations_are_refused_and_create_nothing(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CREDSIGN_STORE", value or "mysql://h/db")
    for attempt in (lambda: CredentialStore.open(value), lambda: CredentialStore.open()):
        with pytest.raises(StoreValidationError):
            attempt()
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=50, deadline=None)
@given(st.text(st.sampled_from("abc-_./é 1"), min_size=1).filter(lambda text: text.strip()))
def test_a_path_a_sqlite_url_and_a_path_object_are_one_location(text: str) -> None:
    expected = parse_store_location(text)
    assert expected.kind == "sqlite"
    assert parse_store_location("sqlite://" + text) == expected
    assert parse_store_location(Path(text)) == StoreLocation("sqlite", Path(text))


def test_the_environment_names_any_kind_of_store(
    fresh_postgres_url: str, master_key: MasterKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CREDSIGN_STORE", fresh_postgres_url)
    with CredentialStore.open(master_key=master_key) as store:
        view = store.create("integ-1", bearer())
    with CredentialStore.open(fresh_postgres_url, master_key=master_key) as store:
        assert store.get("integ-1", view["authId"]) == view
    database = tmp_path / "elsewhere" / "credentials.db"
    for value in (f"sqlite://{database}", str(database)):
        monkeypatch.setenv("CREDSIGN_STORE", value)
        CredentialStore.open(master_key=master_key).close()
    assert database.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["elsewhere"]
    with CredentialStore.open(database, master_key=master_key) as store:
        assert store.list("integ-1") == []


# -- 19: files only their owner can read ------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077])
def test_store_files_are_private_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask: int
) -> None:
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    tmp_path.chmod(0o755)  # the user's own directory: left as it is
    database = tmp_path / "made" / "by-credsign" / "credentials.db"
    previous = os.umask(umask)
    try:
        with CredentialStore.open(sqlite_url(database)) as store:
            store.create("integ-1", bearer())
            files = [
                database,
                *(
                    database.with_name(database.name + tail)
                    for tail in ("-wal", "-shm", ".key", ".schema")
                ),
            ]
            modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in files}
            store.rotate_master_key()
    finally:
        os.umask(previous)
    assert modes == {path.name: 0o600 for path in files}
    for directory in (database.parent, database.parent.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755
    assert stat.S_IMODE(database.with_name("credentials.db.key").stat().st_mode) == 0o600


def test_the_key_file_directory_is_synced_after_each_link_or_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import credsign.store.crypto as crypto

    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    synced: list[Path] = []
    original = crypto.fsync_directory
    monkeypatch.setattr(
        crypto, "fsync_directory", lambda path: (synced.append(path), original(path))
    )
    database = tmp_path / "credentials.db"
    with CredentialStore.open(sqlite_url(database)) as store:
        assert synced == [tmp_path]  # the key file, linked in
        store.rotate_master_key()
    assert synced == [tmp_path] * 3  # the pending key, then the key file replaced


# -- 10 (store part): ids that are not plain text are validation errors -------------------------

ODD = st.characters(categories=("Cs", "Cc", "Zl", "Zp", "Cf")) | st.sampled_from(
    "\0\ud800\udfff\u2028"
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.text(max_size=3), odd=ODD, suffix=st.text(max_size=3), which=st.integers(0, 7))
@example(prefix="int", odd="\ud800", suffix="", which=0)
def test_odd_ids_are_validation_errors(
    store: CredentialStore, prefix: str, odd: str, suffix: str, which: int
) -> None:
    bad = prefix + odd + suffix
    good = store.create("integ-ok", bearer())["authId"] if which >= 2 else "auth_x"
    calls = [
        lambda: store.create(bad, bearer()),
        lambda: store.create("integ-ok", bearer(), auth_id=bad),
        lambda: store.get(bad, good),
        lambda: store.get("integ-ok", bad),
        lambda: store.list(bad),
        lambda: store.update("integ-ok", bad, {"label": "x"}),
        lambda: store.delete(bad, good),
        lambda: store.httpx_auth("integ-ok", bad),
    ]
    with pytest.raises(StoreValidationError) as caught:
        calls[which]()
    assert caught.value.code == "validation_error"
