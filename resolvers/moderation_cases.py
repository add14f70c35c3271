"""The moderators' side: members' reports, the queue of cases, decisions, actions on content,
muting and banning, and the log every moderator action writes.

Locks are taken in one order everywhere: the item's rows (a topic; a comment's topic, then
the comment; a member), then its open case. So concurrent reports of one item add up
exactly, and a case is decided once.

Rejected content stays stored (HIDDEN) with the reason on its case (`note`): a notification
to the author is for the notification system, which will read it from there. Nothing a
moderator does deletes rows: DELETE sets the status DELETED.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial

from tortoise.exceptions import IntegrityError

from mallforum import events, metrics
from mallforum.clock import now
from mallforum.errors import ErrorCode, QueryError, UserFailure
from mallforum.ids import decode_id, encode_id, parse_id
from mallforum.transactions import after_commit, atomic
from mirrors.leaderboards import updates as leaderboards
from models import (
    Comment,
    ContentStatus,
    Member,
    MemberRole,
    MemberStatus,
    ModerationCase,
    ModerationCaseStatus,
    ModerationLog,
    ModerationSource,
    Report,
    Topic,
)
from resolvers import growth
from resolvers.comments import lock_comment, visible_comment
from resolvers.context import Context
from resolvers.members import HELD_NICKNAME
from resolvers.moderation import add_to_case, open_case_of, reason_row, target_kind
from resolvers.pagination import Page, SortKey, queryset_page
from resolvers.publishing import change_status
from resolvers.topics import lock_topic, visible_topic

NOTE_MAX = 500


class ModerationAction(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    HIDE = "HIDE"
    RESTORE = "RESTORE"
    DELETE = "DELETE"
    LOCK = "LOCK"
    UNLOCK = "UNLOCK"
    PIN = "PIN"
    UNPIN = "UNPIN"
    FEATURE = "FEATURE"
    UNFEATURE = "UNFEATURE"


OLDEST_FIRST = SortKey("case", ("id",), descending=False)
NEWEST_FIRST = SortKey("log", ("id",))

Content = Topic | Comment


def global_id(target: Content | Member) -> str:
    return encode_id(target_kind(target), target.pk)


def clean_note(note: str | None, *field: str, required: bool = False) -> str | None:
    """The note trimmed, None when blank; INVALID when too long (or missing and required)."""
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        raise UserFailure.of(ErrorCode.INVALID, f"At most {NOTE_MAX} characters.", list(field))
    if required and not text:
        raise UserFailure.of(ErrorCode.INVALID, "Give a reason.", list(field))
    return text or None


def require_moderator(ctx: Context) -> Member:
    """The signed-in, unbanned moderator: UNAUTHENTICATED or FORBIDDEN otherwise."""
    member = ctx.require_unbanned_member()
    if not ctx.is_moderator:
        raise UserFailure.of(ErrorCode.FORBIDDEN, "Only moderators may do that.")
    return member


def require_moderator_to_read(ctx: Context) -> None:
    """The same check for lists, which answer with a top-level error instead of a payload."""
    try:
        require_moderator(ctx)
    except UserFailure as failure:
        problem = failure.problems[0]
        raise QueryError(problem.code, problem.message) from None


async def write_log(actor: Member, action: str, target_gid: str, note: str | None) -> None:
    """One row of the moderation log, in the caller's transaction; counted once it commits."""
    await ModerationLog.create(
        actor_id=actor.pk, action=action, target_id=target_gid, note=note, created_at=now()
    )
    await after_commit(lambda: _count_action(action))


async def _count_action(action: str) -> None:
    metrics.MODERATION_ACTIONS.labels(action).inc()


# ---------------------------------------------------------------- locking content


@dataclass
class Locked:
    """A topic or comment with its rows locked: for a comment, its topic too."""

    item: Content
    topic: Topic

    @property
    def status(self) -> ContentStatus:
        return ContentStatus(self.item.status)


