"""Member growth: the points ledger, experience and levels, privileges, daily check-in.

Every change of points or experience is one `PointTransaction` written by `post()`, in
the caller's transaction, under the member's row lock, with a unique idempotency key:

- an award whose key was used before changes nothing (a like earns its receiver once per
  liker and subject, ever; a topic earns once however often it is re-published);
- an action past its daily cap (counted in the ledger, per calendar day in
  `MALLFORUM_TIMEZONE`) earns nothing;
- a spend that would take the balance below zero is refused (and the database refuses
  a negative balance as well);
- removing content takes back what it earned (`revoke`), as far as the balance allows:
  points already spent are not clawed back below zero. Experience is taken back too,
  but a level once reached is kept: levels only go up.

Reaching a new level queues a `member.level_reached` event for the mall in the outbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from tortoise.functions import Sum

from mallforum import clock, outbox
from mallforum.clock import now
from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.growth_rules import PRIVILEGE_ACTIONS, LevelRule, Privilege
from mallforum.ids import decode_id
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from mallforum.transactions import after_commit, atomic
from mirrors import active_members
from mirrors.leaderboards import updates as leaderboards
from models import (
    ActivityDay,
    CheckIn,
    Comment,
    ContentStatus,
    Like,
    LikeSubject,
    Member,
    PointReason,
    PointTransaction,
    Topic,
)
from resolvers import badges
from resolvers.context import Context
from resolvers.pagination import Page, SortKey, queryset_page

ADJUSTMENT_MAX = 1_000_000
NOTE_MAX = 200
KEY_MAX = 128


def level_of(settings: Settings, member: Member) -> LevelRule:
    return settings.levels.of(member.level)


async def lock_member(member_id: int) -> Member:
    """The member's row, locked until the transaction ends: balances change one at a time.

    FOR NO KEY UPDATE, which does not wait for (or block) the key-share locks that inserting
    the member's topics and comments takes through their foreign keys."""
    return await Member.select_for_update(no_key=True).get(id=member_id)


# ---------------------------------------------------------------- the ledger


async def post(
    settings: Settings,
    redis: RedisStore,
    member: Member,
    reason: PointReason,
    key: str,
    delta: int,
    experience: int = 0,
    reference: str | None = None,
    daily_cap: int | None = None,
    note: str | None = None,
) -> PointTransaction | None:
    """Write one ledger row and the member's new balance, experience and level.

    Call inside a transaction, with `member` locked by `lock_member`. Answers the row
    written, the earlier row when the key was used before, or None when the daily cap
    is reached. INSUFFICIENT_POINTS when the balance would go below zero.
    """
    earlier = await PointTransaction.get_or_none(idempotency_key=key)
    if earlier is not None:
        return earlier
    day = clock.today(settings.zone)
    if daily_cap is not None:
        done = await PointTransaction.filter(member_id=member.pk, reason=reason, day=day).count()
        if done >= daily_cap:
            return None
    balance = member.points + delta
    if balance < 0:
        raise UserFailure.of(
            ErrorCode.INSUFFICIENT_POINTS,
            f"This needs {-delta} points; you have {member.points}.",
        )
    transaction = await PointTransaction.create(
        member_id=member.pk,
        delta=delta,
        experience=experience,
        reason=reason,
        reference=reference,
        board_id=await leaderboards.board_of(reference),
        note=note,
        idempotency_key=key,
        balance_after=balance,
        day=day,
        created_at=now(),
    )
    await leaderboards.experience_posted(
        settings, redis, member.pk, experience, transaction.board_id, transaction.created_at
    )
    member.points = balance
    member.experience += experience
    reached = settings.levels.for_experience(member.experience)
    if reached > member.level:
        await outbox.emit(
            "member.level_reached",
            {
                "mallUserId": member.mall_user_id,
                "level": reached,
                "levelName": settings.levels.of(reached).name,
                "previousLevel": member.level,
            },
        )
        member.level = reached
    await Member.filter(id=member.pk).update(
        points=member.points, experience=member.experience, level=member.level
    )
    return transaction


async def earn(
    settings: Settings,
    redis: RedisStore,
    member: Member,
    reason: PointReason,
    key: str,
    reference: str,
) -> PointTransaction | None:
    """Award what `reason` earns by configuration, within its daily cap, to a locked member."""
    earning = settings.earning(reason)
    if earning.points == 0 and earning.experience == 0:
        return None
    return await post(
        settings,
        redis,
        member,
        reason,
        key,
        earning.points,
        earning.experience,
        reference,
        earning.daily_cap,
    )


async def topic_published(settings: Settings, redis: RedisStore, topic: Topic) -> None:
    """A topic went public: its author earns (once per topic) and may reach a badge."""
    author = await lock_member(topic.author_id)
    reference = f"Topic:{topic.pk}"
    await earn(settings, redis, author, PointReason.TOPIC_CREATED, reference, reference)
    published = await Topic.filter(author_id=author.pk, status=ContentStatus.PUBLISHED).count()
    await badges.evaluate(author.pk, "topics_published", published)


