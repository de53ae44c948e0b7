"""HMAC_SHA256: RFC 9421 HTTP Message Signatures (``hmac-sha256``) with RFC 9530 Content-Digest."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence

from credsign.errors import CredsignError
from credsign.records import HmacSha256Record
from credsign.signing.base import Clock, HeaderSet, RequestHead, Signer
from credsign.signing.hmac_key import HmacSha256Key
from credsign.signing.rfc9421_rules import (
    DIGESTS,
    EMPTY_DIGESTS,
    Component,
    ComponentError,
    Message,
    content_digest,
    signature_base,
    signature_params,
)
from credsign.signing.structured_fields import Bare, StructuredFieldError, dictionary_members

ALGORITHM = "hmac-sha256"
_METHOD, _AUTHORITY, _PATH, _QUERY = (
    Component("@method"),
    Component("@authority"),
    Component("@path"),
    Component("@query"),
)
_CONTENT_TYPE, _CONTENT_DIGEST = Component("content-type"), Component("content-digest")
_ENCODED_NAMES = {
    name: (name.encode(), name.lower().encode())
    for name in ("Signature-Input", "Signature", "Content-Digest")
}


class HmacSigner(Signer):
    """Signs each request with a fresh ``created`` (and nonce, if asked) over its components.

    The key (with its HMAC pads), the component list and the constant signature
    parameters are prepared once. Without an explicit ``components`` list the
    coverage adapts to the request: ``@method @authority @path``, ``@query``
    when there is one, and ``content-type content-digest`` when there is a body.
    An explicit list is strict: a covered field missing from the request is an
    error at signing time (``content-digest`` is always computed).
    """

    __slots__ = (
        "_components",
        "_digest",
        "_expires_in",
        "_include_alg",
        "_key",
        "_keyid",
        "_label",
        "_nonce",
    )
    covers_url = True

    def __init__(self, record: HmacSha256Record) -> None:
        super().__init__(record, credential_headers=frozenset({"signature", "signature-input"}))
        self._key = HmacSha256Key(record.secret_bytes())
        self._keyid = record.client_id
        self._label = record.signature_label
        self._components = (
            None if record.components is None else tuple(map(Component.parse, record.components))
        )
        self._include_alg = record.include_alg
        self._expires_in = record.expires_in
        self._nonce = record.nonce
        self._digest = record.digest
        self.requires_body = self._components is None or _CONTENT_DIGEST in self._components

    def _covered(self, message: Message, has_body: bool) -> Sequence[Component]:
        if self._components is not None:
            return self._components
        covered = [_METHOD, _AUTHORITY, _PATH]
        if message.query:
            covered.append(_QUERY)
        if has_body:
            if message.field("content-type") is not None:
                covered.append(_CONTENT_TYPE)
            covered.append(_CONTENT_DIGEST)
        return covered

    def _params(self, created: int) -> list[tuple[str, Bare]]:
        params: list[tuple[str, Bare]] = [("created", created), ("keyid", self._keyid)]
        if self._include_alg:
            params.append(("alg", ALGORITHM))
        if self._expires_in is not None:
            params.append(("expires", created + self._expires_in))
        if self._nonce:
            params.append(("nonce", secrets.token_urlsafe(16)))
        return params

    def sign(self, head: RequestHead, clock: Clock) -> None:
        lines = head.header_lines()
        if self.defaults.pairs:
            present = {name for name, _ in lines}
            lines += [(n.lower(), v) for n, v in self.defaults.pairs if n.lower() not in present]
        target = head.target()
        message = Message(
            head.method, target.scheme, head.host().lower(), target.path, head.query, lines
        )

        digest_field = None
        digest, has_body = b"", False
        if self.requires_body:
            digest = head.body_digest(DIGESTS[self._digest])
            has_body = digest != EMPTY_DIGESTS[self._digest]
        covered = self._covered(message, has_body)
        if _CONTENT_DIGEST in covered:
            digest_field = content_digest(self._digest, digest)
            lines = [line for line in lines if line[0] != "content-digest"]
            lines.append(("content-digest", digest_field))
            message = Message(
                message.method,
                message.scheme,
                message.authority,
                message.path,
                message.query,
                lines,
            )

        params = signature_params(covered, self._params(int(clock().timestamp())))
        try:
            base = signature_base(message, covered, params)
        except ComponentError as error:
            raise CredsignError(f"cannot sign this request: {error}") from None
        proof = base64.b64encode(self._key.digest(base.encode())).decode()
        added = [
            ("Signature-Input", self._merged(head, "signature-input", params)),
            ("Signature", self._merged(head, "signature", f":{proof}:")),
        ]
        if digest_field is not None:
            added.append(("Content-Digest", digest_field))

        if self.defaults.pairs:  # everything computed: only now touch the request
            head.fill_headers(self.defaults)
        encoded = tuple([(*_ENCODED_NAMES[name], value.encode()) for name, value in added])
        head.set_headers(HeaderSet(added, encoded))

    def _merged(self, head: RequestHead, field: str, value: str) -> str:
        """``field`` with this signer's label set to ``value``, other labels kept."""
        existing = ", ".join(v for name, v in head.header_lines() if name == field)
        if not existing:
            return f"{self._label}={value}"
        try:
            members = dictionary_members(existing)
        except StructuredFieldError as error:
            raise CredsignError(f"the request's {field} header is malformed ({error})") from None
        kept = [f"{key}={text}" for key, text in members if key != self._label]
        return ", ".join([*kept, f"{self._label}={value}"])
