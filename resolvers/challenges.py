"""Check-in challenges (打卡挑战): one post a day in the challenge's board, until done.

A check-in is a topic (kind CONTEST_ENTRY) titled "打卡 Day N · <challenge>", at most one
per member per calendar day in `MALLFORUM_TIMEZONE`. The member's first check-in makes
their entry in the challenge (its topic is that first post). Progress counts the days
checked in; when the challenge wants consecutive days, a check-in the day after the
previous one adds a day and one after a missed day starts again at 1, and a run already
broken (no check-in yesterday or today) shows as 0. Reaching `requiredCheckIns` completes
the challenge: the prize band from rank 1 is awarded then, once, as finalizing a contest
awards it. A check-in counts when it is posted, even if moderation holds the post.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from mallforum.clock import now, today
from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from models import (
    Badge,
    Board,
    ChallengeCheckIn,
    Contest,
    ContestEntry,
    ContestKind,
    ContestPrize,
    Topic,
    TopicKind,
)
from resolvers import growth
from resolvers.contest_prizes import award_prize
from resolvers.contests import contest_or_fail, refresh_contest, require_open, share_contest
from resolvers.context import Context
from resolvers.topics import TITLE_MAX, TopicInput, clean_topic_input, postable_board, write_topic

CHECK_IN_TITLE = "打卡 Day {day} · {title}"


@dataclass
class Progress:
    """How far a member is in a challenge."""

    check_ins: int
    required: int
    completed: bool
    last_check_in_on: date | None


def counted_days(
    contest: Contest, entry: ContestEntry | None, last: date | None, today: date
) -> int:
    """The days that count now: a consecutive run broken before yesterday counts 0."""
    if entry is None:
        return 0
    if contest.consecutive_check_ins and (last is None or last < today - timedelta(days=1)):
        return 0
    return entry.check_in_count


def _next_day(contest: Contest, entry: ContestEntry | None, last: date | None, day: date) -> int:
    """The day number a check-in on `day` makes."""
    if entry is None:
        return 1
    continues = not contest.consecutive_check_ins or last == day - timedelta(days=1)
    return entry.check_in_count + 1 if continues else 1


async def _last_day(contest_id: int, member_id: int) -> date | None:
    latest = (
        await ChallengeCheckIn.filter(contest_id=contest_id, member_id=member_id)
        .order_by("-day")
        .first()
    )
    return latest.day if latest else None


async def viewer_progress(ctx: Context, contest: Contest) -> Progress | None:
    """The viewer's progress in a challenge; None for contests and anonymous readers."""
    if contest.kind != ContestKind.CHALLENGE or ctx.viewer is None:
        return None
    entry = await ctx.loaders.entry_of_viewer_by_contest_id.load(contest.pk)
    last = await ctx.loaders.last_check_in_of_viewer_by_contest_id.load(contest.pk)
    return Progress(
        check_ins=counted_days(contest, entry, last, today(ctx.settings.zone)),
        required=contest.required_check_ins or 0,
        completed=entry is not None and entry.completed_at is not None,
        last_check_in_on=last,
    )


async def check_in(
    ctx: Context, contest_gid: str, body: str, image_urls: list[str] | None
) -> tuple[Progress, Topic]:
    """Today's check-in post: while the challenge is OPEN (CLOSED), once a day (DUPLICATE)."""
    member = ctx.require_active_member()
    contest = await contest_or_fail(ctx, contest_gid, "contestId")
    if contest.kind != ContestKind.CHALLENGE:
        raise UserFailure.of(ErrorCode.INVALID, "Only challenges take check-ins.", ["contestId"])
    day = today(ctx.settings.zone)
    entry = await ContestEntry.get_or_none(contest_id=contest.pk, author_id=member.pk)
    last = await _last_day(contest.pk, member.pk)
    title = CHECK_IN_TITLE.format(day=_next_day(contest, entry, last, day), title=contest.title)
    problems = Problems()
    clean = clean_topic_input(
        TopicInput(title=title[:TITLE_MAX].strip(), body=body, image_urls=image_urls), problems
    )
    problems.raise_any()
    require_open(contest, "check-ins")
    if last == day:
        raise _checked_in_today()
    board = await postable_board(ctx, member, contest.board_id, "contestId")
    progress: list[Progress] = []

    async def attach(topic: Topic, texts: dict[str, str]) -> None:
        progress.append(await _record(ctx.settings, ctx.redis, contest.pk, member.pk, topic, day))

    topic = await write_topic(
        ctx,
        member,
        board,
        clean,
        TopicKind.CONTEST_ENTRY,
        content_kind="challenge_check_in",
        attach=attach,
    )
    await refresh_contest(ctx, contest.pk)
    return progress[0], topic


def _checked_in_today() -> UserFailure:
    return UserFailure.of(ErrorCode.DUPLICATE, "You have checked in to this challenge today.")


async def _record(
    settings: Settings, redis: RedisStore, contest_id: int, member_id: int, topic: Topic, day: date
) -> Progress:
    """The check-in's row, the member's entry and progress, and the prize when this check-in
    completes the challenge: in the topic's transaction, under the member's row lock."""
    contest = await share_contest(contest_id)
    require_open(contest, "check-ins")
    # The board's row before the member's: the order publishing a topic takes them in.
    await Board.select_for_update(no_key=True).get(id=contest.board_id)
    member = await growth.lock_member(member_id)
    last = await _last_day(contest_id, member_id)
    if last == day:
        raise _checked_in_today()
    try:
        await ChallengeCheckIn.create(
            contest_id=contest_id, member_id=member_id, topic_id=topic.pk, day=day, created_at=now()
        )
    except IntegrityError:  # the unique (contest, member, day) is the last guard
        raise _checked_in_today() from None
    entry = await ContestEntry.get_or_none(contest_id=contest_id, author_id=member_id)
    count = _next_day(contest, entry, last, day)
    if entry is None:
        entry = await ContestEntry.create(
            contest_id=contest_id, topic_id=topic.pk, author_id=member_id, created_at=now()
        )
        await Contest.filter(id=contest_id).update(entry_count=F("entry_count") + 1)
    entry.check_in_count = count
    required = contest.required_check_ins or 0
    if count >= required and entry.completed_at is None:
        entry.completed_at, entry.final_rank = now(), 1
        prize = await ContestPrize.filter(contest_id=contest_id, rank_from=1).first()
        if prize is not None:
            entry.prize_id = prize.pk
            badge = await Badge.get_or_none(id=prize.badge_id) if prize.badge_id else None
            await award_prize(settings, redis, contest, entry, prize, member, badge)
    await entry.save(update_fields=["check_in_count", "completed_at", "final_rank", "prize_id"])
    return Progress(count, required, entry.completed_at is not None, day)
