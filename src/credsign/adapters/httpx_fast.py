"""Two httpx internals credsign writes to directly for speed, each probed at import.

httpx's public API encodes and lower-cases a header on every set (about 0.75 us),
re-encodes URL parts on every read (about 1 us for origin and path) and re-parses
the whole URL on every change (about 15 us). Signers hand over
headers already encoded and queries already valid, so ``HttpxHead`` and ``with_query``
write them straight into httpx's own structures when the probes below find those in the
shape they expect, and otherwise fall back to the public API (slower, same result).
"""

from __future__ import annotations

import httpx

from credsign.scope import DEFAULT_PORTS, Target


def _probe_headers() -> bool:
    return getattr(httpx.Headers({"A": "b"}), "_list", None) == [(b"A", b"a", b"b")]


def _probe_url() -> bool:
    try:
        parsed = httpx.URL("HTTP://H:8080/p?q")._uri_reference
        url = httpx.URL.__new__(httpx.URL)
        url._uri_reference = parsed._replace(query="r")
        return (
            str(url) == "http://h:8080/p?r"
            and url.query == b"r"
            and (parsed.scheme, parsed.host, parsed.port, parsed.path) == ("http", "h", 8080, "/p")
        )
    except Exception:
        return False


_new_tuple = tuple.__new__
FAST_HEADERS = _probe_headers()
FAST_URL = _probe_url()


def target_of(url: httpx.URL) -> Target:
    """Where ``url`` goes, read without httpx re-encoding each part.

    httpx parsed the host into what it sends (IDNA 2008, names lower-cased): the wire
    host that ``scope.wire_host`` computes for other URLs, with nothing left to encode.
    It keeps the case of an IPv6 literal (``[::FFFF:7F00:1]``); hosts compare without
    case on the wire, so that one is lower-cased here, as requests and scopes have it.
    """
    if FAST_URL:
        parsed = url._uri_reference
        scheme = parsed.scheme
        port = parsed.port or DEFAULT_PORTS.get(scheme, 0)
        host = parsed.host
        if ":" in host:  # only IPv6 literals keep their case
            host = host.lower()
        # tuple.__new__ skips NamedTuple's Python-level __new__ (0.2 us on the hot path).
        return _new_tuple(Target, (scheme, host, port, parsed.path or "/"))
    scheme = url.scheme
    path = url.raw_path.partition(b"?")[0].decode("ascii") or "/"
    port = url.port or DEFAULT_PORTS.get(scheme, 0)
    return Target(scheme, url.raw_host.decode("ascii").lower(), port, path)


def query_of(url: httpx.URL) -> str:
    """The raw query of ``url``, without ``?``."""
    if FAST_URL:
        return url._uri_reference.query or ""
    return url.query.decode("ascii")


def has_query_mark(url: httpx.URL) -> bool:
    """Whether ``url`` has a ``?``, which httpx sends even before an empty query."""
    if FAST_URL:
        return url._uri_reference.query is not None
    return b"?" in url.raw_path


def with_query(url: httpx.URL, query: str) -> httpx.URL:
    """``url`` with its raw query replaced by ``query`` (already percent-encoded)."""
    if not FAST_URL:
        return url.copy_with(query=query.encode("ascii") or None)
    copy = httpx.URL.__new__(httpx.URL)
    copy._uri_reference = url._uri_reference._replace(query=query or None)
    return copy
