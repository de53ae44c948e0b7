"""The provider catalog: where each API provider wants its credentials, and how to probe them.

The built-in entries live in ``catalog.json`` beside this module (package data);
:func:`register_provider` adds a process's own. Entries hold no secrets.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from credsign.errors import RecordError, StoreValidationError
from credsign.records import _path, parse_record

API_KEY = "api_key"
_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_FIELD = r"^[a-z][a-z0-9_]{0,63}$"
_METHOD = r"^[A-Z]{1,16}$"
_PLACEHOLDER = "{value}"


FieldName = Annotated[str, Field(pattern=_FIELD)]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        hide_input_in_errors=True,
    )


class Placement(_Model):
    """Where one credential field goes: ``template`` with ``{value}`` replaced by the field."""

    field: FieldName
    position: Literal["header", "query"] = "header"
    name: Annotated[str, Field(min_length=1, max_length=256)]
    template: Annotated[str, Field(min_length=len(_PLACEHOLDER), max_length=256)] = _PLACEHOLDER

    @model_validator(mode="after")
    def _one_placeholder(self) -> Placement:
        if self.template.count(_PLACEHOLDER) != 1:
            raise ValueError("template must contain '{value}' exactly once")
        if "{" in self.template.replace(_PLACEHOLDER, "") or "}" in self.template.replace(
            _PLACEHOLDER, ""
        ):
            raise ValueError("template may contain no braces besides '{value}'")
        return self

    def render(self, value: str) -> str:
        return self.template.replace(_PLACEHOLDER, value)


class StaticHeader(_Model):
    key: Annotated[str, Field(min_length=1, max_length=256)]
    value: Annotated[str, Field(max_length=8192)]


class Probe(_Model):
    """A cheap authenticated request: 2xx means the credentials work."""

    method: Annotated[str, Field(pattern=_METHOD)] = "GET"
    path: Annotated[str, Field(pattern=r"^/[^\s?#]*$", max_length=1024)]
    body: dict[str, Any] | None = None


class Provider(_Model):
    """One catalog entry."""

    name: Annotated[str, Field(pattern=_NAME)]
    title: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    auth_type: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")] = API_KEY
    required_fields: Annotated[tuple[FieldName, ...], Field(max_length=16)]
    placements: Annotated[tuple[Placement, ...], Field(max_length=16)] = ()
    headers: Annotated[tuple[StaticHeader, ...], Field(max_length=64)] = ()
    base_url: Annotated[str, Field(max_length=2048)]
    probe: Probe | None = None
    docs: Annotated[str, Field(pattern=r"^https://\S+$", max_length=2048)]
    notes: Annotated[str, Field(max_length=2048)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Provider:
        if len(set(self.required_fields)) != len(self.required_fields):
            raise ValueError("requiredFields lists a field twice")
        if self.auth_type != API_KEY:
            return self  # registrable, but store_credentials refuses it
        if not self.required_fields:
            raise ValueError("requiredFields must not be empty")
        if not self.placements:
            raise ValueError("placements must not be empty")
        used = {placement.field for placement in self.placements}
        unknown = sorted(used - set(self.required_fields))
        if unknown:
            raise ValueError(f"placements use fields not in requiredFields: {unknown}")
        unused = sorted(set(self.required_fields) - used)
        if unused:
            raise ValueError(f"requiredFields not placed anywhere: {unused}")
        # The record checks the rest (header names, clashes, baseUrl) exactly as it will
        # when credentials are stored: try it with a harmless placeholder value.
        try:
            parse_record(self.record_body({field: "x" for field in self.required_fields}))
        except RecordError as error:
            detail = "; ".join(f"{path}: {reason}" for path, reason in error.issues)
            raise ValueError(f"does not make a valid API_KEY record ({detail})") from None
        return self

    def record_body(
        self,
        credentials: Mapping[str, str],
        *,
        label: str | None = None,
        base_url: str | None = None,
    ) -> dict[str, Any]:
        """The ``API_KEY`` record JSON for ``credentials`` (not validated here)."""
        body: dict[str, Any] = {
            "authType": "API_KEY",
            "apiKeys": [
                {
                    "key": placement.name,
                    "value": placement.render(credentials[placement.field]),
                    "position": placement.position,
                }
                for placement in self.placements
            ],
            "baseUrl": base_url or self.base_url,
        }
        if self.headers:
            body["headers"] = [{"key": h.key, "value": h.value} for h in self.headers]
        if label is not None:
            body["label"] = label
        return body

    def to_dict(self) -> dict[str, Any]:
        """The entry as catalog JSON (it holds no secrets)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


_lock = threading.Lock()
_builtin: dict[str, Provider] | None = None
_registered: dict[str, Provider] = {}


def _invalid(error: ValidationError, prefix: str = "") -> StoreValidationError:
    issues = []
    for detail in error.errors():
        path = _path(tuple(detail["loc"]))
        issues.append(f"{prefix}{path}: {detail['msg'].removeprefix('Value error, ')}")
    return StoreValidationError("invalid provider: " + "; ".join(issues))


def _parse(entry: Provider | Mapping[str, Any]) -> Provider:
    if isinstance(entry, Provider):
        return entry
    if not isinstance(entry, Mapping):
        raise StoreValidationError("invalid provider: expected a mapping or a Provider")
    try:
        return Provider.model_validate(dict(entry))
    except ValidationError as error:
        raise _invalid(error) from None


def _load_builtin() -> dict[str, Provider]:
    global _builtin
    if _builtin is None:
        text = resources.files(__package__).joinpath("catalog.json").read_text("utf-8")
        entries = json.loads(text)["providers"]
        loaded = {}
        for entry in entries:
            provider = _parse(entry)
            loaded[provider.name] = provider
        _builtin = loaded
    return _builtin


def _all() -> dict[str, Provider]:
    with _lock:
        return _load_builtin() | _registered


def register_provider(entry: Provider | Mapping[str, Any], *, replace: bool = False) -> Provider:
    """Add a provider (catalog JSON, or a :class:`Provider`) for this process; return it.

    An invalid entry, or a name already taken without ``replace=True``, raises
    :class:`~credsign.StoreValidationError` (code ``validation_error``).
    """
    provider = _parse(entry)
    with _lock:
        taken = provider.name in _registered or provider.name in _load_builtin()
        if taken and not replace:
            raise StoreValidationError(
                f"provider {provider.name!r} exists already (register with replace=True)"
            )
        _registered[provider.name] = provider
    return provider


def unregister_provider(name: str) -> None:
    """Remove a provider added by :func:`register_provider` (built-in entries come back)."""
    with _lock:
        if _registered.pop(name, None) is None:
            raise StoreValidationError(f"provider {name!r} was not registered")


def get_provider(name: str) -> Provider:
    """The provider called ``name``; an unknown one raises StoreValidationError."""
    provider = _all().get(name) if isinstance(name, str) else None
    if provider is None:
        shown = name if isinstance(name, str) and re.fullmatch(_NAME, name) else "?"
        known = ", ".join(sorted(_all()))
        raise StoreValidationError(f"unknown provider {shown!r} (known: {known})")
    return provider


def list_providers() -> list[Provider]:
    """Every provider, built-in and registered, by name."""
    return [provider for _, provider in sorted(_all().items())]
