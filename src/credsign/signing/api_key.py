"""API_KEY: secrets in named headers and/or query parameters."""

from __future__ import annotations

from credsign.records import ApiKeyRecord
from credsign.signing.base import Clock, RequestHead
from credsign.signing.headers import HeaderSigner
from credsign.signing.query import encode_component, set_param


class QueryParamSigner(HeaderSigner):
    """Adds ``name=value`` pairs to the query, each replacing any parameter of its name.

    The encoded pairs are computed once; the rest of the query is kept byte for byte.
    Header-placed keys of the same record are set as by :class:`HeaderSigner`.
    """

    __slots__ = ("_pairs",)
    covers_url = True

    def __init__(self, record: ApiKeyRecord, headers: tuple[tuple[str, str], ...]) -> None:
        super().__init__(record, headers)
        self._pairs = tuple(
            (p.key, f"{encode_component(p.key)}={encode_component(p.value.get_secret_value())}")
            for p in record.placements()
            if p.position == "query"
        )
        self.query_names = frozenset(name for name, _ in self._pairs)

    def sign(self, head: RequestHead, clock: Clock) -> None:
        super().sign(head, clock)
        query = head.query
        for name, pair in self._pairs:
            query = set_param(query, name, pair)
        head.set_query(query)


def compile_api_key(record: ApiKeyRecord) -> HeaderSigner:
    headers = tuple(
        (p.key, p.value.get_secret_value()) for p in record.placements() if p.position == "header"
    )
    if any(p.position == "query" for p in record.placements()):
        return QueryParamSigner(record, headers)
    return HeaderSigner(record, headers)
