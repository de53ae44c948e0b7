"""Editing raw (already percent-encoded) query strings without re-encoding them."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import quote, unquote_plus


def encode_component(text: str) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters (UTF-8, upper-case hex)."""
    return quote(text, safe="")


def _name(part: str) -> str:
    return unquote_plus(part.partition("=")[0])


def set_param(query: str, name: str, pair: str) -> str:
    """``query`` with every parameter called ``name`` replaced by the encoded ``pair``."""
    if not query:
        return pair
    if "%" not in query and "+" not in query and name not in query:
        return f"{query}&{pair}"  # fast path: nothing in the query can match the name
    kept = [part for part in query.split("&") if part and _name(part) != name]
    kept.append(pair)
    return "&".join(kept)


def remove_params(query: str, names: Collection[str]) -> str:
    """``query`` without the parameters whose decoded name is in ``names``."""
    return "&".join(part for part in query.split("&") if part and _name(part) not in names)
