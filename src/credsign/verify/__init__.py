"""Server-side verifiers of the signatures credsign's signers produce."""

from credsign.verify.sigv4 import SignatureError, Sigv4Verification, verify_sigv4

__all__ = ["SignatureError", "Sigv4Verification", "verify_sigv4"]
