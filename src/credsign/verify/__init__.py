"""Server-side verifiers of the signatures credsign's signers produce."""

from credsign.errors import SignatureError
from credsign.verify.rfc9421 import (
    DEFAULT_REQUIRED,
    InMemoryNonceStore,
    NonceStore,
    Rfc9421Verification,
    Rfc9421Verifier,
)
from credsign.verify.sigv4 import Sigv4Verification, verify_sigv4

__all__ = [
    "DEFAULT_REQUIRED",
    "InMemoryNonceStore",
    "NonceStore",
    "Rfc9421Verification",
    "Rfc9421Verifier",
    "SignatureError",
    "Sigv4Verification",
    "verify_sigv4",
]