async def lock_content(kind: str, pk: int) -> Locked | None:
    """Lock a topic, or a comment's topic and then the comment; None if there is none."""
    if kind == "Topic":
        if not await Topic.exists(id=pk):
            return None
        topic = await lock_topic(pk)
        return Locked(topic, topic)
    if not await Comment.exists(id=pk):
        return None
    topic, comment = await lock_comment(pk)
    return Locked(comment, topic)


async def set_status(ctx: Context, locked: Locked, status: ContentStatus) -> None:
    """Change a locked item's status with everything that follows from it."""
    comment = locked.item if isinstance(locked.item, Comment) else None
    await change_status(ctx.settings, ctx.redis, locked.topic, status, comment)
    ctx.loaders.topic_by_id.prime(locked.topic.pk, locked.topic, force=True)
    if comment is not None:
        ctx.loaders.comment_by_id.prime(comment.pk, comment, force=True)


async def close_case(
    case: ModerationCase, moderator: Member, approved: bool, note: str | None
) -> ModerationCase:
    """Record a moderator's decision on a locked open case."""
    case.status = ModerationCaseStatus.APPROVED if approved else ModerationCaseStatus.REJECTED
    case.decided_by_id = moderator.pk
    case.decided_at = now()
    case.note = note
    await case.save(update_fields=["status", "decided_by_id", "decided_at", "note"])
    return case


async def close_open_case(
    target: Content | Member, moderator: Member, approved: bool, note: str | None
) -> None:
    case = await open_case_of(target)
    if case is not None:
        await close_case(case, moderator, approved, note)


# ---------------------------------------------------------------- reports


async def report_weight(ctx: Context, reporter: Member) -> float:
    """The reporter's level, less for each earlier report whose content moderators kept."""
    wrong = await Report.filter(
        reporter_id=reporter.pk, case__status=ModerationCaseStatus.APPROVED
    ).count()
    return ctx.settings.report_weight(reporter.level, wrong)


async def report_content(ctx: Context, gid: str, reason: str, note: str | None) -> bool:
    """A signed-in, unbanned member reports a published topic or comment they can see, once.

    Reports of an item add up on its one open case (source REPORT), each weighing
    `Settings.report_weight`; when the case's weight reaches `report_hide_threshold`
    the item is hidden until a moderator decides. Reporting one's own content: FORBIDDEN.
    """
    reporter = ctx.require_unbanned_member()
    detail = clean_note(note, "input", "note")
    kind, pk = _content_id(gid, "input", "id")
    found: Content | None = (
        await visible_topic(ctx, pk) if kind == "Topic" else await visible_comment(ctx, pk)
    )
    if found is None or found.status != ContentStatus.PUBLISHED:
        raise UserFailure.of(
            ErrorCode.NOT_FOUND, f"No {kind.lower()} has that id.", ["input", "id"]
        )
    if found.author_id == reporter.pk:
        raise UserFailure.of(ErrorCode.FORBIDDEN, "You cannot report your own content.")
    weight = await report_weight(ctx, reporter)
    try:
        async with atomic():
            locked = await lock_content(kind, pk)
            assert locked is not None
            if locked.status != ContentStatus.PUBLISHED:  # hidden meanwhile
                raise UserFailure.of(
                    ErrorCode.NOT_FOUND, f"No {kind.lower()} has that id.", ["input", "id"]
                )
            if await Report.exists(reporter_id=reporter.pk, target_kind=kind, target_id=pk):
                raise _duplicate()
            case = await add_to_case(
                locked.item, ModerationSource.REPORT, [reason_row("report", reason, detail)]
            )
            await Report.create(
                reporter_id=reporter.pk,
                target_kind=kind,
                target_id=pk,
                case_id=case.pk,
                reason=reason,
                note=detail,
                weight=weight,
                created_at=now(),
            )
            case.report_count += 1
            case.report_weight += weight
            await case.save(update_fields=["report_count", "report_weight"])
            if case.report_weight >= ctx.settings.report_hide_threshold:
                await set_status(ctx, locked, ContentStatus.HIDDEN)
    except IntegrityError:  # the same member's reports at once: the unique index decides
        raise _duplicate() from None
    return True


