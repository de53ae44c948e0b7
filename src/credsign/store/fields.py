"""A record's JSON as the store keeps it: public fields in clear, secret fields sealed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credsign.errors import NotFoundError, StoreValidationError
from credsign.record_fields import secret_field_names
from credsign.records import RECORD_TYPES

#: Secret fields (top level), as the record types define them; ``apiKey.value`` is nested.
SECRET_FIELDS = sorted(set().union(*(secret_field_names(model) for model in RECORD_TYPES.values())))
METADATA_FIELDS = ("authId", "integrationId", "createdAt", "updatedAt")
VIEW_FIELDS = ("label", "baseUrl", "contentType", "environment")


def check_id(name: str, value: object) -> str:
    """An integration or auth id: 1-200 printable characters (no surrogates, controls, NUL)."""
    if not isinstance(value, str) or not 0 < len(value) <= 200 or not value.isprintable():
        raise StoreValidationError(f"{name} must be 1-200 printable characters")
    return value


def _aliases(model: Any) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


_COMMON_FIELDS = set.intersection(*(_aliases(model) for model in RECORD_TYPES.values()))
#: The credential fields each authType has beyond what every record has.
CREDENTIAL_FIELDS = {
    auth_type: _aliases(model) - _COMMON_FIELDS for auth_type, model in RECORD_TYPES.items()
}
ALL_CREDENTIAL_FIELDS = set().union(*CREDENTIAL_FIELDS.values())


def split_record(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record's JSON as (public part, secret part); metadata dropped (it has columns)."""
    public = {key: value for key, value in data.items() if key not in METADATA_FIELDS}
    secret = {key: public.pop(key) for key in SECRET_FIELDS if key in public}
    if "apiKey" in public:
        api_key = dict(public["apiKey"])
        secret["apiKey"] = {"value": api_key.pop("value")}
        public["apiKey"] = api_key
    if "apiKeys" in public:
        placements = [dict(placement) for placement in public["apiKeys"]]
        secret["apiKeys"] = [{"value": placement.pop("value")} for placement in placements]
        public["apiKeys"] = placements
    if "organizations" in public:  # each entry split the same way, aligned by position
        parts = [split_record(entry) for entry in public["organizations"]]
        public["organizations"] = [entry_public for entry_public, _ in parts]
        secret["organizations"] = [entry_secret for _, entry_secret in parts]
    return public, secret


def join_record(public: Mapping[str, Any], secret: Mapping[str, Any]) -> dict[str, Any]:
    nested = ("apiKey", "apiKeys", "organizations")
    data = dict(public) | {key: value for key, value in secret.items() if key not in nested}
    if "apiKey" in secret:
        data["apiKey"] = dict(public["apiKey"]) | secret["apiKey"]
    if "apiKeys" in secret:
        data["apiKeys"] = [
            dict(placement) | value
            for placement, value in zip(public["apiKeys"], secret["apiKeys"], strict=True)
        ]
    if "organizations" in secret:
        data["organizations"] = [
            join_record(entry_public, entry_secret)
            for entry_public, entry_secret in zip(
                public["organizations"], secret["organizations"], strict=True
            )
        ]
    return data


def organizations_patched(
    current: list[dict[str, Any]], patch: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``{"acme": {...}}`` adds or replaces acme's set, ``{"acme": null}`` removes it."""
    by_org = {entry["orgId"]: entry for entry in current}
    for org, entry in patch.items():
        if entry is None:
            if by_org.pop(org, None) is None:
                raise NotFoundError(f"no credentials for organization {org!r} to remove")
        elif isinstance(entry, Mapping):
            by_org[org] = {**entry, "orgId": org}
        else:
            raise StoreValidationError(f"organizations.{org} must be an object or null")
    return list(by_org.values())
