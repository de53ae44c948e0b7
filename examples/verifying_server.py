"""A WSGI app that checks every request's RFC 9421 ``hmac-sha256`` signature (credsign's verifier).

Run it under gunicorn (``examples/local_servers.py``: ``verifying_server()``); the keys
come from the environment::

    CREDSIGN_TEST_HMAC_KEYS="keyid=secret,other=base64:AAECAw==" \
        gunicorn --pythonpath examples verifying_server:app

Each entry is ``keyid=secret``: the secret's UTF-8 bytes, or with a ``base64:`` prefix
its decoded bytes (keyids cannot contain ``=``, secrets cannot contain ``,``).

Every request, whatever its method or path, gets ``200`` with
``{"verified": true, "keyid": ..., "label": ..., "components": [...], "body_len": N}``
or ``401`` with ``{"verified": false, "reason": error.reason}`` (a
:class:`credsign.errors.SignatureError` reason such as ``mismatch``).

The verifier sees the request as it arrived: the raw request target (gunicorn's
``RAW_URI``), the ``Host`` header, every header line and the whole body.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from credsign.errors import SignatureError
from credsign.verify.rfc9421 import Rfc9421Verifier

KEYS_VARIABLE = "CREDSIGN_TEST_HMAC_KEYS"
BASE64_PREFIX = "base64:"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def parse_keys(text: str) -> dict[str, bytes]:
    """``keyid=secret,keyid=base64:...`` as {keyid: key bytes}."""
    keys: dict[str, bytes] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        keyid, mark, secret = entry.partition("=")
        if not mark or not keyid or not secret:
            raise ValueError(f"{KEYS_VARIABLE}: expected keyid=secret, got an entry without one")
        if secret.startswith(BASE64_PREFIX):
            keys[keyid] = base64.b64decode(secret[len(BASE64_PREFIX) :], validate=True)
        else:
            keys[keyid] = secret.encode()
    return keys


def format_keys(keys: Mapping[str, bytes]) -> str:
    """The inverse of :func:`parse_keys`: base64 for any key that is not plain text."""
    entries = []
    for keyid, key in keys.items():
        if "=" in keyid or "," in keyid:
            raise ValueError(f"keyid {keyid!r} cannot contain '=' or ','")
        try:
            text = key.decode()
        except UnicodeDecodeError:
            text = ""
        plain = text.isprintable() and text == text.strip() and "," not in text
        if not text or not plain or text.startswith(BASE64_PREFIX):
            text = BASE64_PREFIX + base64.b64encode(key).decode()
        entries.append(f"{keyid}={text}")
    return ",".join(entries)


def request_url(environ: Mapping[str, Any]) -> str:
    """The URL the client asked for, from the raw request target when the server gives it."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ["SERVER_NAME"]
        port = environ.get("SERVER_PORT", "")
        if port and port != {"http": "80", "https": "443"}.get(scheme):
            host += f":{port}"
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if "://" in raw.split("?", 1)[0]:  # absolute form: keep only path and query
            parts = urlsplit(raw)
            raw = parts.path + (f"?{parts.query}" if "?" in raw else "")  # "/p?" is not "/p"
        target = raw
    else:  # PEP 3333: PATH_INFO is decoded, as latin-1 text; encode it again (and an
        # empty QUERY_STRING cannot tell "/p?" from "/p": servers giving RAW_URI can)
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target = quote(path.encode("latin-1"), safe="/;=,:@!$&'()*+~")
        if environ.get("QUERY_STRING"):
            target += f"?{environ['QUERY_STRING']}"
    return f"{scheme}://{host}{target}"


def request_headers(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(lower-case name, value) for every header: ``HTTP_*``, Content-Type, Content-Length."""
    lines = [
        (key[5:].replace("_", "-").lower(), value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        if environ.get(key):
            lines.append((name, environ[key]))
    return lines


def request_body(environ: Mapping[str, Any]) -> bytes:
    """The whole body: Content-Length bytes, or all of a chunked one when the server ends it."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(stream.read(int(length)))
    if environ.get("wsgi.input_terminated"):  # gunicorn: chunked bodies end at EOF
        return bytes(stream.read())
    return b""


def make_app(keys: Mapping[str, bytes]) -> WsgiApp:
    """A WSGI app verifying with ``keys`` (keyid -> key bytes) under the default policy."""
    verifier = Rfc9421Verifier(key_for=dict(keys).get)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = request_body(environ)
        try:
            result = verifier.verify(
                environ["REQUEST_METHOD"], request_url(environ), request_headers(environ), body
            )
        except SignatureError as error:
            status, payload = "401 Unauthorized", {"verified": False, "reason": error.reason}
        else:
            status = "200 OK"
            payload = {
                "verified": True,
                "keyid": result.keyid,
                "label": result.label,
                "components": list(result.components),
                "body_len": len(body),
            }
        content = json.dumps(payload).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(content)))]
        )
        return [content]

    return app


app = make_app(parse_keys(os.environ.get(KEYS_VARIABLE, "")))
