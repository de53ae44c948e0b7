"""API_KEY: a secret in a named header, or in a query parameter."""

from __future__ import annotations

from credsign.records import ApiKeyRecord
from credsign.signing.base import Clock, RequestHead
from credsign.signing.headers import HeaderSigner
from credsign.signing.query import encode_component, set_param


class QueryParamSigner(HeaderSigner):
    """Adds ``name=value`` to the query, replacing any parameter of that name.

    The encoded pair is computed once; the rest of the query is kept byte for byte.
    """

    __slots__ = ("_name", "_pair")
    covers_url = True

    def __init__(self, record: ApiKeyRecord) -> None:
        super().__init__(record)
        api_key = record.api_key
        self._name = api_key.key
        value = api_key.value.get_secret_value()
        self._pair = f"{encode_component(api_key.key)}={encode_component(value)}"
        self.query_names = frozenset({api_key.key})

    def sign(self, head: RequestHead, clock: Clock) -> None:
        super().sign(head, clock)
        head.set_query(set_param(head.query, self._name, self._pair))


def compile_api_key(record: ApiKeyRecord) -> HeaderSigner:
    api_key = record.api_key
    if api_key.position == "query":
        return QueryParamSigner(record)
    return HeaderSigner(record, ((api_key.key, api_key.value.get_secret_value()),))
