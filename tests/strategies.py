"""Hypothesis strategies for valid credential records (as JSON mappings)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
header_names = st.text(TOKEN_CHARS, min_size=1, max_size=20)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(
    lambda value: value.strip(" ")
)
# Unicode without control characters: what passwords and query-placed keys may hold.
unicode_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f"),
    min_size=1,
    max_size=40,
)
secrets = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=40)

RESERVED_AUTH_HEADERS = {"authorization", "host", "content-length", "transfer-encoding"}


def _static_headers(taken: set[str]) -> st.SearchStrategy[list[dict[str, str]]]:
    names = header_names.filter(
        lambda name: name.lower() not in taken | RESERVED_AUTH_HEADERS | {"connection"}
    )
    return st.lists(
        st.fixed_dictionaries({"key": names, "value": header_values}),
        max_size=4,
        unique_by=lambda header: header["key"].lower(),
    )


@st.composite
def _common(draw: st.DrawFn, record: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    record["headers"] = draw(_static_headers(taken))
    if draw(st.booleans()):
        record["contentType"] = draw(st.sampled_from(["json", "xml", "form-urlencoded"]))
    if draw(st.booleans()):
        record["label"] = draw(unicode_text)
    if draw(st.booleans()):
        record["environment"] = draw(st.sampled_from(["production", "test"]))
    if draw(st.booleans()):
        record["baseUrl"] = draw(
            st.sampled_from(["https://api.example.com", "http://127.0.0.1:8080/v1"])
        )
    return record


@st.composite
def records(draw: st.DrawFn, auth_types: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A valid record mapping of one of ``auth_types`` (default: the static four)."""
    auth_type = draw(
        st.sampled_from(auth_types or ("NO_AUTH", "BASIC_AUTH", "BEARER_TOKEN", "API_KEY"))
    )
    record: dict[str, Any] = {"authType": auth_type}
    taken: set[str] = set()
    if auth_type == "BASIC_AUTH":
        record["username"] = draw(unicode_text.filter(lambda name: ":" not in name))
        record["password"] = draw(unicode_text)
        taken = {"authorization"}
    elif auth_type == "BEARER_TOKEN":
        record["token"] = draw(secrets)
        taken = {"authorization"}
    elif auth_type == "API_KEY":
        if draw(st.booleans()):
            key = draw(header_names.filter(lambda n: n.lower() not in RESERVED_AUTH_HEADERS))
            record["apiKey"] = {"key": key, "value": draw(secrets), "position": "header"}
            taken = {key.lower()}
        else:
            record["apiKey"] = {
                "key": draw(unicode_text),
                "value": draw(unicode_text),
                "position": "query",
            }
    return draw(_common(record, taken))
