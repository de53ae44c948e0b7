"""Where SigV4 keys come from: the record, or a source that refreshes them.

Loading credentials is kept apart from signing (as in OpenDAL's reqsign): the
signer asks its source for the credentials valid *now* on every signature.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from credsign.errors import CredsignError
from credsign.extras import require
from credsign.record_fields import header_value, no_control


class CredentialsExpiredError(CredsignError):
    """No unexpired AWS credentials could be had: nothing is signed with expired ones."""


class CredentialsNotFoundError(CredsignError):
    """A credential chain (botocore's) found no AWS credentials at all."""


#: Where botocore's default chain looks, in its order; said when it found nothing.
BOTOCORE_CHAIN = (
    "botocore found no AWS credentials. It looked at: the environment"
    " (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); AWS_PROFILE's (or the"
    " default) profile in ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE,"
    " AWS_CONFIG_FILE), with its assume-role, SSO and credential_process settings;"
    " AWS_WEB_IDENTITY_TOKEN_FILE; the container endpoint (AWS_CONTAINER_CREDENTIALS_*);"
    " and the EC2 instance metadata endpoint (off EC2 it waits for a timeout there:"
    " AWS_EC2_METADATA_DISABLED=true skips it). Configure one of these, or sign with the"
    " keys of the AWS4 record itself"
)


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    """One set of AWS keys; ``expires_at`` (aware UTC) is None for long-term keys."""

    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        """Keys from a source obey a record's rules: else signing would fail mid-request
        with an encoding error holding the key, or put a CR/LF into a header."""
        for name, check, value in (
            ("access_key", header_value, self.access_key),
            ("secret_key", no_control, self.secret_key),
            ("session_token", header_value, self.session_token),
        ):
            reason = None
            if value is not None:
                try:
                    check(value)
                except ValueError as error:
                    reason = str(error)
            if reason is not None:
                raise CredsignError(f"AWS credentials: {name} {reason}")

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class AwsCredentialSource(Protocol):
    """Anything that hands out the credentials valid at ``now``."""

    def credentials(self, now: datetime) -> AwsCredentials: ...


class StaticCredentials:
    """The keys stored in a record: they never change."""

    __slots__ = ("_credentials",)

    def __init__(self, credentials: AwsCredentials) -> None:
        self._credentials = credentials

    def credentials(self, now: datetime) -> AwsCredentials:
        return self._credentials


class RefreshingCredentials:
    """Credentials with an expiry, loaded again ``refresh_before`` they expire.

    One caller loads while concurrent ones (threads, or coroutines of one event
    loop: ``load`` is synchronous) wait for its result, so a refresh happens once.
    If a refresh fails while the old credentials are still valid, those are used;
    expired credentials are never returned (:class:`CredentialsExpiredError`).
    """

    def __init__(
        self,
        load: Callable[[], AwsCredentials],
        *,
        refresh_before: timedelta = timedelta(minutes=5),
    ) -> None:
        self._load = load
        self._refresh_before = refresh_before
        self._lock = threading.Lock()
        self._current: AwsCredentials | None = None

    def _fresh(self, now: datetime) -> AwsCredentials | None:
        """The cached credentials, unless they are due for a refresh."""
        current = self._current
        if current is None or (
            current.expires_at is not None and current.expires_at - now <= self._refresh_before
        ):
            return None
        return current

    def credentials(self, now: datetime) -> AwsCredentials:
        fresh = self._fresh(now)
        if fresh is not None:
            return fresh
        with self._lock:
            fresh = self._fresh(now)
            if fresh is not None:
                return fresh  # another caller refreshed while this one waited
            current = self._current
            try:
                loaded = self._load()
            except Exception:
                if current is not None and not current.expired(now):
                    return current
                raise
            if loaded.expired(now):
                raise CredentialsExpiredError("the credential source returned expired keys")
            self._current = loaded
            return loaded


def from_botocore(
    credentials: Any, *, refresh_before: timedelta = timedelta(minutes=5)
) -> RefreshingCredentials:
    """Wrap botocore credentials (e.g. ``botocore.session.get_session().get_credentials()``).

    botocore's ``RefreshableCredentials`` (assume-role, IMDS, SSO...) refresh
    themselves inside ``get_frozen_credentials``; their expiry is read from
    ``_expiry_time``, the only place botocore keeps it. ``None`` (what
    ``get_credentials()`` returns when the chain found nothing) raises
    :class:`CredentialsNotFoundError` here, not at the first request.
    """
    require("botocore", "aws", "from_botocore")  # no botocore, no botocore credentials
    if credentials is None:
        raise CredentialsNotFoundError(BOTOCORE_CHAIN)
    if not callable(getattr(credentials, "get_frozen_credentials", None)):
        raise TypeError(
            "from_botocore takes botocore credentials (session.get_credentials()), "
            f"not {type(credentials).__name__}"
        )

    def load() -> AwsCredentials:
        frozen = credentials.get_frozen_credentials()
        return AwsCredentials(
            frozen.access_key,
            frozen.secret_key,
            frozen.token,
            getattr(credentials, "_expiry_time", None),
        )

    return RefreshingCredentials(load, refresh_before=refresh_before)
