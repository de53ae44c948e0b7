"""PostgreSQL URLs after the security review: a password never shows, however it is spelled.

Issue 10, review finding on item 7: libpq percent-decodes the names of query
parameters, so ``?pass%77ord=...`` is a password that the literal ``password=``
search left in messages, reprs and CLI output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credsign import StoreError, StoreValidationError
from credsign.store import CredentialStore, MasterKey, parse_store_location, redact_url
from credsign.store.location import SECRET_KEYWORDS
from tests import test_trust_store_files
from tests.test_cli import Cli, cmd, random_key
from tests.test_trust_store_files import END, MARKER, PASSWORDS, assert_hidden

psycopg = pytest.importorskip("psycopg")
closed_port = test_trust_store_files.closed_port  # a fixture: a local port refusing connections


@st.composite
def spelled(draw: st.DrawFn, text: str, *, cases: bool = True) -> str:
    """``text`` with any of its characters percent-encoded (either hex case) or case-changed."""
    out = []
    for char in text:
        how = draw(st.sampled_from(["raw", "%x", "%X", "case"] if cases else ["raw", "%x", "%X"]))
        if how == "case":
            out.append(char.swapcase())
        elif how == "raw":
            out.append(char)
        else:
            out.append("%" + format(ord(char), "02x" if how == "%x" else "02X"))
    return "".join(out)


@st.composite
def password_urls(draw: st.DrawFn, server: str, *, valid: bool = False) -> tuple[str, str]:
    """(a URL of ``server`` (user@host:port/db) holding a password where libpq reads one, it).

    ``valid``: only spellings libpq accepts (keywords in their own case).
    """
    password = draw(PASSWORDS)
    # Raw "@:/?=" too, unless valid: libpq reads some of them as separators (an error).
    spellings = [quote(password, safe="")] + ([] if valid else [quote(password, safe="@:/?=")])
    value = draw(st.sampled_from(spellings))
    place = draw(st.sampled_from(["user info", "query"]))
    if place == "user info":
        user, authority = server.split("@", 1)
        return f"postgresql://{user}:{value}@{authority}?connect_timeout=5", password
    names = ["password", "sslpassword"] if valid else sorted(SECRET_KEYWORDS)
    keyword = draw(spelled(draw(st.sampled_from(names)), cases=not valid))
    others = ["connect_timeout=5", "application_name=x"]
    before = draw(st.lists(st.sampled_from(others), max_size=2, unique=True))
    after = draw(st.lists(st.sampled_from(others), max_size=2, unique=True))
    query = "&".join([*before, f"{keyword}={value}", *after])
    return f"postgresql://{server}?{query}", password


def test_secret_keywords_are_those_libpq_hides() -> None:
    """libpq marks its secret options "*" and its debug options "D" (SCRAM keys among them)."""
    hidden = {
        option.keyword.decode()
        for option in psycopg.pq.Conninfo.get_defaults()
        if option.dispchar == b"*" or option.keyword.startswith(b"scram_")
    }
    assert hidden <= SECRET_KEYWORDS


@settings(max_examples=200, deadline=None)
@given(data=st.data())
@example(data=None)  # the reviewer's URL
def test_a_failing_url_never_shows_its_password_however_spelled(
    closed_port: int, data: st.DataObject | None
) -> None:
    if data is None:
        url, password = f"postgresql://app@127.0.0.1:{closed_port}/db?pass%77ord=S3CRETPW", ""
        marker_free = "S3CRETPW"
    else:
        url, password = data.draw(password_urls(f"app@127.0.0.1:{closed_port}/db"), label="url")
        marker_free = None
    with pytest.raises(StoreError) as caught:
        CredentialStore.open(url, master_key=MasterKey.generate())
    shown: list[Any] = [caught.value, redact_url(url)]
    try:
        shown.append(parse_store_location(url))
    except StoreValidationError as refused:
        shown.append(refused)
    if marker_free is not None:
        for thing in shown:
            assert marker_free not in str(thing) and marker_free not in repr(thing)
    else:
        assert_hidden(password, *shown)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_working_store_never_shows_its_password_however_spelled(
    fresh_postgres_url: str, master_key: MasterKey, data: st.DataObject
) -> None:
    """The test server trusts any password."""
    server = fresh_postgres_url.split("://", 1)[1]
    url, password = data.draw(password_urls(server, valid=True), label="url")
    with CredentialStore.open(url, master_key=master_key) as store:
        assert_hidden(password, store, store.backend, store.backend.url)


def cli_urls(server: str) -> list[tuple[str, str]]:
    password = MARKER + "s3c@r:e/t%&=" + END
    value = quote(password, safe="")
    user, authority = server.split("@", 1)
    return [
        (f"postgresql://{server}?pass%77ord={value}", password),
        (f"postgresql://{server}?%70%61%73%73%77%6F%72%64={value}", password),
        (f"postgresql://{server}?connect_timeout=5&ssl%70assword={value}", password),
        (f"postgresql://{server}?PASSWORD={value}", password),
        (f"postgresql://{user}:{value}@{authority}", password),
    ]


def test_the_cli_never_shows_the_password(
    tmp_path: Path, closed_port: int, fresh_postgres_url: str
) -> None:
    cli = Cli(tmp_path, master_key=random_key())
    working = fresh_postgres_url.split("://", 1)[1]
    cases = [
        *((url, password, False) for url, password in cli_urls(f"app@127.0.0.1:{closed_port}/db")),
        *((url, password, True) for url, password in cli_urls(working)[:3]),
    ]
    results = cli.all(*(cmd("--store", url, "auth", "list", "crm") for url, _, _ in cases))
    for (url, password, works), result in zip(cases, results, strict=True):
        assert (result.code == 0) == works, (url, result)
        if works:
            assert json.loads(result.out) == []
        assert_hidden(password, result.out, result.err)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://app:{MARKER}%40{END}@h/db",  # percent-encoded user info: masked whole
        f"postgresql://app:{MARKER}%40{END}@h1:5432,h2/db?connect_timeout=5",
        f"postgresql://h/db?a=1?password={MARKER}{END}",  # libpq: an error, still masked
        f"postgresql://h/db?passw%6frd={MARKER}{END}&sslmode=disable",
        f"postgresql://h/db?pass%7word={MARKER}{END}",  # undecodable: may be secret
    ],
)
def test_user_info_and_odd_queries_are_masked(url: str) -> None:
    assert_hidden(MARKER + "@" + END, redact_url(url), parse_store_location(url))


def test_a_raw_at_sign_after_a_question_mark_is_refused() -> None:
    """libpq would make ``h?password=...`` the user name (and quote it in errors)."""
    with pytest.raises(StoreValidationError, match="percent-encoded") as caught:
        parse_store_location(f"postgresql://h?password={MARKER}@{END}/db")
    assert_hidden(MARKER + "@" + END, caught.value)
