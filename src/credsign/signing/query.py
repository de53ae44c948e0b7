"""Editing raw (already percent-encoded) query strings without re-encoding them.

Names are compared as the bytes they stand for, never as decoded text: ``%FF``
(not UTF-8) and ``%EF%BF%BD`` (U+FFFD) are different names.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import quote, unquote_to_bytes


def encode_component(text: str) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters (UTF-8, upper-case hex)."""
    return quote(text, safe="")


def decode_component(raw: str) -> bytes:
    """The bytes a raw query name or value stands for (``%XY`` escapes; ``+`` is a space).

    Characters that are not escaped count as UTF-8; ``surrogatepass`` so that no
    text (a query may hold a key) can raise from here.
    """
    return unquote_to_bytes(raw.replace("+", " ").encode("utf-8", "surrogatepass"))


def _name_bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogatepass")


def _name(part: str) -> bytes:
    return decode_component(part.partition("=")[0])


def _without(query: str, names: Collection[str]) -> str | None:
    """``query`` without the parameters named in ``names`` (empty parts dropped).

    None when none of them is there: callers then keep the query as written.
    """
    parts = query.split("&")
    if "%" in query or "+" in query:
        wanted = {_name_bytes(name) for name in names}
        kept = [part for part in parts if part and _name(part) not in wanted]
    else:  # fast path: every name is as written
        kept = [part for part in parts if part and part.partition("=")[0] not in names]
    return None if len(kept) == len(parts) - parts.count("") else "&".join(kept)


def set_param(query: str, name: str, pair: str) -> str:
    """``query`` with every parameter called ``name`` replaced by the encoded ``pair``."""
    if "%" in query or "+" in query or name in query:  # else nothing can match (fast path)
        rest = _without(query, (name,))
        query = query if rest is None else rest
    return f"{query}&{pair}" if query else pair


def remove_params(query: str, names: Collection[str]) -> str:
    """``query`` without the parameters whose decoded name is in ``names``."""
    rest = _without(query, names)
    return query if rest is None else rest