def _duplicate() -> UserFailure:
    return UserFailure.of(ErrorCode.DUPLICATE, "You have reported this already.", ["input", "id"])


def _content_id(gid: str, *field: str) -> tuple[str, int]:
    """The kind ("Topic" or "Comment") and primary key a global ID names; NOT_FOUND else."""
    parsed = parse_id(gid)
    if parsed is None or parsed[0] not in ("Topic", "Comment"):
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No topic or comment has that id.", list(field))
    return parsed


# ---------------------------------------------------------------- the queue and the log


async def moderation_queue(
    ctx: Context, status: ModerationCaseStatus, first: int | None, after: str | None
) -> Page[ModerationCase]:
    """Cases of a status, oldest first: moderators only (a top-level FORBIDDEN otherwise)."""
    require_moderator_to_read(ctx)
    return await queryset_page(ModerationCase.filter(status=status), OLDEST_FIRST, first, after)


async def moderation_log(ctx: Context, first: int | None, after: str | None) -> Page[ModerationLog]:
    """What moderators did, newest first: moderators only."""
    require_moderator_to_read(ctx)
    return await queryset_page(ModerationLog.all(), NEWEST_FIRST, first, after)


async def case_by_id(ctx: Context, case_id: int) -> ModerationCase | None:
    """A case, for moderators; None for anyone else."""
    if not ctx.is_moderator:
        return None
    return await ModerationCase.get_or_none(id=case_id)


async def log_entry_by_id(ctx: Context, entry_id: int) -> ModerationLog | None:
    if not ctx.is_moderator:
        return None
    return await ModerationLog.get_or_none(id=entry_id)


async def case_target(ctx: Context, case: ModerationCase) -> Content | Member | None:
    """What a case is about, whatever its status (only moderators see cases)."""
    if case.target_kind == "Topic":
        return await ctx.loaders.topic_by_id.load(case.target_id)
    if case.target_kind == "Comment":
        return await ctx.loaders.comment_by_id.load(case.target_id)
    return await ctx.loaders.member_by_id.load(case.target_id)


# ---------------------------------------------------------------- decisions


async def decide_case(
    ctx: Context, case_gid: str, approve: bool, note: str | None
) -> ModerationCase:
    """Approve (the content is fine: published, or restored if hidden) or reject (it is
    hidden; the note is the reason kept on the case for the author). CONFLICT if decided."""
    moderator = require_moderator(ctx)
    text = clean_note(note, "note")
    case_id = decode_id(case_gid, "ModerationCase", field=["caseId"])
    found = await ModerationCase.get_or_none(id=case_id)
    if found is None:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No case has that id.", ["caseId"])
    async with atomic():
        locked = None
        if found.target_kind in ("Topic", "Comment"):
            locked = await lock_content(found.target_kind, found.target_id)
        elif found.target_kind == "Member":
            member = await growth.lock_member(found.target_id)
        case = await ModerationCase.select_for_update().get(id=case_id)
        if case.status != ModerationCaseStatus.OPEN:
            raise UserFailure.of(ErrorCode.CONFLICT, "This case was decided already.", ["caseId"])
        if locked is not None:
            if approve and locked.status in (ContentStatus.PENDING_REVIEW, ContentStatus.HIDDEN):
                await set_status(ctx, locked, ContentStatus.PUBLISHED)
            elif not approve and locked.status in (
                ContentStatus.PENDING_REVIEW,
                ContentStatus.PUBLISHED,
            ):
                await set_status(ctx, locked, ContentStatus.HIDDEN)
        elif approve and found.target_kind == "Member":
            await show_held_nickname(member, case)
        await close_case(case, moderator, approve, text)
        target_gid = encode_id(case.target_kind, case.target_id)
        await write_log(moderator, "APPROVE_CASE" if approve else "REJECT_CASE", target_gid, text)
    return case


