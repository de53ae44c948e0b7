"""Adapters bound to a stored record: an update reaches the next request.

A :class:`LiveSigner` hands out the compiled signer of one stored record. In
steady state that costs a clock read; at most once per ``refresh_interval`` it
asks the store's ``generation`` (one small query) and recompiles only if
something was written. Writes through the same store invalidate at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from credsign.adapters.httpx import HttpxAuth
from credsign.errors import NotFoundError
from credsign.signing import Clock, Signer, compile_signer, utc_now

if TYPE_CHECKING:
    from credsign.adapters.requests import RequestsAuth
    from credsign.store.api import CredentialStore


_monotonic = time.monotonic  # bound once: read on every request


class LiveSigner:
    """The current signer of one stored record."""

    __slots__ = (
        "__weakref__",
        "_generation",
        "_next_check",
        "_signer",
        "auth_id",
        "integration_id",
        "org",
        "store",
    )

    def __init__(
        self, store: CredentialStore, integration_id: str, auth_id: str, org: str | None = None
    ) -> None:
        self.store = store
        self.org = org
        self.integration_id = integration_id
        self.auth_id = auth_id
        self._generation = -1
        self._signer: Signer | None = None
        self._next_check = 0.0
        self()  # fail now, not at the first request, if the record does not exist

    def __call__(self) -> Signer:
        if _monotonic() >= self._next_check:
            self._check()
        signer = self._signer
        if signer is None:
            raise NotFoundError(f"{self.integration_id}/{self.auth_id} was deleted")
        return signer

    def invalidate(self) -> None:
        """Reload before the next request (this process wrote the record)."""
        self._generation = -1
        self._next_check = 0.0

    def _check(self) -> None:
        generation = self.store.generation()
        if generation != self._generation:
            try:
                record = self.store.record(self.integration_id, self.auth_id)
            except NotFoundError:
                self._signer = None
            else:
                self._signer = compile_signer(record, self.org)
            self._generation = generation
        self._next_check = _monotonic() + self.store.refresh_interval


class LiveHttpxAuth(HttpxAuth):
    """:class:`~credsign.HttpxAuth` over a :class:`LiveSigner`."""

    def __init__(
        self, source: LiveSigner, *, clock: Clock | None = None, follow_redirects: bool = False
    ) -> None:
        self.source = source
        self.clock = clock or utc_now
        self.follow_redirects = follow_redirects
        self._hops = {}  # see HttpxAuth.__init__

    @property
    def signer(self) -> Signer:  # type: ignore[override]  # read-only: always the current one
        return self.source()

    @property
    def requires_request_body(self) -> bool:  # type: ignore[override]
        return self.source().requires_body


def live_requests_auth(source: LiveSigner, *, clock: Clock | None = None) -> RequestsAuth:
    """:class:`~credsign.RequestsAuth` over a :class:`LiveSigner` (requests is optional)."""
    from credsign.adapters.requests import RequestsAuth

    class LiveRequestsAuth(RequestsAuth):
        def __init__(self) -> None:
            self.clock = clock or utc_now

        @property
        def signer(self) -> Signer:  # type: ignore[override]
            return source()

    return LiveRequestsAuth()
