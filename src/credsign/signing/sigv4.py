"""AWS4: AWS Signature Version 4, in the Authorization header or as a presigned URL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from credsign.errors import CredsignError
from credsign.record_fields import secret_values
from credsign.records import Aws4Record
from credsign.signing.aws_credentials import (
    AwsCredentials,
    AwsCredentialSource,
    CredentialsExpiredError,
    StaticCredentials,
)
from credsign.signing.base import Clock, HeaderSet, RequestHead, Signer
from credsign.signing.explanation import Sigv4Explanation as Sigv4Explanation  # re-exported
from credsign.signing.sign_log import DEBUG, debug_enabled, log_signature
from credsign.signing.sigv4_rules import (
    ALGORITHM,
    S3_SERVICES,
    UNSIGNED_PAYLOAD,
    SigningKey,
    canonical_headers,
    canonical_uri,
    join_pairs,
    query_pairs,
    string_to_sign,
    uri_encode,
)

#: Headers this signer owns: stale ones are removed before signing again.
SIGNING_HEADERS = frozenset(
    {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
)
#: Query parameters of a presigned URL: stale ones are removed before signing again.
SIGNING_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    }
)


_CACHE_SIZE = 256
#: canonical request, string to sign, signature, headers to set, new query (None: unchanged),
#: stale headers to remove, the credentials signed with
_Computed = tuple[
    str, str, str, tuple[tuple[str, str], ...], str | None, tuple[str, ...], AwsCredentials
]
_ENCODED_NAMES = {
    name: (name.encode(), name.lower().encode())
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256")
}


class Sigv4Signer(Signer):
    """Signs with SigV4; everything that depends only on the record is precomputed.

    Per signature it reads the clock once, reuses the date strings within the
    same second and the signing key within the same day (per secret), hashes the
    body unless the payload is unsigned, and builds the canonical request with
    fast paths for paths and queries that are already canonical.

    ``normalize_path`` and ``content_sha256_header`` default to the service's
    rules (S3: no normalisation, header always sent; others: normalise, header
    only for an unsigned payload); the official test suite sets them per case.
    ``sign_session_token=False`` sends the session token unsigned, for the
    services (such as AWS IoT) that want it added after signing.
    """

    __slots__ = (
        "_content_header",
        "_credentials",
        "_double_encode",
        "_expires_in",
        "_key",
        "_normalize",
        "_paths",
        "_presign",
        "_queries",
        "_record",
        "_region",
        "_scope_suffix",
        "_service",
        "_stamp",
        "_unsigned",
        "_unsigned_names",
    )
    covers_url = True

    def __init__(
        self,
        record: Aws4Record,
        *,
        credentials: AwsCredentialSource | None = None,
        normalize_path: bool | None = None,
        content_sha256_header: bool | None = None,
        sign_session_token: bool = True,
    ) -> None:
        super().__init__(record, credential_headers=SIGNING_HEADERS)
        self._record = record  # read only to explain a signature
        self.query_names = SIGNING_PARAMS
        s3 = record.service in S3_SERVICES
        self._presign = record.signature_location == "query"
        self._unsigned = s3 if self._presign else record.payload == "unsigned"
        self.requires_body = not self._unsigned
        self._normalize = not s3 if normalize_path is None else normalize_path
        self._double_encode = not s3
        if content_sha256_header is None:
            content_sha256_header = s3 or self._unsigned
        self._content_header = content_sha256_header and not self._presign
        #: What is sent but not signed: nothing, or the session token (sign_session_token=False).
        self._unsigned_names = frozenset() if sign_session_token else {"X-Amz-Security-Token"}
        self._expires_in = record.expires_in
        self._region = record.region
        self._service = record.service
        self._scope_suffix = f"/{record.region}/{record.service}/aws4_request"
        self._credentials = credentials or _record_keys(record)
        self._stamp: tuple[int, str, str] = (-1, "", "")
        self._key: tuple[str, str, SigningKey | None] = ("", "", None)
        self._queries: dict[str, tuple[list[tuple[str, str]], str, str]] = {}
        self._paths: dict[str, str] = {}

    def _timestamps(self, now: datetime) -> tuple[str, str]:
        """(X-Amz-Date, date) for ``now``, formatted once per second."""
        second = int(now.timestamp())
        stamp = self._stamp
        if stamp[0] != second:
            amz_date = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            stamp = self._stamp = (second, amz_date, amz_date[:8])
        return stamp[1], stamp[2]

    def _signing_key(self, secret: str, date: str) -> SigningKey:
        """The day's signing key for ``secret``, derived once per (date, secret)."""
        date_cached, secret_cached, key = self._key
        if key is None or date_cached != date or secret_cached != secret:
            key = SigningKey(secret, date, self._region, self._service)
            self._key = (date, secret, key)
        return key

    def _query(self, raw: str) -> tuple[list[tuple[str, str]], str, str]:
        """(canonical pairs in sent order, those joined, sorted and joined) per raw query.

        Stale presign parameters are dropped. The cache is bounded and keyed by
        the query as written, which repeats across the requests of a client.
        """
        cached = self._queries.get(raw)
        if cached is None:
            pairs = [pair for pair in query_pairs(raw) if pair[0] not in SIGNING_PARAMS]
            cached = (pairs, join_pairs(pairs), join_pairs(sorted(pairs)))
            if len(self._queries) >= _CACHE_SIZE:
                self._queries.clear()
            self._queries[raw] = cached
        return cached

    def _uri(self, path: str) -> str:
        """The CanonicalURI of ``path``, cached (bounded) like the query."""
        uri = self._paths.get(path)
        if uri is None:
            uri = canonical_uri(path, normalize=self._normalize, double_encode=self._double_encode)
            if len(self._paths) >= _CACHE_SIZE:
                self._paths.clear()
            self._paths[path] = uri
        return uri

    def _expires(self, credentials: AwsCredentials, now: datetime) -> str:
        """X-Amz-Expires: the record's, cut so the URL never outlives its credentials."""
        expires = self._expires_in
        if credentials.expires_at is not None:
            expires = min(expires, int((credentials.expires_at - now) / timedelta(seconds=1)))
            if expires < 1:
                raise CredentialsExpiredError("the credentials expire before a URL could be used")
        return str(expires)

    def _compute(self, head: RequestHead, clock: Clock) -> _Computed:
        now = clock()
        credentials = self._credentials.credentials(now)
        amz_date, date = self._timestamps(now)
        scope = date + self._scope_suffix
        payload = UNSIGNED_PAYLOAD if self._unsigned else head.body_digest("sha256").hex()
        raw_query = head.query
        pairs, sent_query, query = self._query(raw_query)

        lines = head.header_lines()
        if self.defaults.pairs:
            present = {name for name, _ in lines}
            lines += [(n.lower(), v) for n, v in self.defaults.pairs if n.lower() not in present]
        token = credentials.session_token
        added: list[tuple[str, str]] = []  # headers to send, in the order the suite sends them
        signed_added: list[tuple[str, str]] = []  # the same, lower-cased, as signed
        if not self._presign:
            if token is not None:
                added.append(("X-Amz-Security-Token", token))
                if not self._unsigned_names:
                    signed_added.append(("x-amz-security-token", token))
            added.append(("X-Amz-Date", amz_date))
            signed_added.append(("x-amz-date", amz_date))
            if self._content_header:
                added.append(("X-Amz-Content-SHA256", payload))
                signed_added.append(("x-amz-content-sha256", payload))
        headers, signed, stale = canonical_headers(lines, head.host, SIGNING_HEADERS, signed_added)
        auth: list[tuple[str, str]] = []
        if self._presign:
            auth = [
                ("X-Amz-Algorithm", ALGORITHM),
                ("X-Amz-Credential", uri_encode(f"{credentials.access_key}/{scope}")),
                ("X-Amz-Date", amz_date),
                ("X-Amz-SignedHeaders", uri_encode(signed)),
                ("X-Amz-Expires", self._expires(credentials, now)),
            ]
            if token is not None:
                auth.append(("X-Amz-Security-Token", uri_encode(token)))
            signed_auth = [pair for pair in auth if pair[0] not in self._unsigned_names]
            query = join_pairs(sorted(pairs + signed_auth))
        uri = self._uri(head.target().path)
        request = f"{head.method.upper()}\n{uri}\n{query}\n{headers}\n{signed}\n{payload}"
        to_sign = string_to_sign(amz_date, scope, request)
        proof = self._signing_key(credentials.secret_key, date).sign(to_sign)

        if self._presign:
            sent_query = join_pairs([*pairs, *auth, ("X-Amz-Signature", proof)])
        else:
            authorization = (
                f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
                f"SignedHeaders={signed}, Signature={proof}"
            )
            added.append(("Authorization", authorization))
        if stale:  # left over from an earlier signing; what is set again replaces itself
            replaced = {name.lower() for name, _ in added}
            stale = [name for name in dict.fromkeys(stale) if name not in replaced]
        new_query = None if sent_query == raw_query else sent_query
        return request, to_sign, proof, tuple(added), new_query, tuple(stale), credentials

    def _explanation(self, computed: _Computed) -> Sigv4Explanation:
        credentials = computed[6]
        outputs = (credentials.secret_key, credentials.session_token or "")
        return Sigv4Explanation(*computed[:6], hidden=(*secret_values(self._record), *outputs))

    def explain(self, head: RequestHead, clock: Clock) -> Sigv4Explanation:
        """Compute the signature of ``head`` without touching it.

        The canonical request and string to sign are what AWS echoes in a
        ``SignatureDoesNotMatch`` error: compare them to find what differs.
        """
        return self._explanation(self._compute(head, clock))

    def sign(self, head: RequestHead, clock: Clock) -> None:
        computed = self._compute(head, clock)  # first: errors change nothing
        if debug_enabled(DEBUG):  # the one cost of the debug log when it is off
            log_signature(self._record, self._explanation(computed))
        _, _, _, added, query, stale, _ = computed
        if self.defaults.pairs:
            head.fill_headers(self.defaults)
        for name in stale:
            del head.headers[name]
        if added:
            encoded = tuple([(*_ENCODED_NAMES[name], value.encode()) for name, value in added])
            head.set_headers(HeaderSet(added, encoded))
        if query is not None:
            head.set_query(query)  # what is sent must be what was signed


def _record_keys(record: Aws4Record) -> StaticCredentials:
    if record.access_key is None or record.secret_key is None:
        raise CredsignError(
            "this AWS4 record has no accessKey/secretKey: give the signer a credential "
            "source, e.g. Sigv4Signer(record, credentials=credsign.aws.from_botocore(...))"
        )
    token = record.session_token.get_secret_value() if record.session_token else None
    return StaticCredentials(
        AwsCredentials(record.access_key, record.secret_key.get_secret_value(), token)
    )