async def show_held_nickname(member: Member, case: ModerationCase) -> None:
    """Approving a member's case shows the nickname a hook held, if the mall still gives it."""
    held = [r["detail"] for r in case.reasons if r["code"] == HELD_NICKNAME]
    if held and held[-1] == member.mall_nickname:
        member.nickname = held[-1]
        await Member.filter(id=member.pk).update(nickname=member.nickname)


# ---------------------------------------------------------------- actions on content

#: action → (statuses it applies to, status it sets, whether it closes an open case as
#: approved (True) or rejected (False)).
STATUS_ACTIONS: dict[str, tuple[frozenset[ContentStatus], ContentStatus, bool]] = {
    "APPROVE": (frozenset({ContentStatus.PENDING_REVIEW}), ContentStatus.PUBLISHED, True),
    "REJECT": (frozenset({ContentStatus.PENDING_REVIEW}), ContentStatus.HIDDEN, False),
    "HIDE": (
        frozenset({ContentStatus.PUBLISHED, ContentStatus.PENDING_REVIEW}),
        ContentStatus.HIDDEN,
        False,
    ),
    "RESTORE": (
        frozenset({ContentStatus.HIDDEN, ContentStatus.DELETED}),
        ContentStatus.PUBLISHED,
        True,
    ),
    "DELETE": (
        frozenset({ContentStatus.PUBLISHED, ContentStatus.PENDING_REVIEW, ContentStatus.HIDDEN}),
        ContentStatus.DELETED,
        False,
    ),
}
#: action → (the topic flag it sets, its value); only published topics are pinned or featured.
FLAG_ACTIONS: dict[str, tuple[str, bool]] = {
    "LOCK": ("is_locked", True),
    "UNLOCK": ("is_locked", False),
    "PIN": ("is_pinned", True),
    "UNPIN": ("is_pinned", False),
    "FEATURE": ("is_featured", True),
    "UNFEATURE": ("is_featured", False),
}


def _unfit(message: str) -> UserFailure:
    return UserFailure.of(ErrorCode.INVALID, message, ["input", "action"])


async def moderate_content(ctx: Context, gid: str, action: str, note: str | None) -> Content:
    """A moderator acts on a topic or comment; an action that does not fit it is INVALID."""
    moderator = require_moderator(ctx)
    text = clean_note(note, "input", "note")
    kind, pk = _content_id(gid, "input", "id")
    if kind == "Comment" and action in FLAG_ACTIONS:
        raise _unfit(f"{action} applies to topics only.")
    async with atomic():
        locked = await lock_content(kind, pk)
        if locked is None:
            raise UserFailure.of(
                ErrorCode.NOT_FOUND, f"No {kind.lower()} has that id.", ["input", "id"]
            )
        if action in STATUS_ACTIONS:
            applies_to, status, approved = STATUS_ACTIONS[action]
            if locked.status not in applies_to:
                raise _unfit(f"{action} does not apply to {locked.status.lower()} content.")
            await set_status(ctx, locked, status)
            await close_open_case(locked.item, moderator, approved, text)
        else:
            await _set_flag(ctx, locked.topic, action)
        await write_log(moderator, action, global_id(locked.item), text)
    return locked.item


async def _set_flag(ctx: Context, topic: Topic, action: str) -> None:
    name, value = FLAG_ACTIONS[action]
    if getattr(topic, name) == value:
        raise _unfit(f"The topic is {'already' if value else 'not'} {name[3:]}.")
    if value and name != "is_locked" and topic.status != ContentStatus.PUBLISHED:
        raise _unfit(f"Only published topics can be {name[3:]}.")
    setattr(topic, name, value)
    await Topic.filter(id=topic.pk).update(**{name: value})
    if action == "FEATURE":
        await growth.topic_featured(ctx.settings, ctx.redis, topic)
    ctx.loaders.topic_by_id.prime(topic.pk, topic, force=True)
    updated = events.TopicEventKind.UPDATED
    await after_commit(partial(events.topic_changed, ctx.redis, topic.pk, updated))


