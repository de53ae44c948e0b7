"""Where a record's credentials may be sent: an origin plus a path prefix."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

import idna

DEFAULT_PORTS = {"http": 80, "https": 443}

#: What an ASCII baseUrl host may hold: anything else httpx percent-encodes, urllib3
#: decodes or refuses, so the clients would not agree on the host they send.
_PLAIN_HOST = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._:")


def wire_host(host: str) -> str | None:
    """The host httpx and requests put on the wire for ``host``; None if they would disagree.

    An ASCII host goes out lower-cased. A non-ASCII one is encoded the way the clients
    do it (see ``_client_encodings``); a client that cannot encode it sends nothing, so
    the other one's encoding is the only wire host there is. Python's ``idna`` codec
    (IDNA 2003) must not be used here: it maps sharp s to ``ss``, final sigma to sigma
    and drops joiners, naming another host than the one the clients connect to.
    """
    if host.isascii():
        return host.lower()
    whole, by_label = _client_encodings(host)
    if whole is None or by_label is None or whole == by_label:
        return whole or by_label
    return None  # the clients would reach different hosts: match no scope


@lru_cache(maxsize=1024)
def _client_encodings(host: str) -> tuple[str | None, str | None]:
    """``host`` as httpx and as urllib3 encode it, with IDNA 2008; None: refused.

    httpx lower-cases and encodes the whole host (``httpx._urlparse.encode_host``),
    urllib3 each dot-separated label (``urllib3.util.url._idna_encode``). Lower-casing
    a label alone can differ: a capital sigma ending a label lower-cases to a final
    sigma there, but not within the whole host (the dot does not end a word).
    """
    whole = by_label = None
    with suppress(idna.IDNAError):
        whole = idna.encode(host.lower()).decode("ascii")
    with suppress(idna.IDNAError):
        by_label = ".".join(
            label.lower()
            if label.isascii()
            else idna.encode(label.lower(), strict=True).decode("ascii")
            for label in host.split(".")
        )
    return whole, by_label


def base_host_problem(netloc: str) -> str | None:
    """Why credentials scoped to ``netloc``'s host could reach another host, or None.

    The host must be one every client sends alike, that sockets can resolve
    (Python's codec checks label lengths), and, when it is not ASCII, that IDNA 2003
    and UTS 46 encode as the clients do: otherwise the record's author may mean
    another registrable domain than the one the clients reach.
    """
    host = _raw_host(netloc)
    wire: str | None = host.lower()
    if not host.isascii():
        whole, by_label = _client_encodings(host)
        wire = whole if whole == by_label else None
    if wire is None:
        return "has a host that httpx or requests cannot encode"
    if not _PLAIN_HOST.issuperset(wire):
        return "has a host with characters HTTP clients encode differently"
    try:
        idna2003 = host.encode("idna").decode("ascii").lower()
        uts46 = wire if host.isascii() else idna.encode(host, uts46=True).decode("ascii")
    except (UnicodeError, idna.IDNAError):
        return "has a host with an empty or overlong label"
    if idna2003 != wire or uts46 != wire:
        return "has a host IDNA 2003 and IDNA 2008 encode differently (a look-alike name)"
    return None


_DECODED = {"%2e": ".", "%2f": "/", "%5c": "/", "%25": "%", "\\": "/"}
_TO_DECODE = re.compile(r"%2[eEfF5]|%5[cC]|\\")
_SLASHES = re.compile("/{2,}")
_PARAMS = re.compile(";[^/]*")


class Target(NamedTuple):
    """Where a request goes: lower-case scheme, wire host, explicit port, raw path.

    The host is what the clients send (:func:`wire_host`); one they cannot encode
    stays as written, so it equals no scope's host.
    """

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> Target:
        """Parse an absolute URL (as prepared by requests, or a Location)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if parts.netloc.isascii():
            host = parts.hostname or ""  # lower-cased
        else:  # a Location as sent: encode the host as the clients will, from its own case
            host = _raw_host(parts.netloc)
            host = wire_host(host) or host  # unencodable: left as is, it matches no scope
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
        return cls(scheme, host, port, parts.path or "/")


def _raw_host(netloc: str) -> str:
    """The host of ``netloc`` in its own case (``SplitResult.hostname`` lower-cases it)."""
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0]


