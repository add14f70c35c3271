"""Near-duplicates: a member posting the same text again, and spam rings of new accounts.

Each text long enough to mean something gets a MinHash signature (datasketch) over its
shingles: pairs of characters of the folded text (`normalize`: 代 购 and 代購 read 代购) for
Chinese and other scripts without spaces, and whole words for Latin script. Two texts are
near-duplicates when their signatures agree on at least `similarity` of their values, an
estimate of the share of shingles they have in common (Jaccard similarity). A few characters
changed in a 25-character post still leave two thirds of its character pairs; two unrelated
posts share almost none. (A 64-bit SimHash, the usual alternative, moves by 10 to 18 bits
when two characters of a short post change, far past the 3 bits its index can search.)

Texts with fewer than `min_shingles` distinct shingles (16: about seventeen Chinese
characters, or sixteen different Latin words) are never fingerprinted: 同款！, +1 and
谢谢分享，我也买了同款，质量不错 are written by many members, rightly.

Signatures are found again through locality-sensitive hashing in Redis: the first 32 values
of the 96 are cut into 16 bands of 2, and each band value indexes the texts that have it in
a sorted set scored by time. Texts that share a band are candidates, and their whole
signatures are compared. Two texts with 60% of their shingles in common share a band with a
probability of 99.9% (50%: 99.0%), two with 10% in common with 15%, two unrelated posts
(1%) with 0.2%. Sixteen bands keep a text's index work to one script over 17 keys, about
half the cost of 32 bands of 3 for the same recall above 50%.

Two cases, each over its own window:

- a member posting a near copy of their own text: held for review (REVIEW), refused (BLOCK)
  from the `repeat_block_after`-th earlier copy on. Moderators and admins are exempt: they
  paste notices;
- a spam ring: a near copy posted by `ring_size` or more different new members (level 0,
  joined less than three days ago) within `ring_window_seconds`: the new member whose post
  makes the ring that size, and every later one, is refused. Established members are not
  counted and never refused as a ring, so a popular phrase does not get people blocked.

The pipeline runs before the content is stored, so the text is recorded when it is
reviewed, whatever the verdict of the other hooks: a refused attempt counts as a copy too
(a ring's refused posts keep the ring closed; a member whose refused post is corrected and
sent again is held for review). Kinds not in `kinds` (nicknames, challenge check-ins, which
repeat a daily template by design) are not fingerprinted.

When Redis does not answer (or not within `redis_timeout_ms`), the write goes through and
the failure is logged (`fail_open`); with `fail_open=False` the error reaches the stage,
whose fail policy decides.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import secrets
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from datasketch import MinHash
from redis.exceptions import RedisError

from mallforum.clock import now
from mallforum.redis_store import RedisStore
from moderation.normalize import normalize
from moderation.pipeline import ContentDraft, Reason, Verdict, VerdictAction

log = logging.getLogger(__name__)

#: The signature: SIGNATURE_SIZE MinHash values, with the seed and scheme fixed so that the
#: signatures stored by every process and release stay comparable (datasketch 2.0 changed
#: its default scheme). Signatures of another size, stored before a change, are ignored.
SIGNATURE_SIZE = 96
#: The index: the first BANDS × ROWS values of the signature, in bands (see the docstring).
BANDS = 16
ROWS = 2
SIGNATURE_SEED = 1
SIGNATURE_SCHEME = "affine32"
#: A stored fingerprint: author's member id, 1 if they were new then, the signature (uint32s).
RECORD = struct.Struct("<QB3x")

#: KEYS: the new text's fingerprint key, then its band keys, one per band. ARGV: now (ms),
#: the oldest time kept (ms, excluded), the new text's record, how long to keep the keys
#: (ms), its fingerprint. Stores the fingerprint and returns the texts kept in any of the
#: bands, with their times, as they were before this one was added: one round trip a text.
BANDS_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[4])
local found = {}
for i = 2, #KEYS do
  local key = KEYS[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
  local kept = redis.call('ZRANGEBYSCORE', key, '(' .. ARGV[2], '+inf', 'WITHSCORES')
  for j = 1, #kept, 2 do found[kept[j]] = kept[j + 1] end
  redis.call('ZADD', key, ARGV[1], ARGV[3])
  redis.call('PEXPIRE', key, ARGV[4])
end
local flat = {}
for record, at in pairs(found) do
  flat[#flat + 1] = record
  flat[#flat + 1] = at
end
return flat
"""

