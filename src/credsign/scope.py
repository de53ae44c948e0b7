"""Where a record's credentials may be sent: an origin plus a path prefix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

_DECODED = {"%2e": ".", "%2f": "/", "%5c": "/", "\\": "/"}
_TO_DECODE = re.compile(r"%2[eEfF]|%5[cC]|\\")


class Target(NamedTuple):
    """Where a request goes: lower-case scheme, ASCII host, explicit port, raw path."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> Target:
        """Parse an absolute URL (as prepared by requests, or a Location)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
        return cls(scheme, host, port, parts.path or "/")


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


def _effective_path(path: str) -> str:
    """The path a lenient server may route to, after decoding dots and slashes."""
    if "%" not in path and "\\" not in path and "/." not in path:
        return path  # nothing a server could decode or resolve: compare as it is
    decoded = _TO_DECODE.sub(lambda match: _DECODED[match.group().lower()], path)
    return remove_dot_segments(decoded)


@dataclass(frozen=True, slots=True)
class Scope:
    """An origin and a path prefix; a request is inside when all match.

    The prefix matches whole segments: ``/v1`` covers ``/v1`` and ``/v1/x`` but
    not ``/v1beta``.
    """

    scheme: str
    host: str
    port: int
    path_prefix: str  # without a trailing slash; "" covers every path

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
        path = _effective_path(target.path)
        return path == prefix or path.startswith(prefix + "/")

    def __str__(self) -> str:
        origin = Target(self.scheme, self.host, self.port, self.path_prefix)
        return f"{self.scheme}://{host_header(origin)}{self.path_prefix}"
