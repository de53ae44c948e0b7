"""The bytes requests sends for a prepared body: one definition for signing and for checking.

requests hands ``PreparedRequest.body`` to urllib3 (2.x), which sends text as
UTF-8, anything bytes-like as it is, a file block by block and any other
iterable chunk by chunk, text blocks and chunks as UTF-8 again. The signer
hashes those bytes without using the body up; the test transport
(``credsign.testing``), standing where the wire is, reads them as urllib3 does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from credsign.errors import CredsignError
from credsign.signing.base import HASHES

_BLOCK = 64 * 1024
_NOT_REPLAYABLE = (
    "cannot hash a streaming body (an iterator, or a file that cannot seek back) "
    "without consuming it: sign it with payload 'unsigned', or pass bytes or a seekable file"
)


def _encoded(chunk: Any) -> Any:
    """A chunk as it goes on the wire: text as UTF-8, bytes-like objects unchanged."""
    if not isinstance(chunk, str):
        return chunk
    try:
        return chunk.encode("utf-8")
    except UnicodeEncodeError:
        reason = "a text request body must be Unicode text: it holds a lone surrogate"
    raise CredsignError(reason)  # outside the except: the error's .object is the body


def body_chunks(body: Any, *, replayable: bool) -> Iterator[Any]:
    """The chunks (bytes-like) urllib3 sends for the prepared requests body ``body``.

    With ``replayable`` the body is left as it was: a file is read from where it
    stands and put back there, and an iterator (it cannot be read twice) is
    refused with :class:`CredsignError`. Without it, the body is used up as
    sending it would.
    """
    if body is None:
        return
    if isinstance(body, str | bytes):
        yield _encoded(body)
    elif hasattr(body, "read"):
        position = _position(body) if replayable else None
        try:
            while block := body.read(_BLOCK):
                yield _encoded(block)
        finally:
            if position is not None:
                body.seek(position)
    elif (view := _buffer(body)) is not None:
        yield view
    elif replayable:
        raise CredsignError(_NOT_REPLAYABLE)
    else:
        for chunk in body:
            yield _encoded(chunk)


def _position(file: Any) -> int:
    """Where a file to be read twice stands (it must seek back there)."""
    if hasattr(file, "seek"):
        try:
            return int(file.tell())
        except (AttributeError, OSError):  # no tell, or a pipe
            pass
    raise CredsignError(_NOT_REPLAYABLE)


def _buffer(body: Any) -> memoryview | None:
    """``body``'s bytes if it is bytes-like (bytearray, memoryview, array...), else None."""
    try:
        return memoryview(body)
    except TypeError:
        return None


def body_digest(body: Any, algorithm: str) -> bytes:
    """The digest of what requests will send for ``body``, leaving the body unread."""
    digest = HASHES[algorithm]()
    if isinstance(body, bytes):  # the usual body, without a generator
        digest.update(body)
    elif body is not None:
        for chunk in body_chunks(body, replayable=True):
            digest.update(chunk)
    return digest.digest()


def body_bytes(body: Any) -> bytes:
    """Everything requests sends for ``body``, read as the wire reads it (files used up)."""
    return b"".join(body_chunks(body, replayable=False))
