"""BEARER_TOKEN (RFC 6750): ``Authorization: Bearer <token>``."""

from __future__ import annotations

from credsign.records import BearerTokenRecord
from credsign.signing.headers import HeaderSigner


def compile_bearer(record: BearerTokenRecord) -> HeaderSigner:
    return HeaderSigner(
        record, (("Authorization", "Bearer " + record.credential("token").get_secret_value()),)
    )
