"""Issue 11, item 5: ``credsign sign --explain`` prints what the signature covers, masked."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from tests.test_cli import Cli, cmd

pytest.importorskip("cryptography")

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "cli-session/token+1=="
AWS4 = {
    "authType": "AWS4",
    "accessKey": "AKIDEXAMPLE",
    "secretKey": SECRET,
    "sessionToken": TOKEN,
    "region": "us-east-1",
    "service": "execute-api",
    "label": "Orders API",
}
HMAC = {"authType": "HMAC_SHA256", "clientId": "cli-client", "clientSecret": "hmac-SECRET-9"}
BEARER = {"authType": "BEARER_TOKEN", "token": "tok-bearer-SECRET-8"}


def section(text: str, title: str) -> str:
    return text.split(f"== {title} ==\n", 1)[1].split("\n== ", 1)[0]


def test_sign_explain(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    [aws] = cli.create(AWS4)
    hmac_id, bearer = cli.create(HMAC, BEARER)
    url = "https://abc.execute-api.us-east-1.amazonaws.com/prod/a/../items?b=2&a=1"
    aws_masked, aws_shown, hmac_masked, hmac_shown, refused = cli.all(
        cmd("sign", "crm", aws, "POST", url, "-d", "{}", "--explain"),
        cmd("sign", "crm", aws, "POST", url, "-d", "{}", "--explain", "--reveal"),
        cmd("sign", "crm", hmac_id, "GET", url, "-H", "X-One: 1", "--explain"),
        cmd("sign", "crm", hmac_id, "GET", url, "--explain", "--reveal"),
        cmd("sign", "crm", bearer, "GET", url, "--explain"),
    )
    for result in (aws_masked, aws_shown, hmac_masked, hmac_shown):
        assert result.code == 0, result

    out = aws_masked.out
    assert out.startswith(f"AWS4 signature, record 'Orders API' ({aws}):\n")
    canonical = section(out, "canonical request")
    assert canonical.startswith("POST\n/prod/items\na=1&b=2\n")
    assert "\nx-amz-security-token:**********\n" in canonical
    assert section(out, "string to sign").startswith("AWS4-HMAC-SHA256\n")
    assert section(out, "signature") == "**********"
    for secret in (SECRET, TOKEN, "tok-bearer-SECRET-8"):
        assert secret not in out
    shown = aws_shown.out
    assert f"\nx-amz-security-token:{TOKEN}\n" in section(shown, "canonical request")
    signature = section(shown, "signature")
    assert f"Signature={signature}" in section(shown, "headers set")

    out = hmac_masked.out
    assert out.startswith(f"HMAC_SHA256 signature, record (no label) ({hmac_id}):\n")
    assert section(out, "covered components") == '"@method" "@authority" "@path" "@query"'
    assert section(out, "signature base").startswith('"@method": GET\n"@authority": abc.')
    assert "hmac-SECRET-9" not in out and section(out, "signature") == "**********"
    base = section(hmac_shown.out, "signature base")
    digest = hmac.new(b"hmac-SECRET-9", base.encode(), hashlib.sha256).digest()
    assert section(hmac_shown.out, "signature") == base64.b64encode(digest).decode()

    assert refused.code == 2
    assert refused.out == ""
    assert "--explain" in refused.err and "BEARER_TOKEN" in refused.err
    assert "tok-bearer-SECRET-8" not in refused.err
