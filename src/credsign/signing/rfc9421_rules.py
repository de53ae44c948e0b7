"""RFC 9421 HTTP Message Signatures: components, signature base, Content-Digest.

Shared by the HMAC signer and the verifier, so both derive every covered value
the same way (RFC 9421 section 2).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import quote, unquote, unquote_plus

from credsign.signing.base import HASHES
from credsign.signing.structured_fields import (
    Bare,
    StructuredFieldError,
    is_string,
    parse_item,
    serialize_params,
    serialize_string,
)

DERIVED = frozenset(
    {
        "@method",
        "@target-uri",
        "@authority",
        "@scheme",
        "@request-target",
        "@path",
        "@query",
        "@query-param",
    }
)
#: Content-Digest algorithms (RFC 9530) and the hash behind each.
DIGESTS = {"sha-256": "sha256", "sha-512": "sha512"}
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
_OBS_FOLD = re.compile(r"\r?\n[ \t]+")


class ComponentError(ValueError):
    """A covered component that cannot be derived from the message."""


@dataclass(frozen=True, slots=True)
class Component:
    """A component identifier: a derived component or a (lower-case) field name.

    ``query_name`` is the ``name`` parameter of ``@query-param``, as written in
    the identifier (percent-encoded).
    """

    name: str
    query_name: str | None = None
    #: The identifier as it appears in the signature base and Signature-Input.
    identifier: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        text = serialize_string(self.name)
        if self.query_name is not None:
            text += serialize_params([("name", self.query_name)])
        object.__setattr__(self, "identifier", text)

    @classmethod
    def parse(cls, text: str) -> Component:
        """From ``date``, ``@method``, ``@query-param;name="Pet"`` or the quoted form."""
        text = text.strip()
        if not text.startswith('"'):
            bare_name, _, bare_params = text.partition(";")
            text = serialize_string(bare_name) + (";" + bare_params if bare_params else "")
        try:
            name, params = parse_item(text)
        except StructuredFieldError as error:
            raise ComponentError(f"not a component identifier ({error})") from None
        return cls.of(name, params)

    @classmethod
    def of(cls, name: Bare, params: Sequence[tuple[str, Bare]]) -> Component:
        """From a parsed identifier, refusing what RFC 9421 (or credsign) does not support."""
        if not is_string(name):
            raise ComponentError("a component name is a string")
        if name.startswith("@"):
            if name not in DERIVED:
                raise ComponentError(f"unknown derived component {name!r}")
            if name == "@query-param":
                query_name = dict(params).get("name")
                if len(params) != 1 or not is_string(query_name):
                    raise ComponentError('@query-param needs exactly one parameter: name="..."')
                return cls(name, query_name)
        elif not _FIELD_NAME.fullmatch(name):
            raise ComponentError(f"{name!r} is not a lower-case field name")
        if params:
            raise ComponentError(f"parameters on {name!r} are not supported")
        return cls(name)


def field_value(lines: Sequence[str]) -> str:
    """A field's lines as one value: each trimmed, obs-fold unfolded, joined with ", "."""
    return ", ".join([(_OBS_FOLD.sub(" ", v) if "\n" in v else v).strip(" \t") for v in lines])


class Message(NamedTuple):
    """The parts of a request that components are derived from, as sent or received."""

    method: str
    scheme: str
    authority: str  # lower case, default port dropped
    path: str  # raw, as on the request line
    query: str | None  # raw, without "?"; "" after a bare "?", None when there is no "?"
    lines: Sequence[tuple[str, str]]  # (lower-case name, value), repeats in order
    #: Field values the caller already has (a signer's own Content-Digest): they win.
    fields: Mapping[str, str] | None = None

    def field(self, name: str) -> str | None:
        """A field's value: lines trimmed, obs-fold unfolded, repeats joined with ", "."""
        if self.fields is not None and name in self.fields:
            return self.fields[name]
        values = [value for line_name, value in self.lines if line_name == name]
        return field_value(values) if values else None

    def value(self, component: Component) -> str:
        name = component.name
        if name == "@method":
            return self.method
        if name == "@authority":
            return self.authority
        if name == "@path":
            return self.path or "/"
        if name == "@query":  # RFC 9421 section 2.2.7: "?" alone when empty or absent
            return f"?{self.query or ''}"
        if name == "@scheme":
            return self.scheme
        query = "" if self.query is None else f"?{self.query}"  # an empty query keeps its "?"
        if name == "@request-target":
            return (self.path or "/") + query
        if name == "@target-uri":
            return f"{self.scheme}://{self.authority}{self.path or '/'}{query}"
        if name == "@query-param":
            return self._query_param(component.query_name or "")
        value = self.field(name)
        if value is None:
            raise ComponentError(f"the covered field {name!r} is missing from the message")
        return value

    def _query_param(self, encoded_name: str) -> str:
        wanted = unquote(encoded_name)
        values = [
            value
            for key, _, value in (
                part.partition("=") for part in (self.query or "").split("&") if part
            )
            if unquote_plus(key) == wanted
        ]
        if len(values) != 1:
            problem = "is missing from" if not values else "occurs more than once in"
            raise ComponentError(f"query parameter {wanted!r} {problem} the URL")
        # RFC 9421 2.2.8: decoded, then re-encoded (form set, space as %20).
        return quote(unquote_plus(values[0]), safe="*").replace("~", "%7E")


def signature_params(components: Sequence[Component], params: Sequence[tuple[str, Bare]]) -> str:
    """The ``@signature-params`` value: an inner list of identifiers with parameters."""
    return f"({' '.join(c.identifier for c in components)}){serialize_params(params)}"


def signature_base(message: Message, components: Sequence[Component], params: str) -> str:
    """The signature base (RFC 9421 section 2.5): one line per component, params last."""
    lines = [f"{c.identifier}: {message.value(c)}" for c in components]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines)


def content_digest(algorithm: str, digest: bytes) -> str:
    """A Content-Digest field value (RFC 9530) for one digest."""
    return f"{algorithm}=:{base64.b64encode(digest).decode()}:"


EMPTY_DIGESTS = {name: HASHES[hashed](b"").digest() for name, hashed in DIGESTS.items()}
