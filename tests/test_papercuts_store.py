"""Store papercuts (issue 11): instants compared as instants, one set of location forms.

Every test taking ``store`` or ``store_url`` runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credsign import ConflictError, StoreValidationError
from credsign.store import CredentialStore, MasterKey

FIXTURE_OK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def bearer(token: str = "tok-papercut") -> dict[str, str]:  # noqa: S107
    return {"authType": "BEARER_TOKEN", "token": token}


def stored_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


# Offsets as ISO 8601 allows them (whole minutes, under a day).
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


@FIXTURE_OK
@given(offset=offsets, spelling=st.sampled_from(["isoformat", "Z", "datetime"]))
@example(offset=timezone.utc, spelling="Z")
@example(offset=timezone.utc, spelling="isoformat")  # +00:00
@example(offset=timezone(timedelta(hours=-5)), spelling="datetime")
def test_if_updated_at_compares_instants_not_spellings(
    store: CredentialStore, offset: timezone, spelling: str
) -> None:
    view = store.create("integ-1", bearer())
    moment = stored_instant(view["updatedAt"]).astimezone(offset)
    given_value: str | datetime
    if spelling == "datetime":
        given_value = moment
    elif spelling == "Z":
        given_value = moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    else:
        given_value = moment.isoformat()
    updated = store.update("integ-1", view["authId"], {"label": "x"}, if_updated_at=given_value)
    assert updated["label"] == "x"
    with pytest.raises(ConflictError):  # the same instant is stale now
        store.update("integ-1", view["authId"], {"label": "y"}, if_updated_at=given_value)
    store.delete("integ-1", view["authId"])


@FIXTURE_OK
@given(
    text=st.one_of(
        st.text(max_size=30),
        st.datetimes().map(datetime.isoformat),  # naive: which instant is unknown
    )
)
@example(text="")
@example(text="not a time")
@example(text="2026-12-01T19:00:00")  # naive
@example(text="2026-13-01T19:00:00Z")
def test_if_updated_at_garbage_or_naive_is_a_validation_error(
    store: CredentialStore, text: str
) -> None:
    try:
        aware = datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        aware = False
    if aware:
        return  # a valid instant: covered above
    view = store.create("integ-1", bearer())
    generation = store.generation()
    with pytest.raises(StoreValidationError) as caught:
        store.update("integ-1", view["authId"], {"label": "x"}, if_updated_at=text)
    assert "if_updated_at" in str(caught.value)
    assert store.generation() == generation
    store.delete("integ-1", view["authId"])


def test_if_updated_at_naive_datetime_is_refused(store: CredentialStore) -> None:
    view = store.create("integ-1", bearer())
    naive = stored_instant(view["updatedAt"]).replace(tzinfo=None)
    with pytest.raises(StoreValidationError, match="time zone"):
        store.update("integ-1", view["authId"], {"label": "x"}, if_updated_at=naive)


# -- one set of location forms ----------------------------------------------------------------


@pytest.mark.parametrize("form", ["absolute path", "relative path", "sqlite URL", "PathLike"])
def test_open_takes_every_form_the_cli_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    key = MasterKey.generate().encoded()
    path = tmp_path / "forms.db"
    location: str | Path = {
        "absolute path": str(path),
        "relative path": "forms.db",
        "sqlite URL": f"sqlite://{path}",
        "PathLike": path,
    }[form]
    with CredentialStore.open(location, master_key=key) as store:
        view = store.create("integ-1", bearer())
    with CredentialStore.open(f"sqlite://{path}", master_key=key) as store:
        assert store.get("integ-1", view["authId"]) == view
