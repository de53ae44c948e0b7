"""``store_credentials``: a provider's credentials in, a validated API_KEY record stored."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from credsign.adapters.httpx import HttpxAuth
from credsign.errors import CredsignError, RecordError, StoreError, StoreValidationError
from credsign.providers.catalog import API_KEY, Probe, Provider, get_provider
from credsign.records import ApiKeyRecord, parse_record

if TYPE_CHECKING:
    from credsign.store import CredentialStore

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CREDENTIAL_ID = re.compile(r"^crd_[0-9A-HJKMNP-TV-Z]{26}$")
_PLACEMENT_INDEX = re.compile(r"^apiKeys\[(\d+)\]")


class CredentialValidationError(StoreError):
    """The provider refused the credentials (HTTP 401 or 403 to the probe); nothing was stored."""

    code = "credential_validation_failed"

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


def new_credential_id() -> str:
    """``crd_`` + a ULID: 48 bits of milliseconds and 80 random bits, Crockford base32."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(CROCKFORD[digit])
    return "crd_" + "".join(reversed(chars))


def _provider(provider: Provider | str) -> Provider:
    if isinstance(provider, Provider):
        return provider
    if not isinstance(provider, str):
        raise StoreValidationError("provider must be a provider name")
    return get_provider(provider)


def _check_fields(provider: Provider, credentials: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(credentials, Mapping):
        raise StoreValidationError("credentials must be a mapping of field name to value")
    required = list(provider.required_fields)
    missing = [name for name in required if name not in credentials]
    unknown = sorted(str(name) for name in credentials if name not in required)
    problems = []
    if missing:
        problems.append(f"missing credential fields {missing}")
    if unknown:
        problems.append(f"unknown credential fields {unknown}")
    not_text = [name for name in required if not isinstance(credentials.get(name, ""), str)]
    if not_text:
        problems.append(f"credential fields {not_text} must be strings")
    if problems:
        problems.append(f"{provider.name} takes {required}")
        raise StoreValidationError("; ".join(problems))
    return {name: credentials[name] for name in required}


def build_record(
    provider: Provider | str,
    credentials: Mapping[str, Any],
    label: str | None = None,
    *,
    base_url: str | None = None,
) -> ApiKeyRecord:
    """The API_KEY record for ``credentials`` placed as ``provider`` documents; not stored.

    Missing, unknown or invalid fields raise StoreValidationError naming the field,
    never its value.
    """
    spec = _provider(provider)
    if spec.auth_type != API_KEY:
        raise StoreValidationError(
            f"provider {spec.name!r} uses authType {spec.auth_type!r}; only "
            f"{API_KEY!r} providers can store credentials"
        )
    values = _check_fields(spec, credentials)
    body = spec.record_body(values, label=label, base_url=base_url)
    try:
        record = parse_record(body)
    except RecordError as error:
        raise StoreValidationError("; ".join(_describe(spec, error))) from None
    if not isinstance(record, ApiKeyRecord):  # pragma: no cover - record_body makes API_KEY
        raise StoreValidationError(f"provider {spec.name!r} does not make an API_KEY record")
    return record


def _describe(provider: Provider, error: RecordError) -> list[str]:
    """RecordError issues in the caller's terms: credential field names, base_url, label."""
    described = []
    for path, reason in error.issues:
        index = _PLACEMENT_INDEX.match(path)
        if index is not None and int(index.group(1)) < len(provider.placements):
            field = provider.placements[int(index.group(1))].field
            described.append(f"credential field {field!r}: {reason}")
        elif path == "baseUrl":
            described.append(f"base_url: {reason}")
        else:
            described.append(f"{path}: {reason}")
    return described


def _probe_url(base_url: str, probe: Probe) -> str:
    return base_url.rstrip("/") + probe.path


def validate_record(
    record: ApiKeyRecord, probe: Probe, *, timeout: float = 5.0
) -> tuple[str, str | None]:
    """Send ``probe`` signed with ``record`` to its baseUrl: ``(status, reason)``.

    2xx gives ``("validated", None)``; 401/403 raise CredentialValidationError;
    anything else (network failure, timeout, another status) ``("unverified", reason)``.
    """
    if record.base_url is None:
        raise StoreValidationError("the record has no baseUrl to probe")
    url = _probe_url(record.base_url, probe)
    what = f"probe {probe.method} {probe.path}"
    try:
        with httpx.Client(auth=HttpxAuth(record), timeout=timeout) as client:
            # A record's static headers never override one already on the request, and
            # httpx adds defaults (Accept: */*): drop those the record sets itself.
            for header in record.headers:
                client.headers.pop(header.key, None)
            response = client.request(probe.method, url, json=probe.body)
    except httpx.TimeoutException:
        return "unverified", f"{what} timed out after {timeout:g} s"
    except httpx.TransportError as error:
        return "unverified", f"{what} failed: {type(error).__name__} (could not reach the provider)"
    except CredsignError as error:  # e.g. a scope refusal: never sent
        return "unverified", f"{what} was not sent: {type(error).__name__}"
    status = response.status_code
    if 200 <= status < 300:
        return "validated", None
    if status in (401, 403):
        raise CredentialValidationError(
            f"the provider refused the credentials: {what} answered HTTP {status}; "
            "nothing was stored",
            status,
        )
    return "unverified", f"{what} answered HTTP {status}"


def store_credentials(
    store: CredentialStore,
    provider: Provider | str,
    credentials: Mapping[str, Any],
    label: str | None = None,
    *,
    validate: bool = True,
    base_url: str | None = None,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """Store ``credentials`` for ``provider`` as an API_KEY record; return a summary.

    The record is stored with integration id = the provider's name and auth id =
    the returned ``credentialId`` (``crd_`` + ULID), so ``store.get``, ``update``,
    ``delete`` and ``httpx_auth(provider, credentialId)`` work with it.

    With ``validate`` and a probe in the catalog, the probe is sent first, signed
    by credsign itself, to ``base_url`` (default: the provider's): 2xx stores it
    ``validated``; 401/403 stores nothing and raises CredentialValidationError;
    a network failure, timeout or other status stores it ``unverified`` with a
    ``reason``. Without validation or a probe it is ``unverified``.
    """
    spec = _provider(provider)
    record = build_record(spec, credentials, label, base_url=base_url)
    status, reason = "unverified", None
    if not validate:
        reason = "validation skipped"
    elif spec.probe is None:
        reason = f"{spec.name} has no probe in the catalog"
    else:
        status, reason = validate_record(record, spec.probe, timeout=timeout)
    credential_id = new_credential_id()
    view = store.create(spec.name, record.to_dict(reveal_secrets=True), auth_id=credential_id)
    result: dict[str, Any] = {
        "credentialId": credential_id,
        "provider": spec.name,
        "label": label,
        "status": status,
        "createdAt": view["createdAt"],
    }
    if reason is not None:
        result["reason"] = reason
    return result
