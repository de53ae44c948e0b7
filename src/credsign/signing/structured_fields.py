"""The part of RFC 8941 Structured Fields that HTTP Message Signatures use.

Strings, integers, tokens, byte sequences and booleans as bare items and
parameters; inner lists; dictionaries split into members (each kept as text, so
entries of other signatures pass through untouched).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import TypeGuard


class Token(str):
    """An RFC 8941 Token: serialized bare, unlike a String."""


class Decimal(str):
    """An RFC 8941 Decimal, kept as written (it is only ever serialized back)."""


Bare = str | int | bool | bytes


def is_string(value: object) -> TypeGuard[str]:
    """An RFC 8941 String: a Token or Decimal is a ``str`` too, but a different item."""
    return type(value) is str


def is_integer(value: object) -> TypeGuard[int]:
    """An RFC 8941 Integer: not a Boolean, which Python counts as an ``int``."""
    return type(value) is int


_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~:/0-9A-Za-z]*")
_INTEGER = re.compile(r"-?[0-9]{1,15}(?![0-9.])")
_DECIMAL = re.compile(r"-?[0-9]{1,12}\.[0-9]{1,3}(?![0-9.])")
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
_STRING = re.compile(r'"((?:[ !#-\[\]-~]|\\["\\])*)"')
_ESCAPE = re.compile(r'\\(["\\])')


class StructuredFieldError(ValueError):
    """Text that is not the structured field it should be."""


def serialize_string(value: str) -> str:
    if not value.isascii() or not value.isprintable():
        raise StructuredFieldError("a structured string holds printable ASCII only")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_bare(value: Bare) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int | Token | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f":{base64.b64encode(value).decode()}:"
    return serialize_string(value)


def serialize_params(params: Sequence[tuple[str, Bare]]) -> str:
    return "".join(
        f";{key}" if value is True else f";{key}={serialize_bare(value)}" for key, value in params
    )


class _Reader:
    """A cursor over field text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self) -> str:
        at = self.at
        return self.text[at] if at < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.at += 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise StructuredFieldError(f"expected {char!r} at {self.at}")
        self.at += 1

    def key(self) -> str:
        match = _KEY.match(self.text, self.at)
        if match is None:
            raise StructuredFieldError(f"expected a key at {self.at}")
        self.at = match.end()
        return match.group()

    def string(self) -> str:
        match = _STRING.match(self.text, self.at)
        if match is None:
            raise StructuredFieldError(f"expected a string of printable ASCII at {self.at}")
        self.at = match.end()
        content = match.group(1)
        return _ESCAPE.sub(r"\1", content) if "\\" in content else content

    def bare(self) -> Bare:
        char = self.peek()
        if char == '"':
            return self.string()
        if char == "?":
            self.at += 1
            value = self.peek()
            if value not in ("0", "1"):
                raise StructuredFieldError("bad boolean")
            self.at += 1
            return value == "1"
        for pattern in (_INTEGER, _DECIMAL, _BYTES, _TOKEN):
            match = pattern.match(self.text, self.at)
            if match is not None:
                self.at = match.end()
                if pattern is _INTEGER:
                    return int(match.group())
                if pattern is _DECIMAL:
                    return Decimal(match.group())
                if pattern is _BYTES:
                    return _decode_bytes(match.group(1), self.at)
                return Token(match.group())
        raise StructuredFieldError(f"expected an item at {self.at}")

    def params(self) -> list[tuple[str, Bare]]:
        params: dict[str, Bare] = {}  # a repeated key: the last value, in the first place
        while self.peek() == ";":
            self.at += 1
            self.skip_spaces()
            key = self.key()
            value: Bare = True
            if self.peek() == "=":
                self.at += 1
                value = self.bare()
            params[key] = value
        return list(params.items())

    def inner_list(
        self,
    ) -> tuple[list[tuple[Bare, list[tuple[str, Bare]]]], list[tuple[str, Bare]]]:
        self.expect("(")
        items: list[tuple[Bare, list[tuple[str, Bare]]]] = []
        while True:
            self.skip_spaces()
            if self.peek() == ")":
                self.at += 1
                return items, self.params()
            items.append((self.bare(), self.params()))
            if self.peek() not in (" ", ")"):
                raise StructuredFieldError(f"expected ' ' or ')' at {self.at}")

    def done(self) -> None:
        if self.at != len(self.text):
            raise StructuredFieldError(f"unexpected text at {self.at}")


def _decode_bytes(text: str, at: int) -> bytes:
    """Base64, ``=`` padding optional (RFC 8941 section 4.2.7 asks parsers to allow that)."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise StructuredFieldError(f"bad base64 in the byte sequence before {at}") from None


InnerList = tuple[list[tuple[Bare, list[tuple[str, Bare]]]], list[tuple[str, Bare]]]


def parse_inner_list(text: str) -> InnerList:
    """``("a" "b";k=1);p=2`` as ([(item, params)...], params)."""
    reader = _Reader(text.strip(" "))
    result = reader.inner_list()
    reader.done()
    return result


def parse_item(text: str) -> tuple[Bare, list[tuple[str, Bare]]]:
    """``"a";k=1`` as (item, params)."""
    reader = _Reader(text.strip(" "))
    item = reader.bare()
    params = reader.params()
    reader.done()
    return item, params


def dictionary_members(text: str) -> list[tuple[str, str]]:
    """A dictionary's members as (key, value text), in order.

    A repeated key keeps its last value in its first place (RFC 8941 section 4.2.2).
    """
    members: dict[str, str] = {}
    reader = _Reader(text)
    reader.skip_spaces()
    while reader.peek():
        key = reader.key()
        start = reader.at
        if reader.peek() == "=":
            reader.at += 1
            start = reader.at
            if reader.peek() == "(":
                reader.inner_list()
            else:
                reader.bare()
                reader.params()
        else:
            reader.params()
        value = reader.text[start : reader.at]
        members[key] = value
        reader.skip_spaces()
        if not reader.peek():
            break
        reader.expect(",")
        reader.skip_spaces()
        if not reader.peek():
            raise StructuredFieldError("trailing comma")
    return list(members.items())
