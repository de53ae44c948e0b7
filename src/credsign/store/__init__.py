"""The credential store: records of integrations, sealed at rest, feeding live adapters."""

from credsign.extras import require

# Every part of the store encrypts: name the extra that brings cryptography before any part fails.
require("cryptography", "store", "the credential store (credsign.store)")

from credsign.store.api import CredentialStore  # noqa: E402
from credsign.store.crypto import MasterKey  # noqa: E402
from credsign.store.location import StoreLocation, parse_store_location, redact_url  # noqa: E402

__all__ = ["CredentialStore", "MasterKey", "StoreLocation", "parse_store_location", "redact_url"]
