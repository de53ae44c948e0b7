"""The README's property-test example, verbatim: every request a client sends is authenticated."""

import httpx
from hypothesis import given, settings

from credsign import HttpxAuth
from credsign.testing import VerifyingTransport, records, requests


@settings(max_examples=50, deadline=None)
@given(
    record=records(base_url="https://api.example.com"), request=requests("https://api.example.com")
)
def test_every_request_my_client_sends_is_authenticated(record, request):
    transport = VerifyingTransport(record)
    with httpx.Client(transport=transport, auth=HttpxAuth(record)) as client:
        response = client.send(request)
    assert response.status_code == 200, response.json()
    assert all(seen.ok for seen in transport.seen)
