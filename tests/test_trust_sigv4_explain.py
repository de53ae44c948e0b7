"""Sigv4Explanation: its repr and str never show the session token; its fields still do."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import httpx
from hypothesis import example, given, settings
from hypothesis import strategies as st

from credsign import parse_record
from credsign.adapters.httpx import HttpxHead
from credsign.aws import Sigv4Explanation, Sigv4Signer

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
MARK = "SECRETTOK"  # every generated token holds it, and nothing else in a request does
token_chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.just(" ")
tokens = st.tuples(st.text(token_chars, max_size=20), st.text(token_chars, max_size=20)).map(
    lambda parts: f"{parts[0]}{MARK}{parts[1]}".strip()
)


def explanation_of(token: str, location: str, query: str) -> Sigv4Explanation:
    record = parse_record(
        {
            "authType": "AWS4",
            "accessKey": "AKIDEXAMPLE",
            "secretKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "sessionToken": token,
            "region": "eu-west-1",
            "service": "execute-api",
            "signatureLocation": location,
        }
    )
    signer = Sigv4Signer(record)
    request = httpx.Request("GET", f"https://example.amazonaws.com/p{query}")
    return signer.explain(HttpxHead(request), lambda: NOW)


@settings(max_examples=100, deadline=None)
@given(tokens, st.sampled_from(["header", "query"]), st.sampled_from(["", "?a=1", "?z=%FF"]))
@example(f"a {MARK}\tb".replace("\t", " "), "header", "")
@example(f"{MARK}/+=&", "query", "?a=1")
def test_repr_masks_the_token(token: str, location: str, query: str) -> None:
    explanation = explanation_of(token, location, query)
    for text in (repr(explanation), str(explanation)):
        assert MARK not in text
        assert "canonical_request=" in text and "signature=" in text
    canonical = explanation.canonical_request
    shown = " ".join(token.split()) if location == "header" else quote(token, safe="~")
    assert shown in canonical  # the field itself is what was signed, token included
