"""HMAC_SHA256: RFC 9421 HTTP Message Signatures (``hmac-sha256``) with RFC 9530 Content-Digest."""

from __future__ import annotations

import base64
import secrets

from credsign.errors import CredsignError
from credsign.record_fields import secret_values
from credsign.records import HmacSha256Record
from credsign.signing.base import Clock, HeaderSet, RequestHead, Signer
from credsign.signing.explanation import Rfc9421Explanation
from credsign.signing.hmac_key import HmacSha256Key
from credsign.signing.rfc9421_rules import (
    DIGESTS,
    EMPTY_DIGESTS,
    Component,
    ComponentError,
    Message,
    content_digest,
    field_value,
    signature_base,
    signature_params,
)
from credsign.signing.sign_log import DEBUG, debug_enabled, log_signature
from credsign.signing.structured_fields import (
    Bare,
    StructuredFieldError,
    dictionary_members,
    serialize_params,
)

ALGORITHM = "hmac-sha256"
_METHOD, _AUTHORITY, _PATH, _QUERY = (
    Component("@method"),
    Component("@authority"),
    Component("@path"),
    Component("@query"),
)
_CONTENT_TYPE, _CONTENT_DIGEST = Component("content-type"), Component("content-digest")
_READ_FIELDS = frozenset({"host", "content-type", "content-digest", "signature-input", "signature"})
_ENCODED_NAMES = {
    name: (name.encode(), name.lower().encode())
    for name in ("Signature-Input", "Signature", "Content-Digest")
}


_Shape = tuple[tuple[Component, ...], str, bool]
#: signature base, signature parameters, covered components, signature, fields to set
_Computed = tuple[str, str, tuple[Component, ...], str, list[tuple[str, str]]]


