"""AWS Signature Version 4: the signer and the credential sources it can take.

``compile_signer(record)`` signs with the keys in an ``AWS4`` record. To sign
with keys that rotate (botocore's default chain: environment, profile, IMDS,
assume-role...), give the signer a source instead::

    import botocore.session
    from credsign.aws import Sigv4Signer, from_botocore

    source = from_botocore(botocore.session.get_session().get_credentials())
    auth = credsign.HttpxAuth(Sigv4Signer(record, credentials=source))
"""

from credsign.signing.aws_credentials import (
    AwsCredentials,
    AwsCredentialSource,
    CredentialsExpiredError,
    RefreshingCredentials,
    StaticCredentials,
    from_botocore,
)
from credsign.signing.sigv4 import Sigv4Explanation, Sigv4Signer

__all__ = [
    "AwsCredentialSource",
    "AwsCredentials",
    "CredentialsExpiredError",
    "RefreshingCredentials",
    "Sigv4Explanation",
    "Sigv4Signer",
    "StaticCredentials",
    "from_botocore",
]
