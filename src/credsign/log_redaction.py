"""Query credentials masked in the HTTP clients' log records (on by default).

httpx logs every request URL at INFO, httpcore, urllib3 and requests log at DEBUG: a
query-placed API key or a presigned SigV4 URL would reach log files in clear. Compiling
a signer registers the query parameter *names* it sets (``Signer.query_names``, so every
fact stays with its record type or signing rules); a filter on each logger of those
clients masks the values of parameters so named, whatever the percent-encoding or the
case of the name (``api_key=****``), and the whole value of any parameter that holds
such a name and ``=``, as is or percent-decoded up to ``NESTING`` times: a server that
sends the caller to ``/login?return_to=<the URL it was asked for>`` nests the key
there (``return_to=****``). No secret is kept here: only names.

``disable()`` brings raw URLs back (debugging a signature, say); ``enable()`` restores the
default; ``redact(text)`` masks a text of your own, e.g. ``str(httpx.HTTPStatusError)``;
``FILTER`` on a handler of yours masks the records of your own loggers too.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import unquote_plus

__all__ = ["FILTER", "MASK", "disable", "enable", "redact"]

MASK = "****"

#: The clients' root loggers: each of them and every logger below is filtered.
ROOT_LOGGERS = ("httpx", "httpcore", "urllib3", "requests")
#: Their module loggers that emit: created up front so that a module imported later gets
#: the filtered logger (a logger's filters do not apply to records of its children).
_EMITTERS = (
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "urllib3.connection",
    "urllib3.connectionpool",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "urllib3.http2.connection",
    "urllib3.contrib.pyopenssl",
    "urllib3.contrib.emscripten.response",
)
#: Past this many distinct names every ``name=value`` is masked: bounded, and never a leak.
MAX_NAMES = 4096
#: How many layers of percent-encoding a nested query is looked for under (a URL in a
#: parameter of a URL in a parameter...): each layer is one more linear pass.
NESTING = 4

# name=value: a name runs between characters that separate it in a URL or a repr, and
# starts right after one (the lookbehind keeps the scan linear on long runs without "=");
# a value ends at the next parameter, the fragment or the end of the URL as logged.
_SEPARATORS = r"""\s=&?#;"'<>/\\,()\[\]{}:@|"""
_PAIR = re.compile(rf"""(?<![^{_SEPARATORS}])([^{_SEPARATORS}]+)=([^&#\s"'<>\\`]*)""")
#: A name followed by ``=``, without its value: every pair nested in a value, one by one.
_NAMED = re.compile(rf"(?<![^{_SEPARATORS}])([^{_SEPARATORS}]+)=")


def _key(name: str) -> str:
    """A parameter name as logged, as compared: percent- and ``+``-decoded, lower-case."""
    if "%" in name or "+" in name:
        name = unquote_plus(name)
    return name.lower()


def _names(text: str) -> Iterable[str]:
    """The names followed by ``=`` in ``text``, as compared."""
    return (_key(match.group(1)) for match in _NAMED.finditer(text)) if "=" in text else ()


def _nests(value: str, keys: frozenset[str] | None) -> bool:
    """Whether ``value``, as is or percent-decoded up to NESTING times, holds a registered
    name followed by ``=`` (past MAX_NAMES: any name)."""
    level = 0
    while not any(keys is None or name in keys for name in _names(value)):
        if level == NESTING or ("%" not in value and "+" not in value):
            return False
        value, level = unquote_plus(value), level + 1
    return True


class QueryRedactor(logging.Filter):
    """Masks the values of the registered query parameter names in the records it sees.

    ``record.msg``/``args`` are rewritten only when something was masked, so records
    without credentials keep their template and arguments.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        #: Replaced whole, never mutated, so read without the lock. None: past MAX_NAMES.
        self._keys: frozenset[str] | None = frozenset()
        self.add(names)

    @property
    def active(self) -> bool:
        """Whether some name is registered (else records pass untouched, unformatted)."""
        return self._keys != frozenset()

    def add(self, names: Iterable[str]) -> None:
        keys = {name.lower() for name in names}  # signers' names are decoded already
        current = self._keys
        if current is None or keys <= current:
            return
        with self._lock:
            if self._keys is not None:
                merged = self._keys | keys
                self._keys = merged if len(merged) <= MAX_NAMES else None

    def redact(self, text: str) -> str:
        """``text`` with the value of every registered parameter masked, and every value
        that nests one (see ``NESTING``)."""
        keys = self._keys
        if "=" not in text or keys == frozenset():
            return text

        def mask(match: re.Match[str]) -> str:
            name, value, start = match.group(1), match.group(2), match.start()
            # Past MAX_NAMES (keys None): the value of every query parameter.
            hit = start > 0 and text[start - 1] in "?&;" if keys is None else _key(name) in keys
            # A nested "=" is "=", "%3D", "%253D"...: only such values are decoded.
            if not hit and ("=" in value or "3D" in value or "3d" in value):
                hit = _nests(value, keys)
            return f"{name}={MASK}" if hit else match.group()

        return _PAIR.sub(mask, text)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.active:
            return True
        try:
            message = record.getMessage()
            redacted = self.redact(message)
        except Exception:  # a logging call must never raise; logging reports broken ones
            return True
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class _Installation:
    """Which client loggers carry the filter: all of them while enabled."""

    def __init__(self, redactor: QueryRedactor) -> None:
        self.redactor = redactor
        self.enabled = True
        self._loggers_seen = -1  # logging's logger count at the last attach
        self._lock = threading.Lock()

    def attach(self, *, force: bool = False) -> None:
        """Filter every client logger there is, once some name is registered."""
        with self._lock:
            if force:
                self.enabled, self._loggers_seen = True, -1
            count = len(logging.Logger.manager.loggerDict)
            if not self.enabled or not self.redactor.active or count == self._loggers_seen:
                return
            for logger in _client_loggers(create=True):
                logger.addFilter(self.redactor)  # a no-op where it is already
            self._loggers_seen = len(logging.Logger.manager.loggerDict)

    def detach(self) -> None:
        with self._lock:
            self.enabled = False
            for logger in _client_loggers(create=False):
                logger.removeFilter(self.redactor)


def _client_loggers(*, create: bool) -> list[logging.Logger]:
    """The client loggers that exist, and with ``create`` those known to emit."""
    names = {*ROOT_LOGGERS, *(_EMITTERS if create else ())}
    names.update(
        name
        for name in list(logging.Logger.manager.loggerDict)
        if name.partition(".")[0] in ROOT_LOGGERS
    )
    return [logging.getLogger(name) for name in sorted(names)]


#: The filter on the client loggers; add it to a handler of yours to mask your own records.
FILTER = QueryRedactor()
_INSTALLATION = _Installation(FILTER)


def register_query_names(names: Iterable[str]) -> None:
    """Mask the values of the query parameters ``names`` (a signer's) in client logs."""
    FILTER.add(names)
    _INSTALLATION.attach()


def redact(text: str) -> str:
    """``text`` with the value of every query parameter a compiled signer sets masked."""
    return FILTER.redact(text)


def enable() -> None:
    """Mask credential query values in httpx, httpcore, urllib3 and requests logs (default)."""
    _INSTALLATION.attach(force=True)


def disable() -> None:
    """Log raw URLs again, credentials and all: for debugging, never in production."""
    _INSTALLATION.detach()
