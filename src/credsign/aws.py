"""AWS Signature Version 4: the signer and the credential sources it can take.

``compile_signer(record)`` signs with the keys in an ``AWS4`` record. To sign
with keys that rotate (botocore's default chain: environment, profile, IMDS,
assume-role...), give the signer a source instead (off EC2, set
``AWS_EC2_METADATA_DISABLED=true``, or a chain that finds nothing first waits
for the metadata endpoint to time out)::

    import botocore.session
    from credsign.aws import Sigv4Signer, from_botocore

    source = from_botocore(botocore.session.get_session().get_credentials())
    auth = credsign.HttpxAuth(Sigv4Signer(record, credentials=source))
"""

from credsign.signing.aws_credentials import (
    AwsCredentials,
    AwsCredentialSource,
    CredentialsExpiredError,
    CredentialsNotFoundError,
    RefreshingCredentials,
    StaticCredentials,
    from_botocore,
)
from credsign.signing.sigv4 import Sigv4Explanation, Sigv4Signer

__all__ = [
    "AwsCredentialSource",
    "AwsCredentials",
    "CredentialsExpiredError",
    "CredentialsNotFoundError",
    "RefreshingCredentials",
    "Sigv4Explanation",
    "Sigv4Signer",
    "StaticCredentials",
    "from_botocore",
]