class HmacSigner(Signer):
    """Signs each request with a fresh ``created`` (and nonce, if asked) over its components.

    The key (with its HMAC pads), the component list and the constant signature
    parameters are prepared once. Without an explicit ``components`` list the
    coverage is ``@method @authority @path @query`` (``@query`` even without a
    query, RFC 9421 section 2.2.7, so none can be added after signing), and
    ``content-type content-digest`` when there is a body.
    An explicit list is strict: a covered field missing from the request is an
    error at signing time (``content-digest`` is always computed).
    """

    __slots__ = (
        "_components",
        "_constant_params",
        "_digest",
        "_expires_in",
        "_key",
        "_label",
        "_nonce",
        "_record",
        "_shapes",
    )
    covers_url = True

    def __init__(self, record: HmacSha256Record) -> None:
        super().__init__(record, credential_headers=frozenset({"signature", "signature-input"}))
        self._record = record  # read only to explain a signature
        self._key = HmacSha256Key(record.secret_bytes())
        constant: list[tuple[str, Bare]] = [("keyid", record.credential("client_id"))]
        if record.include_alg:
            constant.append(("alg", ALGORITHM))
        self._constant_params = serialize_params(constant)  # between created and expires
        self._shapes: dict[tuple[bool, bool], _Shape] = {}
        self._label = record.signature_label
        self._components = (
            None if record.components is None else tuple(map(Component.parse, record.components))
        )
        self._expires_in = record.expires_in
        self._nonce = record.nonce
        self._digest = record.digest
        self.requires_body = self._components is None or _CONTENT_DIGEST in self._components
        if self.requires_body:  # it sets Content-Digest: a hop without the body must lose it
            self.header_names |= {"content-digest"}

    def _shape(self, has_body: bool, has_type: bool) -> _Shape:
        """(covered components, their inner list, whether content-digest is one of them)."""
        key = (has_body, has_type)
        shape = self._shapes.get(key)
        if shape is None:  # at most four shapes per signer: cached
            covered = self._components
            if covered is None:
                covered = (_METHOD, _AUTHORITY, _PATH, _QUERY)
                covered += (_CONTENT_TYPE,) if has_body and has_type else ()
                covered += (_CONTENT_DIGEST,) if has_body else ()
            shape = (covered, signature_params(covered, ()), _CONTENT_DIGEST in covered)
            self._shapes[key] = shape
        return shape

    def _compute(self, head: RequestHead, clock: Clock) -> _Computed:
        lines = head.header_lines()
        if self.defaults.pairs:
            present = {name for name, _ in lines}
            lines += [(n.lower(), v) for n, v in self.defaults.pairs if n.lower() not in present]
        read: dict[str, list[str]] = {}  # the few fields this signer looks at, in one pass
        for name, value in lines:
            if name in _READ_FIELDS:
                read.setdefault(name, []).append(value)
        query: str | None = head.query
        if not query and not head.has_query_mark:
            query = None  # no "?" on the wire, unlike an empty query (httpx sends "/p?")
        digest, has_body = b"", False
        if self.requires_body:
            digest = head.body_digest(DIGESTS[self._digest])
            has_body = digest != EMPTY_DIGESTS[self._digest]
        covered, inner, covers_digest = self._shape(has_body, has_body and "content-type" in read)
        known: dict[str, str] = {}  # values already at hand: no second scan of the lines
        if "content-type" in read:
            known["content-type"] = field_value(read["content-type"])
        digest_field = None
        if covers_digest:  # the request's own Content-Digest is replaced, never signed
            digest_field = known["content-digest"] = content_digest(self._digest, digest)

        target = head.target()
        host = read["host"][0] if "host" in read else head.host()
        authority = host.strip().lower()
        message = Message(head.method, target.scheme, authority, target.path, query, lines, known)
        created = int(clock().timestamp())
        params = f"{inner};created={created}{self._constant_params}"
        if self._expires_in is not None:
            params += f";expires={created + self._expires_in}"
        if self._nonce:
            params += f';nonce="{secrets.token_urlsafe(16)}"'
        try:
            base = signature_base(message, covered, params)
        except ComponentError as error:
            raise CredsignError(f"cannot sign this request: {error}") from None
        proof = base64.b64encode(self._key.digest(base.encode())).decode()
        added = [
            ("Signature-Input", self._merged(read.get("signature-input"), params)),
            ("Signature", self._merged(read.get("signature"), f":{proof}:")),
        ]
        if digest_field is not None:
            added.append(("Content-Digest", digest_field))
        return base, params, covered, proof, added

    def _explanation(self, computed: _Computed) -> Rfc9421Explanation:
        base, params, covered, proof, added = computed
        identifiers = tuple(component.identifier for component in covered)
        hidden = tuple(secret_values(self._record))
        return Rfc9421Explanation(base, params, identifiers, proof, self._label, (*added,), hidden)

    def explain(self, head: RequestHead, clock: Clock) -> Rfc9421Explanation:
        """Compute the signature of ``head`` without touching it: the signature base is
        what a verifier must rebuild byte for byte from the request it receives."""
        return self._explanation(self._compute(head, clock))

    def sign(self, head: RequestHead, clock: Clock) -> None:
        computed = self._compute(head, clock)
        if debug_enabled(DEBUG):  # the one cost of the debug log when it is off
            log_signature(self._record, self._explanation(computed))
        added = computed[4]
        if self.defaults.pairs:  # everything computed: only now touch the request
            head.fill_headers(self.defaults)
        encoded = tuple([(*_ENCODED_NAMES[name], value.encode()) for name, value in added])
        head.set_headers(HeaderSet(added, encoded))

    def _merged(self, existing_lines: list[str] | None, value: str) -> str:
        """A signature field with this signer's label set to ``value``, other labels kept."""
        member = f"{self._label}={value}"
        if not existing_lines:
            return member
        existing = ", ".join(existing_lines)
        if "," not in existing and existing.startswith(f"{self._label}="):
            return member  # only our own, from an earlier signing
        try:
            members = dictionary_members(existing)
        except StructuredFieldError as error:
            raise CredsignError(f"the request's signature field is malformed ({error})") from None
        return ", ".join([*(f"{k}={text}" for k, text in members if k != self._label), member])