_NOT_LATIN = re.compile(r"[^a-z0-9]+")
_LATIN = re.compile(r"[a-z0-9]+")
_WORD = re.compile(r"\w+")


def shingles(raw: str) -> set[str]:
    """Pairs of adjacent characters of the folded text outside Latin script (a lone one
    stands for itself), and the folded Latin words."""
    found: set[str] = set()
    for run in _NOT_LATIN.findall(normalize(raw).text):
        found.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    for word in _WORD.findall(raw):  # the folded text has lost the spaces between words
        found.update(_LATIN.findall(normalize(word).text))
    return found


@cache
def _permutations() -> np.ndarray:
    return MinHash(SIGNATURE_SIZE, SIGNATURE_SEED, scheme=SIGNATURE_SCHEME).permutations


def signature(features: Iterable[str]) -> np.ndarray:
    """The MinHash signature of a set of shingles, SIGNATURE_SIZE uint32 values."""
    sketch = MinHash(
        SIGNATURE_SIZE, SIGNATURE_SEED, scheme=SIGNATURE_SCHEME, permutations=_permutations()
    )
    sketch.update_batch([feature.encode() for feature in features])
    return np.asarray(sketch.hashvalues, dtype=np.uint32)


def estimated_jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """The estimated Jaccard similarity of the shingles behind two signatures."""
    return float(np.count_nonzero(first == second)) / len(first)


def band_values(sig: np.ndarray) -> list[str]:
    return [row.tobytes().hex() for row in sig[: BANDS * ROWS].reshape(BANDS, ROWS)]


@dataclass(frozen=True)
class Fingerprint:
    """A text as recorded: who wrote it, whether they were new then, when (ms), its signature."""

    record: str
    author_id: int
    by_new_member: bool
    at_ms: float
    signature: np.ndarray


DEFAULT_KINDS = ("topic", "comment", "contest_entry", "poll")


