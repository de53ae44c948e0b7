"""The credential store: records of integrations, sealed at rest, feeding live adapters."""

from credsign.store.api import CredentialStore
from credsign.store.crypto import MasterKey
from credsign.store.location import StoreLocation, parse_store_location, redact_url

__all__ = ["CredentialStore", "MasterKey", "StoreLocation", "parse_store_location", "redact_url"]