# ---------------------------------------------------------------- members' standing


async def _standing_target(ctx: Context, member_gid: str, verb: str) -> tuple[Member, Member]:
    """The moderator and the member to act on (not locked): nobody mutes or bans an admin
    or themselves."""
    moderator = require_moderator(ctx)
    member_id = decode_id(member_gid, "Member", field=["memberId"])
    target = await Member.get_or_none(id=member_id)
    if target is None:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No member has that id.", ["memberId"])
    if target.pk == moderator.pk:
        raise UserFailure.of(ErrorCode.FORBIDDEN, f"You cannot {verb} yourself.", ["memberId"])
    if target.role == MemberRole.ADMIN and verb != "restore":
        raise UserFailure.of(ErrorCode.FORBIDDEN, f"Admins cannot be {verb}d.", ["memberId"])
    return moderator, target


async def mute_member(ctx: Context, member_gid: str, until: datetime | None, reason: str) -> Member:
    """The member may read, like and follow but not post or comment until `until` (null:
    until restored)."""
    text = clean_note(reason, "reason", required=True)
    if until is not None and until.tzinfo is None:  # times are UTC
        until = until.replace(tzinfo=UTC)
    if until is not None and until <= now():
        raise UserFailure.of(ErrorCode.INVALID, "until must be in the future.", ["until"])
    moderator, target = await _standing_target(ctx, member_gid, "mute")
    async with atomic():
        member = await growth.lock_member(target.pk)
        member.status, member.muted_until = MemberStatus.MUTED, until
        await Member.filter(id=member.pk).update(status=member.status, muted_until=until)
        await write_log(moderator, "MUTE", global_id(member), text)
    return member


async def ban_member(ctx: Context, member_gid: str, reason: str) -> Member:
    """The member writes nothing any more; what they have waiting for review is rejected
    (hidden, its cases closed as rejected with the ban's reason)."""
    text = clean_note(reason, "reason", required=True)
    moderator, target = await _standing_target(ctx, member_gid, "ban")
    async with atomic():
        # The content first, then the member: the order every write locks them in.
        pending = ContentStatus.PENDING_REVIEW
        held = [("Topic", t.pk) for t in await Topic.filter(author_id=target.pk, status=pending)]
        held += [
            ("Comment", c.pk) for c in await Comment.filter(author_id=target.pk, status=pending)
        ]
        for kind, pk in held:
            locked = await lock_content(kind, pk)
            if locked is not None and locked.status == pending:
                await set_status(ctx, locked, ContentStatus.HIDDEN)
                await close_open_case(locked.item, moderator, False, text)
        member = await growth.lock_member(target.pk)
        member.status, member.muted_until = MemberStatus.BANNED, None
        await Member.filter(id=member.pk).update(status=member.status, muted_until=None)
        await leaderboards.ban_changed(ctx.settings, ctx.redis, member.pk)
        await write_log(moderator, "BAN", global_id(member), text)
    return member


async def restore_member(ctx: Context, member_gid: str, note: str | None) -> Member:
    """Lift a mute or ban: the member is ACTIVE again."""
    text = clean_note(note, "note")
    moderator, target = await _standing_target(ctx, member_gid, "restore")
    async with atomic():
        member = await growth.lock_member(target.pk)
        was_banned = member.status == MemberStatus.BANNED
        member.status, member.muted_until = MemberStatus.ACTIVE, None
        await Member.filter(id=member.pk).update(status=member.status, muted_until=None)
        if was_banned:
            await leaderboards.ban_changed(ctx.settings, ctx.redis, member.pk)
        await write_log(moderator, "RESTORE_MEMBER", global_id(member), text)
    return member
