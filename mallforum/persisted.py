"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

APQ: a client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`
without the query text. A known hash runs the text kept for it; an unknown one is answered
`PersistedQueryNotFound` (code `PERSISTED_QUERY_NOT_FOUND`, HTTP 200, as Apollo Server
answers it, since Apollo's link stops using APQ after a 4xx), and the client sends hash and
text together: the text's SHA-256 must be the hash, and once it has parsed and validated
it is kept in Redis for every process. Redis keeps at most `MALLFORUM_APQ_MAX_ENTRIES`
texts of at most `MALLFORUM_APQ_MAX_BYTES`, dropping the least recently used; each process
keeps the last 512 it used in memory. When Redis does not answer, a hash is a miss and the
client's retry with the text still runs.

Trusted documents (`MALLFORUM_TRUSTED_DOCUMENTS`): only the documents listed run, sent by
hash or as text. Moderators', admins' and service tokens may send any document, so the
console keeps working; nothing is registered by APQ meanwhile.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson

from mallforum import metrics
from mallforum.redis_store import REDIS_FAILURES, RedisStore

log = logging.getLogger(__name__)

LOCAL_ENTRIES = 512
_SHA256 = re.compile(r"[0-9a-f]{64}")

#: KEYS: the texts hash, the last-used sorted set; ARGV: hash, text, now (ms), most entries.
_REGISTER = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if excess > 0 then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
  redis.call('HDEL', KEYS[1], unpack(oldest))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
end
return excess
"""


class PersistedQueryError(Exception):
    """A persisted-query request that cannot run, answered as a GraphQL error."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def not_found() -> PersistedQueryError:
    return PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", 200)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash of an APQ request (`extensions.persistedQuery`), checked; None without one."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError(
            "PERSISTED_QUERY_UNSUPPORTED", "Only persistedQuery version 1 is supported.", 400
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
        raise PersistedQueryError(
            "PERSISTED_QUERY_INVALID", "sha256Hash must be 64 hexadecimal digits.", 400
        )
    return digest.lower()


def load_trusted_documents(path: Path) -> dict[str, str]:
    """Hash → text of the trusted documents: every `.graphql` file under a directory (its
    whole content is the document), or a JSON manifest, either Apollo's
    (`{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}`) or an
    object of hash → text (graphql-codegen's `persisted-documents.json`). Hashes are SHA-256
    of the text (`sha256:` prefixes allowed); a hash that does not match its text stops
    start-up, naming it."""
    if path.is_dir():
        texts = [f.read_text(encoding="utf-8") for f in sorted(path.rglob("*.graphql"))]
        return {sha256_hex(text): text for text in texts}
    manifest = orjson.loads(path.read_bytes())
    if isinstance(manifest, dict) and isinstance(manifest.get("operations"), list):
        pairs = [(op.get("id"), op.get("body")) for op in manifest["operations"]]
    elif isinstance(manifest, dict):
        pairs = list(manifest.items())
    else:
        raise ValueError(f"{path}: not a persisted-documents manifest")
    documents = {}
    for digest, text in pairs:
        if not isinstance(digest, str) or not isinstance(text, str):
            raise ValueError(f"{path}: every entry needs a hash and a text")
        digest = digest.removeprefix("sha256:").lower()
        if sha256_hex(text) != digest:
            raise ValueError(f"{path}: {digest} is not the SHA-256 of its text")
        documents[digest] = text
    return documents


class PersistedQueries:
    """Finds the text to run for a request that may name a persisted query."""

    def __init__(
        self, max_entries: int, max_bytes: int, trusted: dict[str, str] | None = None
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.trusted = trusted
        self._recent: OrderedDict[str, str] = OrderedDict()

    async def text_to_run(
        self, redis: RedisStore, query: str | None, extensions: dict[str, Any] | None, staff: bool
    ) -> tuple[str | None, str | None]:
        """The text to execute, and the hash to register once it validates (or None)."""
        digest = requested_hash(extensions)
        if digest is not None and query is not None and sha256_hex(query) != digest:
            raise PersistedQueryError(
                "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query", 400
            )
        if self.trusted is not None:
            return self._trusted_text(query, digest, staff), None
        if digest is None:
            return query, None
        if self.max_entries == 0:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported", 200
            )
        if query is not None:
            return query, digest
        text = await self._lookup(redis, digest)
        if text is None:
            metrics.PERSISTED_QUERIES.labels("miss").inc()
            raise not_found()
        metrics.PERSISTED_QUERIES.labels("hit").inc()
        return text, None

    def _trusted_text(self, query: str | None, digest: str | None, staff: bool) -> str | None:
        assert self.trusted is not None
        if query is None and digest is not None:
            if digest in self.trusted:
                metrics.PERSISTED_QUERIES.labels("hit").inc()
                return self.trusted[digest]
            metrics.PERSISTED_QUERIES.labels("miss").inc()
            raise not_found()
        if query is None or staff or sha256_hex(query) in self.trusted:
            return query
        metrics.PERSISTED_QUERIES.labels("refused").inc()
        raise PersistedQueryError(
            "PERSISTED_QUERY_NOT_ALLOWED",
            "Only the service's trusted documents run here; send one of their hashes.",
            400,
        )

    async def _lookup(self, redis: RedisStore, digest: str) -> str | None:
        text = self._recent.get(digest)
        if text is not None:
            self._recent.move_to_end(digest)
            return text
        try:
            stored = await redis.client.hget(redis.keys.persisted_texts(), digest)
            if stored is not None:
                await redis.client.zadd(
                    redis.keys.persisted_used(), {digest: time.time() * 1000}, xx=True
                )
        except REDIS_FAILURES as error:
            log.warning("persisted query %s not read: Redis did not answer (%s)", digest, error)
            return None
        if stored is None:
            return None
        text = stored.decode() if isinstance(stored, bytes) else stored
        self._remember_locally(digest, text)
        return text

    async def register(self, redis: RedisStore, digest: str, text: str) -> None:
        """Keep a text that parsed and validated, for the next request naming its hash."""
        self._remember_locally(digest, text)
        if len(text.encode()) > self.max_bytes:
            return
        try:
            await redis.client.eval(
                _REGISTER,
                2,
                redis.keys.persisted_texts(),
                redis.keys.persisted_used(),
                digest,
                text,
                int(time.time() * 1000),
                self.max_entries,
            )
        except REDIS_FAILURES as error:
            log.warning("persisted query %s not kept: Redis did not answer (%s)", digest, error)
            return
        metrics.PERSISTED_QUERIES.labels("registered").inc()

    def _remember_locally(self, digest: str, text: str) -> None:
        self._recent[digest] = text
        self._recent.move_to_end(digest)
        while len(self._recent) > LOCAL_ENTRIES:
            self._recent.popitem(last=False)
