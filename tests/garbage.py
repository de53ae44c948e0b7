"""A test helper: type-level garbage for any argument position of a verifier.

What a framework or a slip may hand a verifier instead of str, bytes and pairs of
str: None, numbers, bytes, callables, objects, and containers nesting them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.binary(max_size=8),
    st.text(max_size=8),
    st.sampled_from(["\ud800", "é", "", "GET", "host", "https://h/p"]),
    st.builds(object),
    st.just(NotImplemented),
    st.just(b"hello".decode),  # a callable
)
GARBAGE = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3),
        st.frozensets(st.integers() | st.text(max_size=3), max_size=3),
        st.tuples(inner, inner, inner),
    ),
    max_leaves=6,
)
#: Where garbage goes: an argument, the header lines as a dict, one line, its name or value.
POSITIONS = ("method", "url", "headers", "dict headers", "line", "name", "value", "body")


def replaced(
    request: tuple[str, str, Any, bytes | None], position: str, garbage: Any, index: int
) -> tuple[Any, Any, Any, Any]:
    """``(method, url, header lines, body)`` with ``garbage`` in one position."""
    method, url, lines, body = request
    headers: Any = list(lines)
    index %= len(headers)
    name, value = headers[index]
    if position == "method":
        method = garbage
    elif position == "url":
        url = garbage
    elif position == "headers":
        headers = garbage
    elif position == "dict headers":
        headers = {**dict(headers), garbage if _hashable(garbage) else repr(garbage): "x"}
    elif position == "line":
        headers[index] = garbage
    elif position == "name":
        headers[index] = (garbage, value)
    elif position == "value":
        headers[index] = (name, garbage)
    else:
        body = garbage
    return method, url, headers, body


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
