"""Provider catalog and ``store_credentials``: credentials in, a validated record stored.

``store_credentials(store, "datadog", {"api_key": ..., "application_key": ...})``
places each field where the provider documents it (``catalog.json``), probes the
provider once through credsign's own signer and stores an ``API_KEY`` record
under integration id ``datadog`` and auth id ``crd_<ULID>``.
"""

from credsign.providers.catalog import (
    Placement,
    Probe,
    Provider,
    get_provider,
    list_providers,
    register_provider,
    unregister_provider,
)
from credsign.providers.credentials import (
    CREDENTIAL_ID,
    CredentialValidationError,
    build_record,
    new_credential_id,
    store_credentials,
    validate_record,
)

__all__ = [
    "CREDENTIAL_ID",
    "CredentialValidationError",
    "Placement",
    "Probe",
    "Provider",
    "build_record",
    "get_provider",
    "list_providers",
    "new_credential_id",
    "register_provider",
    "store_credentials",
    "unregister_provider",
    "validate_record",
]
