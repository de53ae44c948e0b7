"""Typed, immutable models of the stored credential JSON, and ``parse_record``.

Validation happens here, once, when a record is parsed: signers compiled from a
record trust it and do no checking of their own on the hot path.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, TypeAlias, Union
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from credsign.errors import CredsignError, RecordError
from credsign.record_fields import (
    MASK as MASK,  # re-exported: signers mask with the records' mask
)
from credsign.record_fields import (
    NOT_UNICODE,
    AwsName,
    Components,
    HeaderName,
    HeaderSecret,
    HeaderValue,
    IssueAt,
    KeyId,
    Password,
    PlainText,
    TextSecret,
    header_name,
    header_value,
    no_control,
)
from credsign.record_input import load_record_data
from credsign.scope import base_host_problem, base_path_problem

MAX_STATIC_HEADERS = 64
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

CONTENT_TYPES: Mapping[str, str] = {
    "json": "application/json",
    "xml": "application/xml",
    "form-urlencoded": "application/x-www-form-urlencoded",
}


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
        hide_input_in_errors=True,
    )


class StaticHeader(_Model):
    """A header sent with every request of a record, beside its auth header."""

    key: HeaderName
    value: HeaderValue


class ApiKey(_Model):
    """Where an API key goes: a header or a query parameter, and its secret value."""

    key: Annotated[str, Field(min_length=1, max_length=256), AfterValidator(no_control)]
    value: TextSecret
    position: Literal["header", "query"] = "header"

    @model_validator(mode="after")
    def _check_placement(self) -> ApiKey:
        if self.position == "header":
            for field, check, value in (
                ("key", header_name, self.key),
                ("value", header_value, self.value.get_secret_value()),
            ):
                try:
                    check(value)
                except ValueError as exc:
                    raise IssueAt(field, f"{exc} (position is header)") from None
            if self.key.lower() in _FRAMING_HEADERS:
                raise IssueAt("key", f"{self.key!r} is set by the HTTP client, not a record")
        return self


def _base_url(value: str) -> str:
    no_control(value)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an absolute http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if (problem := base_host_problem(parts.netloc) or base_path_problem(parts.path)) is not None:
        raise ValueError(problem)
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry user information")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    try:
        parts.port  # noqa: B018 - raises on an invalid port
    except ValueError:
        raise ValueError("has an invalid port") from None
    return value


class _RecordBase(_Model):
    """Fields every record may carry, whatever its authType."""

    auth_type: str
    headers: tuple[StaticHeader, ...] = Field(default=(), max_length=MAX_STATIC_HEADERS)
    content_type: Literal["json", "xml", "form-urlencoded"] | None = None
    base_url: Annotated[str, Field(max_length=2048), AfterValidator(_base_url)] | None = None
    label: PlainText | None = None
    environment: Literal["production", "test"] = "production"
    auth_id: PlainText | None = None
    integration_id: PlainText | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    #: Set on an entry of ``organizations``: the organization these credentials are for.
    org_id: PlainText | None = None

    #: The credential fields an ``organizations`` entry carries (none: no organizations).
    ORG_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: The credential fields a usable record (or organization entry) must have.
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    #: Fields an organization entry takes from its record, to be validated with them
    #: (AWS4: region and service, which it requires; HMAC: the secret's encoding).
    INHERITED: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _entries_share_the_auth_type(cls, data: Any) -> Any:
        """Organization entries are written without ``authType`` (and what they inherit)."""
        if isinstance(data, Mapping) and isinstance(data.get("organizations"), list | tuple):
            entries = []
            for index, entry in enumerate(data["organizations"]):
                if isinstance(entry, Mapping):
                    aliases = [cls.model_fields[name].alias or name for name in cls.INHERITED]
                    for alias in aliases:
                        if alias in entry:
                            raise IssueAt(
                                f"organizations[{index}].{alias}",
                                "is shared: set it on the record itself",
                            )
                    inherited = {alias: data[alias] for alias in aliases if alias in data}
                    entry = {**entry, **inherited, "authType": data.get("authType")}
                entries.append(entry)
            data = {**data, "organizations": entries}
        return data

    @model_validator(mode="after")
    def _credentials_complete(self) -> _RecordBase:
        organizations: tuple[_RecordBase, ...] = getattr(self, "organizations", ())
        seen: set[str] = set()
        for index, entry in enumerate(organizations):
            if entry.org_id is None:
                raise IssueAt(f"organizations[{index}].orgId", "is required")
            if entry.org_id in seen:
                raise IssueAt(f"organizations[{index}].orgId", "is given twice")
            seen.add(entry.org_id)
            shared = entry.model_fields_set - {
                "auth_type",
                "org_id",
                *self.ORG_FIELDS,
                *self.INHERITED,
            }
            if shared:
                name = type(self).model_fields[sorted(shared)[0]].alias or sorted(shared)[0]
                raise IssueAt(
                    f"organizations[{index}].{name}", "is shared: set it on the record itself"
                )
        if not organizations:
            for name in self.REQUIRED:
                if getattr(self, name) is None:
                    alias = type(self).model_fields[name].alias or name
                    own = (
                        " (or give organizations)"
                        if self.org_id is None and self.ORG_FIELDS
                        else ""
                    )
                    raise IssueAt(alias, "is required" + own)
        return self

    def has_credentials(self) -> bool:
        return all(getattr(self, name) is not None for name in self.REQUIRED)

    def credential(self, name: str) -> Any:
        """A credential field that must be set (it is optional only beside organizations)."""
        value = getattr(self, name)
        if value is None:
            alias = type(self).model_fields[name].alias or name
            raise CredsignError(f"this record has no {alias} of its own (see organizations)")
        return value

    def for_organization(self, org: str | None) -> Record:
        """The record with ``org``'s credentials in place (``None``: its own).

        Raises :class:`CredsignError` when ``org`` has no credentials here, or
        when the record only holds per-organization ones and no ``org`` is given.
        """
        organizations: tuple[_RecordBase, ...] = getattr(self, "organizations", ())
        if org is None:
            if organizations and not self.has_credentials():
                raise CredsignError(
                    f"this {self.auth_type} record holds credentials per organization: "
                    "say which with org=..."
                )
            return self  # type: ignore[return-value]
        entry = next((e for e in organizations if e.org_id == org), None)
        if entry is None:
            known = sorted(str(e.org_id) for e in organizations)
            raise CredsignError(f"no credentials for organization {org!r} (has {known})")
        update: dict[str, Any] = {name: getattr(entry, name) for name in self.ORG_FIELDS}
        return self.model_copy(update={**update, "organizations": ()})  # type: ignore[return-value]

    @field_validator("headers")
    @classmethod
    def _distinct_headers(cls, headers: tuple[StaticHeader, ...]) -> tuple[StaticHeader, ...]:
        seen: set[str] = set()
        for header in headers:
            name = header.key.lower()
            if name in seen:
                raise ValueError(f"header {header.key!r} is given twice")
            if name in _FRAMING_HEADERS:
                raise ValueError(f"header {header.key!r} is set by the HTTP client, not a record")
            seen.add(name)
        return headers

    @model_validator(mode="after")
    def _no_clash_with_auth_header(self) -> _RecordBase:
        for index, header in enumerate(self.headers):
            if header.key.lower() in self.auth_header_names():
                raise IssueAt(
                    f"headers[{index}].key", f"clashes with a header {self.auth_type} sets"
                )
        return self

    def auth_header_names(self) -> frozenset[str]:
        """Lower-cased names of the headers this record's auth type sets (static ones may not)."""
        return frozenset()

    @staticmethod
    def _dump_entries(entries: Any, handler: Any) -> Any:
        return [
            {key: value for key, value in entry.items() if key not in _WRITTEN_ON_THE_RECORD}
            for entry in handler(entries)
        ]

    def to_dict(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        """The record as its JSON mapping; secrets masked unless ``reveal_secrets``."""
        return self.model_dump(
            mode="json",
            by_alias=True,
            exclude_unset=True,
            exclude_none=True,
            context={"reveal_secrets": reveal_secrets},
        )

    def to_json(self, *, reveal_secrets: bool = False) -> str:
        """The record as JSON text; secrets masked unless ``reveal_secrets``."""
        return json.dumps(self.to_dict(reveal_secrets=reveal_secrets), separators=(",", ":"))


#: What an organization entry is written without: it has the record's.
_WRITTEN_ON_THE_RECORD = frozenset({"authType", "region", "service", "secretEncoding"})
_AUTHORIZATION = frozenset({"authorization"})
_AWS4_HEADERS = frozenset(
    {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
)
_HMAC_HEADERS = frozenset({"signature", "signature-input", "content-digest"})


class NoAuthRecord(_RecordBase):
    """No credential: only the static headers, contentType and scope."""

    auth_type: Literal["NO_AUTH"]


class BasicAuthRecord(_RecordBase):
    """HTTP Basic (RFC 7617): ``Authorization: Basic base64(username:password)``."""

    auth_type: Literal["BASIC_AUTH"]
    username: (
        Annotated[str, Field(min_length=1, max_length=256), AfterValidator(no_control)] | None
    ) = None
    password: Password | None = None
    organizations: tuple[BasicAuthRecord, ...] = ()
    ORG_FIELDS = REQUIRED = ("username", "password")
    _entries = field_serializer("organizations", mode="wrap")(_RecordBase._dump_entries)

    def auth_header_names(self) -> frozenset[str]:
        return _AUTHORIZATION

    @field_validator("username")
    @classmethod
    def _no_colon(cls, username: str | None) -> str | None:
        if username is not None and ":" in username:
            raise ValueError("must not contain ':' (RFC 7617)")
        return username


class BearerTokenRecord(_RecordBase):
    """A bearer token (RFC 6750): ``Authorization: Bearer <token>``."""

    auth_type: Literal["BEARER_TOKEN"]
    token: HeaderSecret | None = None
    organizations: tuple[BearerTokenRecord, ...] = ()
    ORG_FIELDS = REQUIRED = ("token",)
    _entries = field_serializer("organizations", mode="wrap")(_RecordBase._dump_entries)

    def auth_header_names(self) -> frozenset[str]:
        return _AUTHORIZATION


class ApiKeyRecord(_RecordBase):
    """One or more API keys: ``apiKey``, and/or ``apiKeys`` for providers that take several
    (Datadog: ``DD-API-KEY`` and ``DD-APPLICATION-KEY``)."""

    auth_type: Literal["API_KEY"]
    api_key: ApiKey | None = None
    api_keys: Annotated[tuple[ApiKey, ...], Field(max_length=16)] = ()
    organizations: tuple[ApiKeyRecord, ...] = ()
    ORG_FIELDS = ("api_key", "api_keys")
    _entries = field_serializer("organizations", mode="wrap")(_RecordBase._dump_entries)

    def has_credentials(self) -> bool:
        return bool(self.placements())

    @model_validator(mode="after")
    def _placements_distinct(self) -> ApiKeyRecord:
        if not self.placements() and not self.organizations:
            raise IssueAt("apiKey", "is required (or apiKeys, or organizations)")
        seen: set[tuple[str, str]] = set()
        for placement in self.placements():
            name = placement.key.lower() if placement.position == "header" else placement.key
            if (placement.position, name) in seen:
                raise IssueAt("apiKeys", f"{placement.position} {placement.key!r} is given twice")
            seen.add((placement.position, name))
        return self

    def placements(self) -> tuple[ApiKey, ...]:
        """Every key of the record: ``apiKey`` first, then ``apiKeys``."""
        return ((self.api_key,) if self.api_key is not None else ()) + self.api_keys

    def auth_header_names(self) -> frozenset[str]:
        return frozenset(p.key.lower() for p in self.placements() if p.position == "header")


class Aws4Record(_RecordBase):
    """AWS Signature Version 4.

    ``accessKey``/``secretKey`` may both be left out when the signer is given a
    credential source instead (see ``credsign.aws``).
    """

    auth_type: Literal["AWS4"]
    access_key: (
        Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9]+$")] | None
    ) = None
    secret_key: TextSecret | None = None
    session_token: HeaderSecret | None = None
    region: AwsName
    service: AwsName
    organizations: tuple[Aws4Record, ...] = ()
    ORG_FIELDS = ("access_key", "secret_key", "session_token")
    INHERITED = ("region", "service")
    _entries = field_serializer("organizations", mode="wrap")(_RecordBase._dump_entries)
    signature_location: Literal["header", "query"] = "header"
    expires_in: Annotated[int, Field(ge=1, le=604800, strict=True)] = 3600
    payload: Literal["signed", "unsigned"] = "signed"

    @model_validator(mode="after")
    def _keys_together(self) -> Aws4Record:
        if (self.access_key is None) != (self.secret_key is None):
            missing = "secretKey" if self.secret_key is None else "accessKey"
            raise IssueAt(missing, "is required when the other key is given")
        if self.session_token is not None and self.access_key is None:
            raise IssueAt("sessionToken", "needs accessKey and secretKey")
        if self.payload == "unsigned" and self.signature_location == "query":
            raise IssueAt(
                "payload",
                "'unsigned' needs signatureLocation 'header': a presigned URL cannot declare it "
                "(presigned S3 URLs are always unsigned)",
            )
        return self

    def auth_header_names(self) -> frozenset[str]:
        return _AWS4_HEADERS


class HmacSha256Record(_RecordBase):
    """RFC 9421 HTTP Message Signatures with ``hmac-sha256``; ``keyid`` is the client id.

    ``signatureLabel`` is the signature's label (``sig1``): the record's own
    ``label`` stays the human-readable one every record has.
    """

    auth_type: Literal["HMAC_SHA256"]
    client_id: KeyId | None = None
    client_secret: TextSecret | None = None
    organizations: tuple[HmacSha256Record, ...] = ()
    ORG_FIELDS = REQUIRED = ("client_id", "client_secret")
    INHERITED = ("secret_encoding",)
    _entries = field_serializer("organizations", mode="wrap")(_RecordBase._dump_entries)
    secret_encoding: Literal["utf-8", "base64"] = "utf-8"
    components: Components | None = None
    signature_label: Annotated[str, Field(max_length=64, pattern=r"^[a-z*][a-z0-9_\-.*]*$")] = (
        "sig1"
    )
    include_alg: Annotated[bool, Field(strict=True)] = True
    expires_in: Annotated[int, Field(ge=1, le=86400, strict=True)] | None = None
    nonce: Annotated[bool, Field(strict=True)] = False
    digest: Literal["sha-256", "sha-512"] = "sha-256"

    @model_validator(mode="after")
    def _secret_decodes(self) -> HmacSha256Record:
        if self.secret_encoding == "base64" and self.client_secret is not None:
            try:
                key = base64.b64decode(self.client_secret.get_secret_value(), validate=True)
            except ValueError:
                raise IssueAt("clientSecret", "is not valid base64 (secretEncoding)") from None
            if not key:
                raise IssueAt("clientSecret", "decodes to no bytes")
        return self

    def secret_bytes(self) -> bytes:
        """The HMAC key: the secret's UTF-8 bytes, or its base64-decoded bytes."""
        secret: str = self.credential("client_secret").get_secret_value()
        return base64.b64decode(secret) if self.secret_encoding == "base64" else secret.encode()

    def auth_header_names(self) -> frozenset[str]:
        return _HMAC_HEADERS


Record: TypeAlias = Union[  # noqa: UP007 - a runtime alias, kept readable on Python 3.10
    NoAuthRecord, BasicAuthRecord, BearerTokenRecord, ApiKeyRecord, Aws4Record, HmacSha256Record
]

RECORD_TYPES: Mapping[str, type[_RecordBase]] = {
    "NO_AUTH": NoAuthRecord,
    "BASIC_AUTH": BasicAuthRecord,
    "BEARER_TOKEN": BearerTokenRecord,
    "API_KEY": ApiKeyRecord,
    "AWS4": Aws4Record,
    "HMAC_SHA256": HmacSha256Record,
}


def _path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{to_camel(part)}" if path else to_camel(part)
    return path or "record"


def _issue(error: ErrorDetails) -> tuple[str, str]:
    path = _path(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, IssueAt):
        if path == "record":
            return cause.path, cause.reason
        joiner = "" if cause.path.startswith("[") else "."
        return f"{path}{joiner}{cause.path}", cause.reason
    if error["type"] == "string_unicode":  # pydantic's words for a lone surrogate
        return path, NOT_UNICODE
    return path, error["msg"].removeprefix("Value error, ")


def parse_record(data: Mapping[str, Any] | str | bytes | bytearray) -> Record:
    """Validate a credential record (a mapping, or JSON text) into an immutable model.

    Every failure raises :class:`RecordError` naming the field path and the reason.
    """
    mapping = load_record_data(data)
    auth_type = mapping.get("authType")
    if auth_type is None:
        raise RecordError([("authType", "is required")])
    model = RECORD_TYPES.get(auth_type) if isinstance(auth_type, str) else None
    if model is None:
        shown = auth_type if isinstance(auth_type, str) and len(auth_type) <= 40 else "?"
        expected = ", ".join(RECORD_TYPES)
        raise RecordError([("authType", f"unknown auth type {shown!r} (expected {expected})")])
    try:
        return model.model_validate(mapping, by_alias=True, by_name=False)  # type: ignore[return-value]
    except ValidationError as exc:
        issues = [_issue(error) for error in exc.errors()]
    # Raised here, not in the except block: its __context__ would keep the input.
    raise RecordError(issues)
