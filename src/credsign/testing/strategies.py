"""Public Hypothesis strategies: credential records (valid or not) and httpx requests.

``records()`` draws parsed :data:`~credsign.Record` objects of every auth type
with their optional fields; ``records(valid=False)`` draws :class:`InvalidRecord`
mappings that ``parse_record`` must refuse, with the field path and reason it
must give. ``requests()`` draws ``httpx.Request`` objects under a base URL, for
property tests of a client's authentication::

    @given(record=records(base_url=BASE), request=requests(BASE))
    def test_signed(record, request): ...

Requires the ``hypothesis`` package (not a dependency of credsign itself).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

import httpx

from credsign.extras import require
from credsign.records import Record, parse_record

if TYPE_CHECKING:
    from hypothesis import strategies as st
else:  # the 'testing' extra: importing this module is the point of use
    st = require("hypothesis.strategies", "testing", "credsign.testing.strategies")

__all__ = [
    "AUTH_TYPES",
    "BODY_METHODS",
    "HMAC_COMPONENTS",
    "METHODS",
    "InvalidRecord",
    "records",
    "requests",
]

AUTH_TYPES = ("NO_AUTH", "BASIC_AUTH", "BEARER_TOKEN", "API_KEY", "AWS4", "HMAC_SHA256")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Derived components an explicit HMAC_SHA256 ``components`` list is drawn from.
HMAC_COMPONENTS = (
    "@method",
    "@authority",
    "@path",
    "@query",
    "@target-uri",
    "@scheme",
    "@request-target",
)

_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # noqa: S105
#: Set by the HTTP client: never a record's or a generated request's header.
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})
#: Headers some auth type sets: kept out of generated static and request headers.
_AUTH_SET = frozenset(
    {
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
        "signature",
        "signature-input",
        "content-digest",
    }
)
_AUTH_HEADERS: dict[str, frozenset[str]] = {
    "BASIC_AUTH": frozenset({"authorization"}),
    "BEARER_TOKEN": frozenset({"authorization"}),
    "AWS4": frozenset(
        {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
    ),
    "HMAC_SHA256": frozenset({"signature", "signature-input", "content-digest"}),
}
_HOP_BY_HOP = frozenset(
    {"keep-alive", "te", "trailer", "upgrade", "proxy-connection", "expect", "content-type"}
)

_token = st.text(_TOKEN_CHARS, min_size=1, max_size=24)
_visible = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
#: Visible ASCII with inner spaces and tabs, nothing at either end: a header value.
_header_value = st.text(st.one_of(_visible, st.just("\t")), max_size=40).map(
    lambda value: value.strip(" \t")
)
_header_secret = st.text(st.one_of(_visible, st.just("\t")), min_size=1, max_size=64).filter(
    lambda value: value.strip(" \t") == value and value != ""
)
_no_control_chars = st.characters(
    exclude_categories=("Cc", "Cs"), exclude_characters="\x7f", include_characters="\t"
)
#: Any text without CR, LF and other controls (tab allowed): passwords, AWS and HMAC secrets.
_text_secret = st.text(_no_control_chars, min_size=1, max_size=64)
_plain_text = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\x7f"),
    min_size=1,
    max_size=40,
)
_aws_name = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


class InvalidRecord(NamedTuple):
    """A record mapping ``parse_record`` refuses with an issue ``(path, r)``, ``reason in r``."""

    data: dict[str, Any]
    path: str
    reason: str


def _names(taken: frozenset[str]) -> st.SearchStrategy[str]:
    return _token.filter(lambda name: name.lower() not in taken | _FRAMING | _AUTH_SET)


@st.composite
def _api_keys(draw: st.DrawFn, static: frozenset[str]) -> dict[str, Any]:
    """``apiKey`` and/or ``apiKeys``: distinct placements, header ones not clashing."""
    count = draw(st.integers(1, 4))
    placements: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(count):
        if draw(st.booleans()):
            key = draw(_names(static))
            placement = {"key": key, "value": draw(_header_secret), "position": "header"}
            marker = ("header", key.lower())
        else:
            key = draw(_plain_text)
            placement = {"key": key, "value": draw(_text_secret), "position": "query"}
            marker = ("query", key)
        if marker in seen:
            continue
        if placement["position"] == "header" and draw(st.booleans()):
            del placement["position"]  # header is the default
        seen.add(marker)
        placements.append(placement)
    shape = draw(st.sampled_from(["apiKey", "apiKeys", "both"]))
    if shape == "apiKeys":
        return {"apiKeys": placements}
    if shape == "apiKey" and len(placements) == 1:
        return {"apiKey": placements[0]}
    return {"apiKey": placements[0], "apiKeys": placements[1:]}


def _hmac_secret(encoding: str) -> st.SearchStrategy[str]:
    if encoding == "base64":
        return st.binary(min_size=1, max_size=64).map(lambda key: base64.b64encode(key).decode())
    return _text_secret


@st.composite
def _credentials(draw: st.DrawFn, auth_type: str, static: frozenset[str]) -> dict[str, Any]:
    """The credential fields of one record (or one organizations entry)."""
    if auth_type == "BASIC_AUTH":
        return {
            "username": draw(_plain_text.filter(lambda name: ":" not in name)),
            "password": draw(_text_secret),
        }
    if auth_type == "BEARER_TOKEN":
        return {"token": draw(_header_secret)}
    if auth_type == "API_KEY":
        return draw(_api_keys(static))
    if auth_type == "AWS4":
        fields = {
            "accessKey": draw(
                st.text(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz",
                    min_size=1,
                    max_size=24,
                )
            ),
            "secretKey": draw(_text_secret),
        }
        if draw(st.booleans()):
            fields["sessionToken"] = draw(_header_secret)
        return fields
    if auth_type == "HMAC_SHA256":
        # No tab: the record accepts one, but the keyid structured string cannot hold it.
        return {"clientId": draw(_header_secret.filter(lambda value: "\t" not in value))}
    return {}


@st.composite
def _options(draw: st.DrawFn, auth_type: str) -> dict[str, Any]:
    """Non-credential fields specific to ``auth_type``."""
    options: dict[str, Any] = {}
    if auth_type == "AWS4":
        options["region"] = draw(st.one_of(st.sampled_from(["us-east-1", "eu-west-3"]), _aws_name))
        options["service"] = draw(st.one_of(st.sampled_from(["s3", "execute-api"]), _aws_name))
        location = draw(st.sampled_from([None, "header", "query"]))
        if location is not None:
            options["signatureLocation"] = location
        if draw(st.booleans()):
            options["expiresIn"] = draw(st.integers(1, 604800))
        payload = draw(st.sampled_from([None, "signed", "unsigned"]))
        if payload == "unsigned" and location == "query":
            payload = "signed"
        if payload is not None:
            options["payload"] = payload
    elif auth_type == "HMAC_SHA256":
        if draw(st.booleans()):
            options["secretEncoding"] = draw(st.sampled_from(["utf-8", "base64"]))
        if draw(st.booleans()):
            options["components"] = draw(
                st.lists(st.sampled_from(HMAC_COMPONENTS), min_size=1, unique=True)
            )
        if draw(st.booleans()):
            options["signatureLabel"] = draw(
                st.from_regex(r"[a-z*][a-z0-9_\-.*]{0,15}", fullmatch=True)
            )
        if draw(st.booleans()):
            options["includeAlg"] = draw(st.booleans())
        if draw(st.booleans()):
            options["expiresIn"] = draw(st.integers(1, 86400))
        if draw(st.booleans()):
            options["nonce"] = draw(st.booleans())
        if draw(st.booleans()):
            options["digest"] = draw(st.sampled_from(["sha-256", "sha-512"]))
    return options


def _header_names_of(fields: dict[str, Any]) -> set[str]:
    """Lower-cased header names an API_KEY credential set places."""
    placements = ([fields["apiKey"]] if "apiKey" in fields else []) + list(
        fields.get("apiKeys", ())
    )
    return {p["key"].lower() for p in placements if p.get("position", "header") == "header"}


@st.composite
def _mappings(
    draw: st.DrawFn,
    auth_types: Sequence[str],
    base_url: str | None,
    organizations: bool,
) -> dict[str, Any]:
    """A valid record mapping (JSON-shaped), as stored."""
    auth_type = draw(st.sampled_from(list(auth_types)))
    record: dict[str, Any] = {"authType": auth_type}
    auth_names = _AUTH_HEADERS.get(auth_type, frozenset())
    # Static headers first (API key header placements must then avoid them).
    statics = draw(
        st.lists(
            st.fixed_dictionaries({"key": _names(auth_names), "value": _header_value}),
            max_size=4,
            unique_by=lambda header: header["key"].lower(),
        )
    )
    static = frozenset(header["key"].lower() for header in statics)
    entries: list[dict[str, Any]] = []
    # AWS4 entries cannot parse today (an entry needs region and service, yet may not
    # set them: "is shared"), so AWS4 records get no organizations.
    if organizations and auth_type not in ("NO_AUTH", "AWS4"):
        count = draw(st.integers(0, 3))
        for index in range(count):
            entry = {"orgId": f"org-{index}", **draw(_credentials(auth_type, static))}
            entries.append(entry)
    own = not entries or draw(st.booleans())
    if own:
        record.update(draw(_credentials(auth_type, static)))
    if auth_type == "HMAC_SHA256":
        options = draw(_options(auth_type))
        encoding = options.get("secretEncoding", "utf-8")
        for holder in [record] if own else []:
            holder["clientSecret"] = draw(_hmac_secret(encoding))
        for entry in entries:
            entry["clientSecret"] = draw(_hmac_secret(encoding))
        record.update(options)
    else:
        record.update(draw(_options(auth_type)))
    if entries:
        record["organizations"] = entries
    if statics:
        record["headers"] = statics
    elif draw(st.booleans()):
        record["headers"] = []
    if draw(st.booleans()):
        record["contentType"] = draw(st.sampled_from(["json", "xml", "form-urlencoded"]))
    if draw(st.booleans()):
        record["label"] = draw(_plain_text)
    if draw(st.booleans()):
        record["environment"] = draw(st.sampled_from(["production", "test"]))
    if base_url is not None:
        record["baseUrl"] = base_url
    elif draw(st.booleans()):
        record["baseUrl"] = draw(
            st.sampled_from(
                ["https://api.example.com", "http://127.0.0.1:8080/v1", "https://example.org/"]
            )
        )
    return record


def _checked_types(auth_types: Sequence[str] | str | None) -> tuple[str, ...]:
    if auth_types is None:
        return AUTH_TYPES
    chosen = (auth_types,) if isinstance(auth_types, str) else tuple(auth_types)
    unknown = [name for name in chosen if name not in AUTH_TYPES]
    if unknown or not chosen:
        raise ValueError(f"auth_types must be some of {AUTH_TYPES}, not {chosen!r}")
    return chosen


# -- invalid records ---------------------------------------------------------------------------

_CONTROL_REASON = "must not contain CR, LF, NUL or other control characters"
_Mutation = Callable[[st.DrawFn, dict[str, Any]], "tuple[str, str] | None"]


def _inject(draw: st.DrawFn, value: str) -> str:
    bad = draw(st.sampled_from(["\r\n", "\n", "\r", "\r\nX-Injected: 1"]))
    at = draw(st.integers(0, len(value)))
    return value[:at] + bad + value[at:]


def _crlf_header(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    headers = data.setdefault("headers", [])
    if not headers:
        taken = _AUTH_HEADERS.get(data["authType"], frozenset()) | _header_names_of(data)
        headers.append({"key": draw(_names(frozenset(taken))), "value": "v"})
    index = draw(st.integers(0, len(headers) - 1))
    headers[index]["value"] = _inject(draw, headers[index]["value"])
    return f"headers[{index}].value", _CONTROL_REASON


def _secret_fields(data: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(path, holder, field) of the record's own secrets and header-placed credentials."""
    found: list[tuple[str, dict[str, Any], str]] = [
        (name, data, name)
        for name in ("password", "token", "secretKey", "sessionToken", "clientSecret")
        if name in data
    ]
    if "apiKey" in data:
        found.append(("apiKey.value", data["apiKey"], "value"))
    for index, placement in enumerate(data.get("apiKeys", ())):
        found.append((f"apiKeys[{index}].value", placement, "value"))
    return found


