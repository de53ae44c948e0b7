"""``from_botocore`` when botocore's chain found nothing: a clear error at once, not later.

The chain runs for real, in an environment where it can find nothing: no
``AWS_*`` variables, config files that do not exist, and the EC2 metadata
endpoint disabled (``AWS_EC2_METADATA_DISABLED``), so nothing touches the network.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from credsign import CredsignError
from credsign.aws import CredentialsNotFoundError, StaticCredentials, from_botocore

botocore_session = pytest.importorskip("botocore.session")


@pytest.fixture
def empty_aws_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_credentials_from_botocore_fail_when_the_source_is_made(
    empty_aws_environment: None,
) -> None:
    found = botocore_session.Session().get_credentials()
    assert found is None  # the real chain, finding nothing
    with pytest.raises(CredentialsNotFoundError) as caught:
        from_botocore(found)
    assert isinstance(caught.value, CredsignError)
    message = str(caught.value)
    for place in ("AWS_ACCESS_KEY_ID", "~/.aws/credentials", "AWS_EC2_METADATA_DISABLED"):
        assert place in message


def test_a_botocore_session_instead_of_its_credentials_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="get_credentials"):
        from_botocore(botocore_session.Session())
    with pytest.raises(TypeError, match="get_credentials"):
        from_botocore(StaticCredentials)
