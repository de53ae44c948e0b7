"""What a signature covered, for finding why a service answers ``SignatureDoesNotMatch``.

The service recomputes the canonical request (SigV4) or signature base (RFC 9421) from the
request it received; comparing it with the signer's shows what differs. An explanation
holds exactly the texts that were signed, secrets included (a session token is signed
in clear). What it shows, ``repr`` and ``describe()``, masks every secret: the record's own
secret fields, the signer's outputs (signature, session token) wherever they appear, in
any of the spellings the signed texts use, and the values of credential fields covered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from credsign.records import MASK
from credsign.signing.sigv4_rules import uri_encode

#: Fields whose whole value is a credential, masked wherever a signature covers them.
CREDENTIAL_FIELDS = frozenset(
    {"authorization", "proxy-authorization", "signature", "x-amz-security-token"}
)
#: Presigned-URL parameters that hold a credential.
_CREDENTIAL_PARAMS = ("X-Amz-Security-Token=", "X-Amz-Signature=")


def _spellings(secret: str) -> set[str]:
    """``secret`` as signed texts write it: raw, whitespace collapsed, percent-encoded."""
    return {secret, " ".join(secret.split()), uri_encode(secret), quote_plus(secret)} - {""}


def mask_values(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every spelling of each of ``secrets`` replaced by the mask."""
    spellings = {spelling for secret in secrets for spelling in _spellings(secret)}
    for spelling in sorted(spellings, key=len, reverse=True):  # a secret holding another
        text = text.replace(spelling, MASK)
    return text


def _mask_canonical_request(canonical_request: str) -> str:
    """The credential parameters of the canonical query and credential header lines masked."""
    lines = canonical_request.split("\n")
    if len(lines) > 2:  # the canonical query
        params = lines[2].split("&")
        lines[2] = "&".join(
            [next((p + MASK for p in _CREDENTIAL_PARAMS if q.startswith(p)), q) for q in params]
        )
    for index, line in enumerate(lines[3:], 3):  # canonical headers: "name:value"
        name, colon, _ = line.partition(":")
        if colon and name in CREDENTIAL_FIELDS:
            lines[index] = f"{name}:{MASK}"
    return "\n".join(lines)


def _mask_signature_base(base: str) -> str:
    """The value of every covered credential field masked (``"name";params: value`` lines)."""
    lines = base.split("\n")
    for index, line in enumerate(lines):
        name = line[1 : line.find('"', 1)] if line.startswith('"') else ""
        if name in CREDENTIAL_FIELDS:
            lines[index] = line[: line.find(": ", len(name) + 2)] + ": " + MASK
    return "\n".join(lines)


def _render(sections: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"== {title} ==\n{text}" for title, text in sections)


def _header_lines(headers: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers)


class _Shown:
    """``describe()`` for both explanations: their sections, masked alike unless revealed."""

    __slots__ = ()
    signature: str
    hidden: tuple[str, ...]

    def _sections(self, *, masked: bool) -> list[tuple[str, str]]:
        raise NotImplementedError

    def _masked(self, text: str) -> str:
        return mask_values(text, (*self.hidden, self.signature))

    def describe(self, *, reveal: bool = False) -> str:
        """What the signature covers and what it sets, as the debug log shows it: every
        secret masked unless ``reveal``. Compare it with the service's side."""
        text = _render(self._sections(masked=not reveal))
        return text if reveal else self._masked(text)


@dataclass(frozen=True, slots=True, repr=False)
class Sigv4Explanation(_Shown):
    """What a SigV4 signature was computed over, and what it adds to the request.

    The fields hold exactly what was signed, session token included; ``repr`` and
    ``describe()`` (what ends up in logs, tracebacks and terminals) mask it. The
    canonical request and string to sign are what AWS echoes in a
    ``SignatureDoesNotMatch`` error.
    """

    canonical_request: str
    string_to_sign: str
    signature: str  # hex
    headers: tuple[tuple[str, str], ...]  # set on the request; holds the session token
    query: str | None  # the query to send, when it changes (a presigned URL)
    stale_headers: tuple[str, ...] = ()
    #: What ``describe`` and ``repr`` mask (the record's secrets, the signer's outputs).
    hidden: tuple[str, ...] = field(default=(), compare=False)

    def _sections(self, *, masked: bool) -> list[tuple[str, str]]:
        canonical = self.canonical_request
        sections = [
            ("canonical request", _mask_canonical_request(canonical) if masked else canonical),
            ("string to sign", self.string_to_sign),
            ("signature", self.signature),
        ]
        if self.headers:
            sections.append(("headers set", _header_lines(self.headers)))
        if self.query is not None:
            sections.append(("query sent", self.query))
        return sections

    def __repr__(self) -> str:
        canonical = self._masked(_mask_canonical_request(self.canonical_request))
        return (
            f"Sigv4Explanation(canonical_request={canonical!r}, "
            f"string_to_sign={self.string_to_sign!r}, signature={MASK!r}, "
            f"stale_headers={self.stale_headers!r})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class Rfc9421Explanation(_Shown):
    """What an RFC 9421 signature was computed over, and the fields it sets.

    ``signature_base`` is exactly the text the HMAC was computed over, which a
    verifier rebuilds from the request it receives; ``repr`` and ``describe()`` mask
    the signature and any credential field it covers.
    """

    signature_base: str
    signature_params: str  # the @signature-params value: this label's Signature-Input
    covered_components: tuple[str, ...]  # identifiers, as in the signature base
    signature: str  # base64
    label: str
    headers: tuple[tuple[str, str], ...]  # Signature-Input, Signature, Content-Digest
    hidden: tuple[str, ...] = field(default=(), compare=False)

    def _sections(self, *, masked: bool) -> list[tuple[str, str]]:
        base = self.signature_base
        return [
            ("covered components", " ".join(self.covered_components)),
            ("signature base", _mask_signature_base(base) if masked else base),
            ("signature", self.signature),
            ("headers set", _header_lines(self.headers)),
        ]

    def __repr__(self) -> str:
        base = self._masked(_mask_signature_base(self.signature_base))
        return (
            f"Rfc9421Explanation(signature_base={base!r}, "
            f"signature_params={self.signature_params!r}, signature={MASK!r}, "
            f"label={self.label!r})"
        )
