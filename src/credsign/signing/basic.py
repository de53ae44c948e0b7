"""BASIC_AUTH (RFC 7617): the base64 of ``username:password`` is computed once."""

from __future__ import annotations

from base64 import b64encode

from credsign.records import BasicAuthRecord
from credsign.signing.headers import HeaderSigner


def compile_basic(record: BasicAuthRecord) -> HeaderSigner:
    password = record.credential("password").get_secret_value()
    pair = f"{record.credential('username')}:{password}".encode()
    return HeaderSigner(record, (("Authorization", "Basic " + b64encode(pair).decode("ascii")),))
