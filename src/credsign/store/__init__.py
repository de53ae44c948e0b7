"""The credential store: records of integrations, sealed at rest, feeding live adapters."""

from credsign.store.api import CredentialStore
from credsign.store.crypto import MasterKey

__all__ = ["CredentialStore", "MasterKey"]
