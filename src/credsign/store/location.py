"""Where a store lives: one parser for ``CredentialStore.open``, ``$CREDSIGN_STORE`` and the CLI.

A location is a URL (``sqlite:///PATH``, ``postgresql://...``, ``postgres://...``)
or a bare filesystem path (SQLite). Anything else that looks like a URL is
refused, so a mistyped scheme never becomes a directory named ``mysql:``.
Whatever is shown of a location (messages, reprs) has its password replaced.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from credsign.errors import StoreValidationError

MASK = "****"
#: Connection parameters libpq keeps secret (its "*" options, and the SCRAM keys).
SECRET_KEYWORDS = frozenset(
    {"password", "sslpassword", "oauth_client_secret", "scram_client_key", "scram_server_key"}
)
_HEX_DIGITS = frozenset(string.hexdigits)
_SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql"}


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store location: ``kind``, and the SQLite ``path`` or the PostgreSQL ``url``."""

    kind: Literal["sqlite", "postgresql"]
    path: Path | None = None
    url: str = field(default="", repr=False)  # may hold a password: see ``display``

    @property
    def display(self) -> str:
        """The location as it may be shown: a SQLite path, or the URL without its password."""
        return str(self.path) if self.path is not None else redact_url(self.url)

    def __repr__(self) -> str:
        return f"StoreLocation({self.kind!r}, {self.display!r})"


def default_store_path() -> Path:
    """``$XDG_DATA_HOME/credsign/credentials.db`` (``~/.local/share`` without XDG_DATA_HOME)."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "credsign" / "credentials.db"


def parse_store_location(value: str | os.PathLike[str] | None = None) -> StoreLocation:
    """``value``, else ``$CREDSIGN_STORE``, else the default path, as a :class:`StoreLocation`.

    Raises :class:`StoreValidationError` for an unknown scheme or an empty path;
    the message shows the location with its password replaced.
    """
    if value is None:
        value = os.environ.get("CREDSIGN_STORE") or None
        if value is None:
            return StoreLocation("sqlite", default_store_path())
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise StoreValidationError("a store location is a URL or a path (text)")
    scheme, separator, rest = value.partition("://")
    if not separator:
        if not value.strip():
            raise StoreValidationError("a store location must not be empty")
        return StoreLocation("sqlite", Path(value))
    kind = _SCHEMES.get(scheme.lower())
    if kind is None:
        shown = scheme if scheme.isalnum() and len(scheme) <= 20 else "?"
        raise StoreValidationError(
            f"unknown store URL scheme {shown!r}: a store is sqlite:///PATH, "
            "postgresql://... or a path"
        )
    if kind == "postgresql":
        if not value.isascii() and not _is_unicode(value):  # e.g. non-UTF-8 bytes from argv
            raise StoreValidationError("a postgresql:// store URL must be UTF-8 text")
        _check_user_info(rest)
        return StoreLocation("postgresql", url=value)
    if not rest:
        raise StoreValidationError("a sqlite:// store URL needs a path (sqlite:///PATH)")
    return StoreLocation("sqlite", Path(rest))


def _check_user_info(rest: str) -> None:
    """Refuse a raw ``@``, ``/`` or ``?`` in user info, where libpq would split it otherwise.

    libpq takes the user info up to the first ``@`` before any ``/``: a raw ``@``
    or ``/`` in a password makes part of it the host, and a raw ``@`` in a query
    (``h?password=p@ss``) makes part of the query the user name.
    """
    authority = rest.split("?", 1)[0]
    user_info = rest.split("/", 1)[0].partition("@")
    if (
        authority.count("@") > 1
        or "/" in authority.rpartition("@")[0]
        or (user_info[1] and "?" in user_info[0])
    ):
        raise StoreValidationError(
            "a PostgreSQL URL's user name and password must be percent-encoded"
            " (@ is %40, / is %2F, ? is %3F)"
        )


def redact_url(url: str) -> str:
    """``url`` with the password of its user info and every secret parameter masked.

    libpq percent-decodes parameter names (``pass%77ord`` is ``password``), so
    names are compared decoded, in any case. Works on malformed URLs too, hiding
    more than needed rather than less: from the first ``:`` after ``://`` to the
    last ``@`` (if the ``:`` comes first), and everything after the ``=`` of the
    first secret parameter (one begins after any ``?`` or ``&``).
    """
    start = url.find("://") + 3
    hidden: list[tuple[int, int]] = []
    colon, at = url.find(":", start), url.rfind("@")
    if start >= 3 and 0 <= colon < at:
        hidden.append((colon + 1, at))
    value = _secret_value(url)
    if value is not None:
        hidden.append((value, len(url)))
    shown: list[str] = []
    done = 0
    for begin, end in sorted(hidden):
        if shown and begin <= done:  # overlaps the last masked part: extend it
            done = max(done, end)
            continue
        shown += [url[done:begin], MASK]
        done = end
    return "".join([*shown, url[done:]])


def _secret_value(url: str) -> int | None:
    """Where the value of the first parameter whose name may be a secret keyword starts."""
    for begin, char in enumerate(url):
        if char not in "?&":
            continue
        equals = url.find("=", begin + 1)
        if equals < 0:
            return None
        name = url[begin + 1 : equals]
        if "&" not in name and _is_secret_keyword(name):
            return equals + 1
    return None


def _is_secret_keyword(name: str) -> bool:
    """Whether libpq may read ``name`` as a secret keyword (an undecodable one may be)."""
    escapes = name.split("%")[1:]
    if any(len(escape) < 2 or not set(escape[:2]) <= _HEX_DIGITS for escape in escapes):
        return True
    return unquote(name).casefold() in SECRET_KEYWORDS


def _is_unicode(text: str) -> bool:
    """Whether ``text`` has no lone surrogate (what Python makes of bytes that are not UTF-8)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