class DuplicateHook:
    """Holds a member's repeated texts and refuses spam rings (see the module docstring)."""

    name = "duplicates"

    def __init__(
        self,
        redis: RedisStore,
        kinds: Sequence[str] = DEFAULT_KINDS,
        min_shingles: int = 16,
        similarity: float = 0.6,
        repeat_window_seconds: float = 24 * 3600,
        repeat_block_after: int = 3,
        ring_window_seconds: float = 6 * 3600,
        ring_size: int = 3,
        fail_open: bool = True,
        redis_timeout_ms: int = 250,
    ) -> None:
        if not 0 < similarity <= 1:
            raise ValueError("duplicates: similarity must be in (0, 1]")
        if min(min_shingles, repeat_block_after, ring_size) < 1:
            raise ValueError("duplicates: min_shingles, repeat_block_after, ring_size >= 1")
        if min(repeat_window_seconds, ring_window_seconds) <= 0:
            raise ValueError("duplicates: windows must be longer than 0 s")
        self.redis = redis
        self.kinds = frozenset(kinds)
        self.min_shingles = min_shingles
        self.similarity = similarity
        self.repeat_window_ms = repeat_window_seconds * 1000
        self.repeat_block_after = repeat_block_after
        self.ring_window_ms = ring_window_seconds * 1000
        self.ring_size = ring_size
        self.fail_open = fail_open
        self.redis_timeout = redis_timeout_ms / 1000
        self._bands_script = redis.client.register_script(BANDS_SCRIPT)

    async def review(self, draft: ContentDraft) -> Verdict:
        author_id = draft.author.pk
        if draft.kind not in self.kinds or draft.by_staff or author_id is None:
            return Verdict()
        signatures = []
        for raw in draft.texts.values():
            features = shingles(raw)
            if len(features) >= self.min_shingles:
                signatures.append(signature(features))
        if not signatures:
            return Verdict()
        try:
            async with asyncio.timeout(self.redis_timeout):
                earlier = await self._record_and_match(author_id, draft.by_new_member, signatures)
        except (RedisError, OSError, TimeoutError) as error:
            if not self.fail_open:
                raise
            log.warning("duplicates not checked: Redis did not answer (%r)", error)
            return Verdict()
        verdict = Verdict()
        for matches in earlier:
            verdict = verdict.combine(self._judge(author_id, draft.by_new_member, matches))
        return verdict

    def _judge(self, author_id: int, by_new_member: bool, matches: list[Fingerprint]) -> Verdict:
        """The verdict on one text, from the earlier near copies of it."""
        at_ms = now().timestamp() * 1000
        copies = sum(
            1
            for m in matches
            if m.author_id == author_id and m.at_ms > at_ms - self.repeat_window_ms
        )
        ring = {
            m.author_id
            for m in matches
            if m.by_new_member and m.at_ms > at_ms - self.ring_window_ms
        } | {author_id}
        if by_new_member and len(ring) >= self.ring_size:
            detail = f"posted by {len(ring)} new members within {self.ring_window_ms / 3.6e6:g} h"
            return Verdict(VerdictAction.BLOCK, [Reason(self.name, "spam_ring", detail)])
        if copies:
            action = (
                VerdictAction.BLOCK if copies >= self.repeat_block_after else VerdictAction.REVIEW
            )
            posts = "post" if copies == 1 else "posts"
            detail = (
                f"near copy of {copies} earlier {posts} by the author within "
                f"{self.repeat_window_ms / 3.6e6:g} h"
            )
            return Verdict(action, [Reason(self.name, "repeated_post", detail)])
        return Verdict()

    async def _record_and_match(
        self, author_id: int, by_new_member: bool, signatures: list[np.ndarray]
    ) -> list[list[Fingerprint]]:
        """Record the draft's texts and find, for each, the earlier texts near it: the texts
        that share a band with it and whose signatures are similar enough.

        All the bands of a text are read and written in one step (`BANDS_SCRIPT`), so of
        two concurrent near copies, the second sees the first.
        """
        keys = self.redis.keys
        at_ms = math.floor(now().timestamp() * 1000)
        kept_ms = round(max(self.repeat_window_ms, self.ring_window_ms))
        records = [secrets.token_hex(8) for _ in signatures]
        candidates: list[dict[str, float]] = []
        for record, sig in zip(records, signatures, strict=True):
            stored = RECORD.pack(author_id, by_new_member) + sig.tobytes()
            band_keys = [keys.duplicate_band(band, v) for band, v in enumerate(band_values(sig))]
            found = await self._bands_script(
                keys=[keys.duplicate_fingerprint(record), *band_keys],
                args=[at_ms, at_ms - kept_ms, record, kept_ms, stored],
            )
            pairs = zip(found[::2], found[1::2], strict=True)
            near = {m.decode(): float(at) for m, at in pairs}
            candidates.append({m: at for m, at in near.items() if m not in records})
        stored_records = await self._fingerprints(set().union(*candidates))
        matches = []
        for sig, near in zip(signatures, candidates, strict=True):
            matches.append(
                [
                    Fingerprint(record, author, new, near[record], other)
                    for record, (author, new, other) in stored_records.items()
                    if record in near and estimated_jaccard(sig, other) >= self.similarity
                ]
            )
        return matches

    async def _fingerprints(self, records: set[str]) -> dict[str, tuple[int, bool, np.ndarray]]:
        """The stored fingerprints by record; those expired meanwhile, or of another
        signature size, are left out."""
        if not records:
            return {}
        ordered = sorted(records)
        keys = [self.redis.keys.duplicate_fingerprint(record) for record in ordered]
        found = {}
        for record, stored in zip(ordered, await self.redis.client.mget(keys), strict=True):
            if not isinstance(stored, bytes) or len(stored) != RECORD.size + 4 * SIGNATURE_SIZE:
                continue
            author, new = RECORD.unpack_from(stored)
            sig = np.frombuffer(stored, dtype=np.uint32, offset=RECORD.size)
            found[record] = (author, bool(new), sig)
        return found
