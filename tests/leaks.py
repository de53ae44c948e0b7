"""A test helper: nothing reachable from an exception holds a secret.

An exception carries more than its message: ``args``, attributes (a
``UnicodeEncodeError`` keeps the whole string in ``.object``, a
``JSONDecodeError`` the document in ``.doc``), the exceptions it was raised
during or from (``raise ... from None`` only hides ``__context__``, it does not
drop it), and for pydantic's ``ValidationError`` the raw input in ``.errors()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from credsign.records import MASK, Record

_SCALARS = (int, float, complex, bool, type(None))


def _encodings(secret: str) -> tuple[str, bytes]:
    return secret, secret.encode("utf-8", "surrogatepass")


def _leaks(value: Any, secrets: Iterable[str]) -> list[str]:
    """Where a secret shows among ``value`` and everything reachable from it."""
    wanted = [_encodings(secret) for secret in secrets]
    found: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("exception", value)]
    while stack:
        where, item = stack.pop()
        if id(item) in seen or isinstance(item, _SCALARS):
            continue
        seen.add(id(item))
        if isinstance(item, (str, bytes, bytearray)):
            for text, raw in wanted:
                hit = text in item if isinstance(item, str) else raw in item
                if hit:
                    found.append(where)
            continue
        try:
            shown = repr(item)
        except Exception as error:  # a failing repr is itself a finding
            found.append(f"repr({where}) raised {type(error).__name__}")
            shown = ""
        stack.append((f"repr({where})", shown))
        if isinstance(item, Mapping):
            stack += [(f"{where}[key]", key) for key in item]
            stack += [(f"{where}[{key!r}]", child) for key, child in item.items()]
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack += [(f"{where}[{index}]", child) for index, child in enumerate(item)]
        elif isinstance(item, BaseException):
            stack.append((f"str({where})", str(item)))
            stack.append((f"{where}.args", item.args))
            stack.append((f"{where}.__context__", item.__context__))
            stack.append((f"{where}.__cause__", item.__cause__))
            stack.append((f"{where}.__notes__", getattr(item, "__notes__", None)))
            if isinstance(item, ValidationError):
                stack.append((f"{where}.errors()", item.errors()))
            for name in dir(item):
                if name.startswith("__") or name == "args":
                    continue
                attribute = getattr(item, name, None)
                if not callable(attribute):
                    stack.append((f"{where}.{name}", attribute))
    return found


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    """Fail if any of ``secrets`` (as text or UTF-8 bytes) is reachable from ``error``.

    Walks the message, ``repr``, ``args``, every public attribute, ``__context__``,
    ``__cause__`` and ``__notes__``, recursively through containers and chained
    exceptions. Frame locals of the traceback are not walked: they are the
    caller's own variables.
    """
    assert secrets, "name at least one secret"
    found = _leaks(error, secrets)
    assert not found, f"a secret is reachable from {type(error).__name__} at {found}"


def _masked_values(shown: Any, revealed: Any) -> Iterator[str]:
    if isinstance(revealed, dict):
        for key, value in revealed.items():
            yield from _masked_values(shown.get(key), value)
    elif isinstance(revealed, list):
        for shown_item, item in zip(shown, revealed, strict=True):
            yield from _masked_values(shown_item, item)
    elif shown == MASK and isinstance(revealed, str) and revealed != MASK:
        yield revealed


def revealed_secrets(record: Record) -> list[str]:
    """The record's secrets found without credsign's own list of them: the values
    ``to_dict()`` masks and ``to_dict(reveal_secrets=True)`` shows."""
    return list(_masked_values(record.to_dict(), record.to_dict(reveal_secrets=True)))
