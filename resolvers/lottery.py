"""Comment lotteries (评论区抽奖): moderators draw winners among a topic's commenters.

The draw is reproducible by anyone who has the seed and the list of commenters (see
`draw`); the seed and the winners are written to the moderation log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.expressions import Subquery

from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.ids import decode_id, encode_id
from mallforum.transactions import atomic
from models import Comment, ContentStatus, Member, MemberStatus
from resolvers.context import Context
from resolvers.moderation_cases import require_moderator, write_log
from resolvers.topics import visible_topic

WINNERS_MAX = 1000
SEED_MAX = 128


def draw(seed: str, candidates: Sequence[str], winners: int) -> list[str]:
    """The winners among `candidates` (members' global IDs, as the API shows them), in
    draw order.

    Each candidate's key is HMAC-SHA256 with the seed (UTF-8) as the key and the member's
    global ID (UTF-8) as the message, written in lowercase hex. Candidates are sorted by
    key, then by ID, ascending, and the first `winners` win; with fewer candidates, all of
    them win, in that order. The order the candidates are given in does not matter.
    """
    keyed = sorted(
        (hmac.new(seed.encode(), member.encode(), hashlib.sha256).hexdigest(), member)
        for member in set(candidates)
    )
    return [member for _, member in keyed[:winners]]


async def commenters(topic_id: int, author_id: int) -> list[Member]:
    """The lottery's candidates: members with a published comment or reply on the topic,
    but for the topic's author and banned members."""
    published = Comment.filter(topic_id=topic_id, status=ContentStatus.PUBLISHED)
    return (
        await Member.filter(id__in=Subquery(published.values("author_id")))
        .exclude(id=author_id)
        .exclude(status=MemberStatus.BANNED)
    )


@dataclass
class LotteryResult:
    winners: list[Member]
    seed: str


async def draw_lottery(
    ctx: Context, topic_gid: str, winners: int, seed: str | None
) -> LotteryResult:
    """A moderator draws `winners` distinct commenters; without a seed the server picks one."""
    moderator = require_moderator(ctx)
    problems = Problems()
    if not 1 <= winners <= WINNERS_MAX:
        problems.invalid(f"Draw 1 to {WINNERS_MAX} winners.", "winners")
    if seed is not None and not 1 <= len(seed) <= SEED_MAX:
        problems.invalid(f"The seed must be 1 to {SEED_MAX} characters.", "seed")
    problems.raise_any()
    topic_id = decode_id(topic_gid, "Topic", field=["topicId"])
    topic = await visible_topic(ctx, topic_id)
    if topic is None or topic.status == ContentStatus.DELETED:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No topic has that id.", ["topicId"])
    seed = secrets.token_hex(16) if seed is None else seed
    async with atomic():
        found = await commenters(topic.pk, topic.author_id)
        candidates = {encode_id("Member", member.pk): member for member in found}
        drawn = draw(seed, list(candidates), winners)
        note = json.dumps({"seed": seed, "winners": drawn}, ensure_ascii=False)
        await write_log(moderator, "DRAW_LOTTERY", encode_id("Topic", topic.pk), note)
    return LotteryResult([candidates[member] for member in drawn], seed)