def _crlf_secret(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    found = _secret_fields(data)
    if not found:
        return None
    path, holder, name = draw(st.sampled_from(found))
    holder[name] = _inject(draw, holder[name])
    return path, _CONTROL_REASON


def _unknown_type(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    data["authType"] = draw(
        st.sampled_from(["OAUTH2", "basic_auth", "", "NTLM", "API-KEY"]) | _token
    )
    if data["authType"] in AUTH_TYPES:
        data["authType"] += "_X"
    return "authType", "unknown auth type"


_REQUIRED = {
    "BASIC_AUTH": [("username", "is required"), ("password", "is required")],
    "BEARER_TOKEN": [("token", "is required")],
    "AWS4": [("region", "Field required"), ("service", "Field required")],
    "HMAC_SHA256": [("clientId", "is required"), ("clientSecret", "is required")],
}


def _missing(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    auth_type = data["authType"]
    data.pop("organizations", None)
    if auth_type == "NO_AUTH":
        del data["authType"]
        return "authType", "is required"
    if auth_type == "API_KEY":
        data.pop("apiKey", None)
        data.pop("apiKeys", None)
        return "apiKey", "is required"
    if auth_type == "AWS4" and "accessKey" in data and draw(st.booleans()):
        del data["secretKey"]
        data.pop("sessionToken", None)
        return "secretKey", "is required when the other key is given"
    choices = _REQUIRED[auth_type]
    index = draw(st.integers(0, len(choices) - 1))
    path, reason = choices[index]
    del data[path]  # required fields are checked in order: the earlier one is still there
    return path, reason


def _too_long(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    options: list[tuple[str, dict[str, Any], str, int, str]] = [
        ("label", data, "label", 257, "at most 256 characters")
    ]
    if "username" in data:
        options.append(("username", data, "username", 257, "at most 256 characters"))
    if "password" in data:
        options.append(("password", data, "password", 513, "must be at most 512 characters"))
    if "token" in data:
        options.append(("token", data, "token", 8193, "must be at most 8192 characters"))
    for index, header in enumerate(data.get("headers", ())):
        options.append((f"headers[{index}].value", header, "value", 8193, "at most 8192"))
    path, holder, name, length, reason = draw(st.sampled_from(options))
    holder[name] = draw(st.sampled_from(["a", "x-Y", "é", "z z"])) * length
    holder[name] = holder[name][:length]
    return path, reason


def _bad_header_name(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    bad = draw(st.sampled_from(["X Header", "X:Y", "Ünïcode", "a\tb", "(comment)", "x/y", "@a"]))
    headers = data.setdefault("headers", [])
    index = draw(st.integers(0, len(headers)))
    headers.insert(index, {"key": bad, "value": "v"})
    return f"headers[{index}].key", "is not a valid header name"


def _bad_base_url(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    data["baseUrl"] = draw(
        st.sampled_from(
            [
                "ftp://api.example.com",
                "file:///etc/passwd",
                "api.example.com",
                "//api.example.com/v1",
                "ws://api.example.com",
                "javascript:alert(1)",
            ]
        )
    )
    return "baseUrl", "must be an absolute http:// or https:// URL"


def _bad_position(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    bad = draw(st.sampled_from(["body", "cookie", "Header", "QUERY", ""]))
    if data["authType"] == "AWS4":
        data["signatureLocation"] = bad
        return "signatureLocation", "Input should be 'header' or 'query'"
    if data["authType"] != "API_KEY":
        return None
    _, holder, _ = draw(st.sampled_from(_secret_fields(data)))
    holder["position"] = bad
    path = next(p for p, h, _ in _secret_fields(data) if h is holder).removesuffix(".value")
    return f"{path}.position", "Input should be 'header' or 'query'"


def _duplicate_header(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    headers = data.get("headers")
    if not headers:
        return None
    original = draw(st.sampled_from(headers))
    key = draw(st.sampled_from([original["key"], original["key"].swapcase()]))
    headers.insert(draw(st.integers(0, len(headers))), {"key": key, "value": "again"})
    return "headers", "is given twice"


def _clashing_header(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, str] | None:
    names = set(_AUTH_HEADERS.get(data["authType"], ())) | _header_names_of(data)
    if not names:
        return None
    name = draw(st.sampled_from(sorted(names)))
    name = draw(st.sampled_from([name, name.upper(), name.title()]))
    headers = data.setdefault("headers", [])
    headers.append({"key": name, "value": "static"})
    return f"headers[{len(headers) - 1}].key", "clashes with a header"


_MUTATIONS: tuple[_Mutation, ...] = (
    _crlf_header,
    _crlf_secret,
    _unknown_type,
    _missing,
    _too_long,
    _bad_header_name,
    _bad_base_url,
    _bad_position,
    _duplicate_header,
    _clashing_header,
)


@st.composite
def _invalid(draw: st.DrawFn, auth_types: Sequence[str], base_url: str | None) -> InvalidRecord:
    data = copy.deepcopy(draw(_mappings(auth_types, base_url, False)))
    mutations = list(_MUTATIONS)
    while True:
        mutation = draw(st.sampled_from(mutations))
        attempt = copy.deepcopy(data)
        outcome = mutation(draw, attempt)
        if outcome is not None:
            return InvalidRecord(attempt, *outcome)
        mutations.remove(mutation)  # does not apply to this record: another one will


# -- public strategies -------------------------------------------------------------------------


@overload
def records(
    auth_types: Sequence[str] | str | None = ...,
    *,
    valid: Literal[True] = ...,
    base_url: str | None = ...,
    organizations: bool = ...,
) -> st.SearchStrategy[Record]: ...


@overload
def records(
    auth_types: Sequence[str] | str | None = ...,
    *,
    valid: Literal[False],
    base_url: str | None = ...,
    organizations: bool = ...,
) -> st.SearchStrategy[InvalidRecord]: ...


def records(
    auth_types: Sequence[str] | str | None = None,
    *,
    valid: bool = True,
    base_url: str | None = None,
    organizations: bool = False,
) -> st.SearchStrategy[Record] | st.SearchStrategy[InvalidRecord]:
    """Parsed records (``valid=True``) or :class:`InvalidRecord` cases (``valid=False``).

    ``auth_types`` limits the auth types (default: all six). ``base_url`` pins
    every record's ``baseUrl`` (default: sometimes none, sometimes one of a few).
    Valid records carry no ``organizations`` unless ``organizations=True``; then
    some hold only per-organization credentials (sign those with ``org=``).
    Each invalid case comes from a valid record (without organizations) with
    one mutation applied.
    """
    chosen = _checked_types(auth_types)
    if not valid:
        return _invalid(chosen, base_url)
    return _mappings(chosen, base_url, organizations).map(parse_record)


# -- requests ----------------------------------------------------------------------------------

_SEGMENT = st.text(
    st.characters(
        exclude_categories=("Cc", "Cs"),
        exclude_characters="/\\%?#\x7f",
    ),
    min_size=1,
    max_size=12,
).filter(lambda segment: segment not in (".", ".."))
_QUERY_TEXT = st.text(
    st.one_of(
        st.sampled_from("&=+?/#;:@,$!'()*[] %~"),
        st.characters(exclude_categories=("Cc", "Cs")),
    ),
    max_size=12,
)
_REQUEST_HEADER_NAMES = _token.filter(
    lambda name: name.lower() not in _FRAMING | _AUTH_SET | _HOP_BY_HOP
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def _query(draw: st.DrawFn) -> list[tuple[str, str | int | float | bool | None]]:
    keys = draw(st.lists(_QUERY_TEXT.filter(bool), min_size=1, max_size=3, unique=True))
    return draw(st.lists(st.tuples(st.sampled_from(keys), _QUERY_TEXT), max_size=6))


@st.composite
def _request(draw: st.DrawFn, base_url: str, methods: Sequence[str], bodies: bool) -> httpx.Request:
    method = draw(st.sampled_from(list(methods)))
    base = httpx.URL(base_url)
    segments = draw(st.lists(_SEGMENT, max_size=4))
    trailing = draw(st.booleans()) and bool(segments)
    path = base.path.rstrip("/") + "".join("/" + segment for segment in segments)
    path += "/" if trailing or not path else ""
    url = base.copy_with(path=path)
    params = draw(_query())
    header_items = draw(st.lists(st.tuples(_REQUEST_HEADER_NAMES, _header_value), max_size=5))
    kwargs: dict[str, Any] = {}
    if bodies and method in BODY_METHODS:
        kind = draw(st.sampled_from(["none", "bytes", "json", "form"]))
        if kind == "bytes":
            kwargs["content"] = draw(st.binary(max_size=64))
        elif kind == "json":
            kwargs["json"] = draw(_JSON)
        elif kind == "form":
            kwargs["data"] = draw(
                st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=4)
            )
    return httpx.Request(method, url, params=params, headers=header_items, **kwargs)


def requests(
    base_url: str = "https://api.example.com",
    *,
    methods: Sequence[str] = METHODS,
    bodies: bool = True,
) -> st.SearchStrategy[httpx.Request]:
    """``httpx.Request`` objects under ``base_url``.

    Unicode path segments (percent-encoded by httpx), query strings with
    reserved characters and repeated keys, extra headers (never framing or
    auth ones), and for POST, PUT and PATCH (when ``bodies``) no body, raw
    bytes, JSON or a form.
    """
    if not methods:
        raise ValueError("methods must name at least one method")
    httpx.URL(base_url)  # fail now on a bad base URL, not while drawing
    return _request(base_url, tuple(method.upper() for method in methods), bodies)
