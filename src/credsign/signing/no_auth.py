"""NO_AUTH: only the record's static headers and Content-Type."""

from __future__ import annotations

from credsign.records import NoAuthRecord
from credsign.signing.headers import HeaderSigner


def compile_no_auth(record: NoAuthRecord) -> HeaderSigner:
    return HeaderSigner(record)
