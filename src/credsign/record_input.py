"""A record's raw input, checked before validation: size, JSON syntax and nesting depth.

Every way a record comes in (``parse_record``, the store's ``create`` and
``update`` bodies, the CLI) goes through :func:`load_record_data`, so each
refuses the same inputs with the same :class:`RecordError`.

Each error is raised outside the ``except`` block that detected it: an
exception raised inside one keeps the original in ``__context__`` even with
``from None``, and ``JSONDecodeError.doc`` or ``UnicodeDecodeError.object``
hold the whole input, secrets included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from credsign.errors import RecordError

MAX_RECORD_BYTES = 64 * 1024
#: A record nests five containers deep (record, organizations, entry, apiKeys, key):
#: anything far deeper is not a record, and would exhaust the interpreter's stack.
MAX_DEPTH = 16
_TOO_DEEP = f"nests deeper than {MAX_DEPTH} levels"


def _decode(text: str | bytes | bytearray) -> Any:
    if len(text) > MAX_RECORD_BYTES:
        raise RecordError([("record", f"is larger than {MAX_RECORD_BYTES} bytes")])
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        reason = f"is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
    except UnicodeDecodeError as error:
        reason = f"is not valid JSON (not {error.encoding} at byte {error.start})"
    except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        reason = "is not valid JSON (a number has too many digits)"
    except RecursionError:
        reason = _TOO_DEEP
    raise RecordError([("record", reason)])


def _shape_issue(data: Mapping[str, Any]) -> str | None:
    """Why ``data`` is too deep or too big for a record, walked without recursion.

    Counting values bounds the walk of a mapping that contains itself; no JSON
    text within ``MAX_RECORD_BYTES`` holds more values than it has bytes.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 1
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children = list(value.values())
        elif isinstance(value, list | tuple):
            children = list(value)
        else:
            continue
        if depth > MAX_DEPTH:
            return _TOO_DEEP
        count += len(children)
        if count > MAX_RECORD_BYTES:
            return f"holds more than {MAX_RECORD_BYTES} values"
        stack += [(child, depth + 1) for child in children]
    return None


def load_record_data(data: Mapping[str, Any] | str | bytes | bytearray) -> Mapping[str, Any]:
    """The record mapping of ``data`` (a mapping, or JSON text), or a :class:`RecordError`."""
    if isinstance(data, str | bytes | bytearray):
        data = _decode(data)
    if not isinstance(data, Mapping):
        raise RecordError([("record", "must be a JSON object")])
    issue = _shape_issue(data)
    if issue is not None:
        raise RecordError([("record", issue)])
    return data
