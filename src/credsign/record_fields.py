"""The field types of credential records: what text each kind of field may hold.

Every rule here exists so that a record ``parse_record`` accepts can be sent:
header fields are visible ASCII (what every client writes), other text has no
control characters and is valid Unicode (a lone surrogate, which JSON's
``"\\ud800"`` produces, cannot be encoded as UTF-8, so it cannot be signed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, Field, PlainSerializer, SecretStr, SerializationInfo

MAX_HEADER_VALUE = 8192
MASK = "**********"

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VISIBLE_ASCII = re.compile(r"[\x20-\x7e\t]*")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_UNICODE = "must be valid Unicode text (no lone surrogates)"


class IssueAt(ValueError):
    """A validation failure that belongs to a sub-field of the validated object."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def header_name(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError("is not a valid header name (RFC 9110 token)")
    return value


def header_value(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain CR, LF, NUL or other control characters")
    if not _VISIBLE_ASCII.fullmatch(value):
        raise ValueError("must be visible ASCII, space or tab")
    if value != value.strip(" \t"):
        raise ValueError("must not start or end with whitespace")
    return value


def no_control(value: str) -> str:
    """Text: no control characters, and encodable as UTF-8 (what every signer sends)."""
    if _CONTROL.search(value):
        raise ValueError("must not contain CR, LF, NUL or other control characters")
    if not value.isascii() and _SURROGATE.search(value):
        raise ValueError(NOT_UNICODE)
    return value


def _secret_check(max_length: int, check: Callable[[str], str]) -> AfterValidator:
    def validate(value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if not secret:
            raise ValueError("must not be empty")
        if len(secret) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        check(secret)
        return value

    return AfterValidator(validate)


def _dump_secret(value: SecretStr, info: SerializationInfo) -> str:
    context = info.context
    if isinstance(context, Mapping) and context.get("reveal_secrets"):
        return value.get_secret_value()
    return MASK


def secret_values(model: BaseModel) -> list[str]:
    """Every secret a record holds (nested models included), read from its field types.

    For masking: a secret field added to a record type is found here without
    being listed anywhere.
    """
    found: list[str] = []
    stack: list[Any] = [model]
    while stack:
        value = stack.pop()
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            stack += [getattr(value, name) for name in type(value).model_fields]
        elif isinstance(value, tuple):
            stack += value
    return found


def _holds_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_holds_secret(argument) for argument in get_args(annotation))


def secret_field_names(model: type[BaseModel]) -> frozenset[str]:
    """The JSON names of ``model``'s own secret fields (not those of nested models)."""
    return frozenset(
        field.alias or name
        for name, field in model.model_fields.items()
        if _holds_secret(field.annotation)
    )


# Secrets are SecretStr: hidden in repr/str/dumps/errors unless revealed explicitly.
_MASKED = PlainSerializer(_dump_secret, return_type=str)
HeaderSecret = Annotated[SecretStr, _secret_check(MAX_HEADER_VALUE, header_value), _MASKED]
TextSecret = Annotated[SecretStr, _secret_check(MAX_HEADER_VALUE, no_control), _MASKED]
Password = Annotated[SecretStr, _secret_check(512, no_control), _MASKED]
HeaderName = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(header_name)]
HeaderValue = Annotated[str, Field(max_length=MAX_HEADER_VALUE), AfterValidator(header_value)]
PlainText = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(no_control)]
AwsName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]


def _keyid(value: str) -> str:
    """An RFC 9421 keyid: an RFC 8941 string, so printable ASCII and no tab."""
    header_value(value)
    if "\t" in value:
        raise ValueError("must not contain tabs (it is the signature's keyid)")
    return value


def _components(components: tuple[str, ...]) -> tuple[str, ...]:
    # Imported here: the signing package imports records, which import this module.
    from credsign.signing.rfc9421_rules import Component, ComponentError

    seen: set[Component] = set()
    for index, text in enumerate(components):
        try:
            component = Component.parse(text)
        except ComponentError as error:
            raise IssueAt(f"[{index}]", str(error)) from None
        if component in seen:
            raise IssueAt(f"[{index}]", "is listed twice")
        seen.add(component)
    return components


KeyId = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_keyid)]
Components = Annotated[
    tuple[str, ...], Field(min_length=1, max_length=32), AfterValidator(_components)
]
