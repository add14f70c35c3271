"""A contest's prizes and the final score that decides them.

The final score blends the judges and the members: `judgeWeight × judgeScore / 100 +
(1 − judgeWeight) × voteCount / mostVotes`, where judgeScore is the mean of the judges'
scores (0 when no judge scored the entry) and mostVotes is the most votes any published
entry of the contest has (the members' part is 0 when nobody voted). `finalizeContest`
fixes it, and ranks by it, ties to the earlier entry; entries not published then get no
rank and no prize. Each prize band awards its points (once per entry, by the ledger's
key), its badge and the mall's reward (an outbox event for the mall).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mallforum import outbox
from mallforum.errors import Problems
from mallforum.ids import encode_id
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from models import (
    Badge,
    BadgeKind,
    ContentStatus,
    Contest,
    ContestEntry,
    ContestKind,
    ContestPrize,
    Member,
    PointReason,
    Topic,
)
from resolvers import badges, growth
from resolvers.validation import Between, Check, Given, Rule, Text, clean

PRIZES_MAX, PRIZE_TITLE_MAX, PRIZE_POINTS_MAX, RANK_MAX, REWARD_CODE_MAX = (
    20,
    64,
    1_000_000,
    1000,
    64,
)
SCORE_MAX = 100


@dataclass
class PrizeInput:
    rank_from: int
    rank_to: int
    title: str
    points: int | None = 0
    badge_code: str | None = None
    mall_reward_code: str | None = None


def _badge_id(catalogue: dict[str, Badge], code: str | None) -> int | None:
    """The MANUAL badge a band names by its code; None for none, or for another kind."""
    badge = catalogue.get(code.strip()) if code is not None else None
    return badge.pk if badge is not None and badge.kind == BadgeKind.MANUAL else None


def _prize_rules(catalogue: dict[str, Badge]) -> list[Rule]:
    """The rules of one prize band; `catalogue`: the badges the bands name, by code."""
    return [
        Given("rank_from"),
        Given("rank_to"),
        Check(
            "rankTo",
            lambda v: not 1 <= v["rank_from"] <= v["rank_to"] <= RANK_MAX,
            f"Ranks must satisfy 1 ≤ rankFrom ≤ rankTo ≤ {RANK_MAX}.",
        ),
        Text(
            "title",
            "title",
            PRIZE_TITLE_MAX,
            f"The title must be 1 to {PRIZE_TITLE_MAX} characters.",
        ),
        Between(
            "points",
            "points",
            0,
            PRIZE_POINTS_MAX,
            f"points must be 0 to {PRIZE_POINTS_MAX:,}.",
            default=0,
        ),
        Given("badge_code"),
        Check(
            "badgeCode",
            lambda v: v["badge_code"] is not None and _badge_id(catalogue, v["badge_code"]) is None,
            "badgeCode must name a MANUAL badge.",
        ),
        Text(
            "mall_reward_code",
            "mallRewardCode",
            REWARD_CODE_MAX,
            f"mallRewardCode must be 1 to {REWARD_CODE_MAX} characters.",
            optional=True,
        ),
    ]


async def clean_prizes(
    prizes: list[PrizeInput], kind: ContestKind, problems: Problems
) -> list[dict[str, Any]]:
    """The prize bands' columns; bands may not overlap, and badges must be MANUAL ones."""
    if len(prizes) > PRIZES_MAX:
        problems.invalid(f"At most {PRIZES_MAX} prize bands.", "input", "prizes")
        return []
    codes = {p.badge_code.strip() for p in prizes if p.badge_code is not None}
    catalogue = {b.code: b for b in await Badge.filter(code__in=list(codes))} if codes else {}
    rules = _prize_rules(catalogue)
    cleaned = []
    for n, prize in enumerate(prizes):
        values = clean(rules, prize, problems, "input", "prizes", str(n))
        values["badge_id"] = _badge_id(catalogue, values.pop("badge_code"))
        cleaned.append(values)
    _check_bands(sorted((p["rank_from"], p["rank_to"]) for p in cleaned), kind, problems)
    return cleaned