async def topic_featured(settings: Settings, redis: RedisStore, topic: Topic) -> None:
    """A moderator featured a topic: its author earns (once per topic) and may reach a badge."""
    author = await lock_member(topic.author_id)
    reference = f"Topic:{topic.pk}"
    featured_key = f"featured:{topic.pk}"
    await earn(settings, redis, author, PointReason.TOPIC_FEATURED, featured_key, reference)
    featured = await Topic.filter(author_id=author.pk, is_featured=True).count()
    await badges.evaluate(author.pk, "topics_featured", featured)


async def comment_published(settings: Settings, redis: RedisStore, comment: Comment) -> None:
    author = await lock_member(comment.author_id)
    reference = f"Comment:{comment.pk}"
    await earn(settings, redis, author, PointReason.COMMENT_CREATED, reference, reference)


async def like_changed(
    settings: Settings,
    redis: RedisStore,
    author_id: int,
    liker_id: int,
    reference: str,
    liked: bool,
) -> None:
    """Another member liked (or unliked) the author's `reference`: the author's count of likes
    received follows, and the first like by that liker ever earns (self-likes never reach here)."""
    author = await lock_member(author_id)
    author.likes_received += 1 if liked else -1
    await Member.filter(id=author_id).update(likes_received=author.likes_received)
    if liked:
        key = f"like:{liker_id}:{reference}"
        await earn(settings, redis, author, PointReason.LIKE_RECEIVED, key, reference)
        await badges.evaluate(author_id, "likes_received", author.likes_received)


async def likes_shown(subject: Topic | Comment, shown: bool) -> None:
    """The subject was withdrawn (or published again): its likes by others leave (or rejoin)
    its author's count of likes received. Call with the subject's row locked."""
    if not subject.like_count:
        return
    kind = LikeSubject.TOPIC if isinstance(subject, Topic) else LikeSubject.COMMENT
    own = await Like.exists(member_id=subject.author_id, subject_kind=kind, subject_id=subject.pk)
    others = subject.like_count - int(own)
    if others:
        author = await lock_member(subject.author_id)
        author.likes_received += others if shown else -others
        await Member.filter(id=author.pk).update(likes_received=author.likes_received)


async def revoke(settings: Settings, redis: RedisStore, member_id: int, reference: str) -> None:
    """Take back what the member earned by `reference` ("Topic:1", "Comment:2"), likes
    received on it included; in a transaction. Doing it again takes nothing more."""
    member = await lock_member(member_id)
    rows = PointTransaction.filter(member_id=member_id, reference=reference)
    totals = (
        await rows.annotate(points=Sum("delta"), exp=Sum("experience"))
        .first()
        .values("points", "exp")
    )
    earned_points, earned_experience = int(totals["points"] or 0), int(totals["exp"] or 0)
    if earned_points <= 0 and earned_experience <= 0:
        return
    latest = await rows.order_by("-id").first().values_list("id", flat=True)
    await post(
        settings,
        redis,
        member,
        PointReason.CONTENT_REMOVED,
        f"removed:{reference}:{latest}",
        -min(max(earned_points, 0), member.points),
        -min(max(earned_experience, 0), member.experience),
        reference,
    )


NEWEST_FIRST = SortKey("id", ("id",))


async def point_history(ctx: Context, first: int | None, after: str | None) -> Page[Any]:
    """The viewer's own changes of points, newest first; empty for anonymous readers."""
    mine = PointTransaction.filter(member_id=ctx.viewer.pk if ctx.viewer else 0).exclude(delta=0)
    return await queryset_page(mine, NEWEST_FIRST, first, after)


async def adjust_points(
    ctx: Context, member_gid: str, delta: int, reason: str, idempotency_key: str
) -> PointTransaction:
    """An admin adds or takes points (never below zero). Keys are per member: the same key
    again changes nothing and answers the first transaction, or CONFLICT if its delta differs."""
    ctx.require_admin()
    member_id = decode_id(member_gid, "Member", field=["memberId"])
    problems = Problems()
    note, key = reason.strip(), idempotency_key.strip()
    if delta == 0 or abs(delta) > ADJUSTMENT_MAX:
        problems.invalid(
            f"delta must be non-zero and at most {ADJUSTMENT_MAX} either way.", "delta"
        )
    if not 1 <= len(note) <= NOTE_MAX:
        problems.invalid(f"The reason must be 1 to {NOTE_MAX} characters.", "reason")
    if not 1 <= len(key) <= KEY_MAX:
        problems.invalid(f"idempotencyKey must be 1 to {KEY_MAX} characters.", "idempotencyKey")
    problems.raise_any()
    async with atomic():
        member = await Member.select_for_update(no_key=True).get_or_none(id=member_id)
        if member is None:
            raise UserFailure.of(ErrorCode.NOT_FOUND, "No member has that id.", ["memberId"])
        transaction = await post(
            ctx.settings,
            ctx.redis,
            member,
            PointReason.ADMIN_ADJUSTMENT,
            f"admin:{member.pk}:{key}",
            delta,
            note=note,
        )
    assert transaction is not None  # adjustments have no daily cap
    if transaction.delta != delta:
        raise UserFailure.of(
            ErrorCode.CONFLICT,
            "That idempotency key was used for another adjustment.",
            ["idempotencyKey"],
        )
    return transaction


