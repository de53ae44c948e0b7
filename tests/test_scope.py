"""Scope: which requests a record's credentials may go to."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credsign.scope import Scope, Target, remove_dot_segments

BASE = Scope.from_base_url("https://API.Example.com/v1/")


@pytest.mark.parametrize(
    ("url", "inside"),
    [
        ("https://api.example.com/v1", True),
        ("https://api.example.com/v1/", True),
        ("https://api.example.com/v1/users?x=1", True),
        ("https://api.example.com:443/v1/users", True),
        ("https://API.EXAMPLE.COM/v1/users", True),
        ("https://api.example.com/v1beta", False),
        ("https://api.example.com/v2/users", False),
        ("https://api.example.com/", False),
        ("http://api.example.com/v1/users", False),
        ("https://api.example.com:8443/v1/users", False),
        ("https://evil.example.com/v1/users", False),
        ("https://api.example.com.evil.com/v1/users", False),
        ("https://api.example.com/v1/../admin", False),
        ("https://api.example.com/v1/%2e%2e/admin", False),
        ("https://api.example.com/v1/%2E%2E%2Fadmin", False),
        ("https://api.example.com/v1%2f..%2fadmin", False),
        ("https://api.example.com/v1/..%5cadmin", False),
        ("https://api.example.com/v1/./users", True),
        ("https://api.example.com/v1/.well-known", True),
    ],
)
def test_scope_contains(url: str, inside: bool) -> None:
    assert BASE.contains(Target.from_url(url)) is inside


def test_scope_without_path_covers_the_origin() -> None:
    scope = Scope.from_base_url("http://127.0.0.1:8080")
    assert scope.contains(Target.from_url("http://127.0.0.1:8080/anything/x"))
    assert not scope.contains(Target.from_url("http://127.0.0.1:8081/anything"))
    assert str(scope) == "http://127.0.0.1:8080"


def test_ipv6_and_idna_hosts() -> None:
    assert Scope.from_base_url("http://[::1]:9000/a").contains(
        Target.from_url("http://[::1]:9000/a/b")
    )
    scope = Scope.from_base_url("https://bücher.example")
    assert scope.host == "xn--bcher-kva.example"
    assert scope.contains(Target.from_url("https://xn--bcher-kva.example/x"))
    assert str(Scope.from_base_url("http://[::1]:80/")) == "http://[::1]"


segments = st.lists(st.sampled_from(["a", "b", ".", "..", "%2e%2e", "%2E.", "v1", ""]), max_size=6)


@given(segments)
def test_traversal_out_of_the_prefix_is_never_inside(parts: list[str]) -> None:
    path = "/v1/" + "/".join(parts)
    decoded = path.replace("%2e", ".").replace("%2E", ".")
    inside = BASE.contains(Target("https", "api.example.com", 443, path))
    normalized = remove_dot_segments(decoded)
    assert inside == (normalized == "/v1" or normalized.startswith("/v1/"))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/b/c/./../../g", "/a/g"),
        ("/../a", "/a"),
        ("/a/..", "/"),
        ("/a/.", "/a/"),
        ("/a//b", "/a//b"),
    ],
)
def test_remove_dot_segments(path: str, expected: str) -> None:
    assert remove_dot_segments(path) == expected
