"""The signer of every scheme whose credentials are fixed headers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from credsign.signing.base import Clock, HeaderSet, RequestHead, Signer

if TYPE_CHECKING:
    from credsign.records import Record


class HeaderSigner(Signer):
    """Sets precomputed headers: nothing is encoded or validated per request.

    Credential headers replace any the request carries; static headers and the
    Content-Type only fill in what the request leaves unset.
    """

    __slots__ = ("credentials",)

    def __init__(self, record: Record, credentials: tuple[tuple[str, str], ...] = ()) -> None:
        self.credentials = HeaderSet(credentials)
        super().__init__(record, credential_headers=frozenset(n.lower() for n, _ in credentials))

    def sign(self, head: RequestHead, clock: Clock) -> None:
        if self.defaults.pairs:
            head.fill_headers(self.defaults)
        head.set_headers(self.credentials)