# ---------------------------------------------------------------- privileges

#: http(s) URLs, www. hosts and scheme-relative //host links (Markdown keeps those).
LINK = re.compile(r"(?:https?://|www\.|(?<![\w:/])//)[^\s<>()\[\]\"'`]+", re.IGNORECASE)


def has_privilege(ctx: Context, member: Member, privilege: str) -> bool:
    """Whether the member's level grants the privilege; moderators hold every privilege."""
    return ctx.is_moderator or privilege in level_of(ctx.settings, member).privileges


def require_privilege(ctx: Context, member: Member, privilege: str) -> None:
    """LEVEL_TOO_LOW, naming the level that grants the privilege, unless the member has it."""
    if not has_privilege(ctx, member, privilege):
        action = PRIVILEGE_ACTIONS.get(privilege, privilege)
        needed = ctx.settings.levels.lowest_granting(privilege)
        raise level_too_low(ctx.settings, member, action, needed)


def level_too_low(
    settings: Settings, member: Member, what: str, needed: LevelRule | None
) -> UserFailure:
    """The LEVEL_TOO_LOW failure: what needs which level, and the member's own."""
    mine = level_of(settings, member)
    need = f"level {needed.level} ({needed.name})" if needed else "a privilege no level grants"
    return UserFailure.of(
        ErrorCode.LEVEL_TOO_LOW, f"{what} needs {need}; you are level {mine.level} ({mine.name})."
    )


def outside_links(settings: Settings, text: str) -> list[str]:
    """Links in the text to sites other than the mall's own domains (`MALLFORUM_MALL_DOMAINS`)."""
    found = []
    for match in LINK.finditer(text):
        url = match.group(0)
        absolute = (
            url if "://" in url else "http:" + url if url.startswith("//") else "http://" + url
        )
        host = (urlsplit(absolute).hostname or "").lower()
        mall = any(host == d or host.endswith("." + d) for d in settings.mall_domains)
        if not mall:
            found.append(url)
    return found


def check_links(ctx: Context, member: Member, *texts: str) -> None:
    """Links to other sites need POST_LINKS; the mall's own domains are always allowed."""
    if any(outside_links(ctx.settings, text) for text in texts):
        require_privilege(ctx, member, Privilege.POST_LINKS)


# ---------------------------------------------------------------- activity and check-in


async def record_activity(settings: Settings, redis: RedisStore, member_id: int) -> None:
    """Note that the member took part today; the 活跃之星 badge counts these days, and the
    day's active members (`mirrors.active_members`) count the member once it commits."""
    day = clock.today(settings.zone)
    if await ActivityDay.exists(member_id=member_id, day=day):
        return
    async with atomic():
        await lock_member(member_id)
        if await ActivityDay.exists(member_id=member_id, day=day):
            return
        await ActivityDay.create(member_id=member_id, day=day)
        await after_commit(lambda: active_members.member_active(redis, member_id, day))
        days = await ActivityDay.filter(
            member_id=member_id, day__gte=day.replace(day=1), day__lte=day
        ).count()
        await badges.evaluate(member_id, "active_days_in_month", days)


def current_streak(settings: Settings, member: Member) -> int:
    """Consecutive days checked in, counting today or yesterday; 0 once a day is missed."""
    last = member.last_check_in_on
    if last is None or last < clock.today(settings.zone) - timedelta(days=1):
        return 0
    return member.check_in_streak


@dataclass
class CheckInResult:
    streak: int
    points: int
    new: bool
    member: Member


async def check_in(ctx: Context) -> CheckInResult:
    """签到: once per calendar day; the streak grows on consecutive days, else restarts."""
    viewer = ctx.require_unbanned_member()
    settings = ctx.settings
    day = clock.today(settings.zone)
    async with atomic():
        member = await lock_member(viewer.pk)
        if member.last_check_in_on == day:
            return CheckInResult(member.check_in_streak, 0, False, member)
        consecutive = member.last_check_in_on == day - timedelta(days=1)
        streak = member.check_in_streak + 1 if consecutive else 1
        points = settings.check_in.points(streak)
        await CheckIn.create(
            member_id=member.pk, day=day, streak=streak, points=points, created_at=now()
        )
        member.check_in_streak, member.last_check_in_on = streak, day
        await Member.filter(id=member.pk).update(check_in_streak=streak, last_check_in_on=day)
        await post(
            settings,
            ctx.redis,
            member,
            PointReason.CHECK_IN,
            f"check-in:{member.pk}:{day.isoformat()}",
            points,
            settings.earning(PointReason.CHECK_IN).experience,
            f"CheckIn:{day.isoformat()}",
        )
        await badges.evaluate(member.pk, "check_in_streak", streak)
    await record_activity(settings, ctx.redis, member.pk)
    return CheckInResult(streak, points, True, member)