def _check_bands(bands: list[tuple[int, int]], kind: ContestKind, problems: Problems) -> None:
    """Bands, in order, may not overlap; a challenge's all start at rank 1."""
    if any(later[0] <= earlier[1] for earlier, later in itertools.pairwise(bands)):
        problems.invalid("Prize bands must not overlap.", "input", "prizes")
    if kind == ContestKind.CHALLENGE and any(low != 1 for low, _ in bands):
        problems.invalid(
            "Every finisher of a challenge is rank 1: its prize band starts at rank 1.",
            "input",
            "prizes",
        )


def weights(contest: Contest, most: int) -> tuple[float, float]:
    """What a point of the judges' mean score, and what a vote, adds to the final score."""
    members = (1 - contest.judge_weight) / most if most else 0.0
    return contest.judge_weight / SCORE_MAX, members


def blended_score(contest: Contest, judge_score: float | None, votes: int, most: int) -> float:
    """The final score (see the module's docstring), as `contest_entries` orders by it."""
    judges, members = weights(contest, most)
    return (judge_score or 0.0) * judges + votes * members


def prize_for(prizes: Sequence[ContestPrize], rank: int) -> ContestPrize | None:
    return next((p for p in prizes if p.rank_from <= rank <= p.rank_to), None)


async def rank_and_award(settings: Settings, redis: RedisStore, contest: Contest) -> None:
    """Fix the final scores and ranks of the published entries, and award the prize bands."""
    entries = await ContestEntry.select_for_update().filter(contest_id=contest.pk).order_by("id")
    published = set(
        await Topic.filter(
            id__in=[e.topic_id for e in entries], status=ContentStatus.PUBLISHED
        ).values_list("id", flat=True)
    )
    eligible = [e for e in entries if e.topic_id in published]
    most = max((e.vote_count for e in eligible), default=0)
    for entry in eligible:
        entry.final_score = blended_score(contest, entry.judge_score, entry.vote_count, most)
    eligible.sort(key=lambda e: (-(e.final_score or 0.0), e.pk))
    prizes = await ContestPrize.filter(contest_id=contest.pk).order_by("rank_from")
    for rank, entry in enumerate(eligible, start=1):
        prize = prize_for(prizes, rank)
        entry.final_rank, entry.prize_id = rank, prize.pk if prize else None
    if eligible:
        await ContestEntry.bulk_update(
            eligible, fields=["final_score", "final_rank", "prize_id"], batch_size=500
        )
    by_id = {p.pk: p for p in prizes}
    badge_ids = {p.badge_id for p in prizes if p.badge_id is not None}
    catalogue = {b.pk: b for b in await Badge.filter(id__in=list(badge_ids))} if badge_ids else {}
    for entry in sorted((e for e in eligible if e.prize_id), key=lambda e: e.author_id):
        assert entry.prize_id is not None
        prize = by_id[entry.prize_id]
        member = await growth.lock_member(entry.author_id)
        badge = catalogue.get(prize.badge_id) if prize.badge_id else None
        await award_prize(settings, redis, contest, entry, prize, member, badge)


async def award_prize(
    settings: Settings,
    redis: RedisStore,
    contest: Contest,
    entry: ContestEntry,
    prize: ContestPrize,
    member: Member,
    badge: Badge | None,
) -> None:
    """The prize's points, badge and mall reward (an outbox event for the mall) to a locked
    member, in the caller's transaction; the ledger key makes the points once per entry."""
    if prize.points:
        await growth.post(
            settings,
            redis,
            member,
            PointReason.CONTEST_PRIZE,
            f"contest:{contest.pk}:prize:{entry.pk}",
            prize.points,
            reference=f"ContestEntry:{entry.pk}",
        )
    if badge is not None:
        await badges.award(
            member.pk, badge, f"{prize.title} · {contest.title}"[: badges.REASON_MAX]
        )
    if prize.mall_reward_code:
        await outbox.emit(
            "contest.prize_awarded",
            {
                "contestId": encode_id("Contest", contest.pk),
                "entryId": encode_id("ContestEntry", entry.pk),
                "mallUserId": member.mall_user_id,
                "mallRewardCode": prize.mall_reward_code,
                "prizeTitle": prize.title,
                "rank": entry.final_rank,
            },
        )