def host_header(target: Target) -> str:
    """The Host header HTTP clients send for ``target``."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == DEFAULT_PORTS.get(target.scheme) else f"{host}:{target.port}"


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4."""
    output: list[str] = []
    for segment in path.split("/")[1:] if path.startswith("/") else path.split("/"):
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    normalized = "/" + "/".join(output)
    if path.endswith(("/.", "/..")) and not normalized.endswith("/"):
        normalized += "/"
    return normalized


def _plain(path: str) -> bool:
    """Whether every server reads ``path`` as it is (nothing to decode, merge or resolve)."""
    if "/." in path or "//" in path or ";" in path or "\\" in path:
        return False
    if "%" not in path:
        return True
    lowered = path.lower()  # only these escapes change how a server splits the path
    return not ("%2e" in lowered or "%2f" in lowered or "%5c" in lowered or "%25" in lowered)


def _readings(path: str) -> set[str]:
    """``path`` as each kind of server may read it.

    Servers differ: some decode ``%2e %2f %5c`` and ``\\`` (IIS, and again after
    ``%25``), some merge repeated slashes (nginx's ``merge_slashes``), some drop
    ``;params`` from segments (Tomcat: ``/..;/``); each then removes dot segments.
    """
    decoded, previous = path, ""
    while decoded != previous:  # every pass after the first shortens it, so this ends
        previous = decoded
        decoded = _TO_DECODE.sub(lambda match: _DECODED[match.group().lower()], decoded)
    forms = {path, decoded}
    if "//" in decoded:  # decoding never removes a slash, so this covers the path too
        forms |= {_SLASHES.sub("/", form) for form in forms}
    if ";" in path:
        forms |= {_PARAMS.sub("", form) for form in forms}
    return {remove_dot_segments(form) for form in forms}


def base_path_problem(path: str) -> str | None:
    """Why servers could read a baseUrl's ``path`` as different paths, or None.

    A scope's prefix must name one path for every server (``contains`` reads request
    paths every way a server may): ``%2e``, ``%2f``, ``%5c``, ``%25``, ``\\``, ``//``,
    ``;`` or dot segments would each make it another prefix for some server, or for
    requests, which sends ``%2e`` as ``.``.
    """
    if _plain(path) or _readings(path) == {path}:
        return None
    return "has a path servers read in different ways (encoded dots or slashes, //, ;, ..)"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


@dataclass(frozen=True, slots=True)
class Scope:
    """An origin and a path prefix; a request is inside when all match.

    The prefix matches whole segments: ``/v1`` covers ``/v1`` and ``/v1/x`` but
    not ``/v1beta``.
    """

    scheme: str
    host: str
    port: int
    path_prefix: str  # without a trailing slash; "" covers every path (see base_path_problem)

    @classmethod
    def from_base_url(cls, base_url: str) -> Scope:
        target = Target.from_url(base_url)
        return cls(target.scheme, target.host, target.port, target.path.rstrip("/"))

    @classmethod
    def origin_of(cls, target: Target) -> Scope:
        """The scope of a record without baseUrl: the origin its request went to."""
        return cls(target.scheme, target.host, target.port, "")

    def contains(self, target: Target) -> bool:
        if target.host != self.host or target.port != self.port or target.scheme != self.scheme:
            return False
        prefix = self.path_prefix
        if not prefix:
            return True
        path = target.path
        if _plain(path):
            return _under(path, prefix)  # read alike by every server
        # Inside only if inside however a server reads it (every server reads the prefix alike).
        return all(_under(reading, prefix) for reading in _readings(path))

    def __str__(self) -> str:
        origin = Target(self.scheme, self.host, self.port, self.path_prefix)
        return f"{self.scheme}://{host_header(origin)}{self.path_prefix}"
