"""What every signer shares: the request-head view it edits, and record defaults."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from credsign.records import CONTENT_TYPES
from credsign.scope import Scope, Target
from credsign.signing.query import remove_params

if TYPE_CHECKING:
    from credsign.records import Record

Clock = Callable[[], datetime]

#: The body digests signers ask for, by name (direct constructors beat ``hashlib.new``).
HASHES: Mapping[str, Callable[..., hashlib._Hash]] = {
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


def utc_now() -> datetime:
    """The default clock: the system time, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class HeaderSet:
    """Headers precomputed once per record, in the shapes adapters set fastest.

    ``pairs`` serve mapping APIs; ``encoded`` holds ``(name, lower-case name,
    value)`` as ASCII bytes, the shape httpx keeps internally (a signer that
    builds a set per request may pass it ready-made).
    """

    __slots__ = ("encoded", "pairs")

    def __init__(
        self,
        pairs: Iterable[tuple[str, str]],
        encoded: tuple[tuple[bytes, bytes, bytes], ...] | None = None,
    ) -> None:
        self.pairs = tuple(pairs)
        self.encoded = encoded or tuple(
            (name.encode("ascii"), name.lower().encode("ascii"), value.encode("ascii"))
            for name, value in self.pairs
        )


class RequestHead(Protocol):
    """The part of an outgoing request a signer may read and edit.

    Adapters wrap their client's request object in a view of this shape, so one
    signer serves httpx and requests alike.
    """

    @property
    def method(self) -> str: ...

    @property
    def headers(self) -> MutableMapping[str, str]: ...

    def set_headers(self, header_set: HeaderSet) -> None:
        """Set every header of ``header_set``, replacing those the request has."""
        ...

    def fill_headers(self, header_set: HeaderSet) -> None:
        """Set the headers of ``header_set`` the request does not have yet."""
        ...

    def target(self) -> Target: ...

    def host(self) -> str:
        """The Host the client will send (default port dropped, IPv6 bracketed)."""
        ...

    def header_lines(self) -> list[tuple[str, str]]:
        """Every header line as (lower-case name, value), repeats included, in order."""
        ...

    def body_digest(self, algorithm: str) -> bytes:
        """The digest (a name in ``HASHES``) of the exact body bytes that will be sent."""
        ...

    @property
    def query(self) -> str:
        """The raw (percent-encoded) query, without ``?``; empty when there is none."""
        ...

    @property
    def has_query_mark(self) -> bool:
        """Whether the request target the client sends has a ``?``, even with an empty query."""
        ...

    def set_query(self, query: str) -> None: ...


class Signer(ABC):
    """A record compiled for signing: precomputed state and a per-request ``sign``.

    ``defaults`` (the record's static headers and Content-Type) fill in what a
    request leaves unset; every signer applies them before its credentials.

    ``sign`` edits a request head in place. ``strip`` removes everything the
    signer may have added, so a redirect out of scope carries none of it.
    """

    __slots__ = ("auth_type", "defaults", "header_names", "query_names", "requires_body", "scope")

    #: Whether the signature depends on the URL, so an in-scope redirect needs re-signing.
    covers_url: bool = False

    def __init__(self, record: Record, *, credential_headers: frozenset[str] = frozenset()):
        self.auth_type = record.auth_type
        self.scope = Scope.from_base_url(record.base_url) if record.base_url else None
        defaults = [(header.key, header.value) for header in record.headers]
        if record.content_type is not None:
            defaults.append(("Content-Type", CONTENT_TYPES[record.content_type]))
        self.defaults = HeaderSet(defaults)
        self.header_names: frozenset[str] = credential_headers | {
            header.key.lower() for header in record.headers
        }
        self.query_names: frozenset[str] = frozenset()
        #: Whether ``sign`` reads the body (adapters then load streaming bodies first).
        self.requires_body = False

    @abstractmethod
    def sign(self, head: RequestHead, clock: Clock) -> None:
        """Authenticate ``head`` in place. ``clock`` serves time-based schemes."""

    def strip(self, head: RequestHead) -> None:
        """Remove every header and query parameter this signer may have set."""
        headers = head.headers
        for name in self.header_names:
            headers.pop(name, None)
        if self.query_names:
            query = head.query
            remaining = remove_params(query, self.query_names)
            if remaining != query:
                head.set_query(remaining)

    def __repr__(self) -> str:
        scope = f"'{self.scope}'" if self.scope else None
        names = sorted(self.header_names | self.query_names)
        return f"{type(self).__name__}(auth_type={self.auth_type!r}, sets={names}, scope={scope})"
