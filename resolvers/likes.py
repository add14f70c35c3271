"""Likes: one per member and topic or comment, so double clicks and retries count once."""

from __future__ import annotations

from mallforum import events
from mallforum.clock import now
from mallforum.errors import ErrorCode, UserFailure
from mallforum.ids import parse_id
from mallforum.transactions import atomic
from mirrors import tallies
from mirrors.leaderboards import updates as leaderboards
from models import Comment, ContentStatus, Like, LikeSubject, Topic
from resolvers import growth
from resolvers.comments import visible_comment
from resolvers.context import Context
from resolvers.feeds import save_counters
from resolvers.topics import lock_topic, visible_topic


async def _likeable(ctx: Context, global_id: str) -> tuple[LikeSubject, int]:
    parsed = parse_id(global_id)
    subject: Topic | Comment | None = None
    if parsed is not None and parsed[0] == "Topic":
        subject = await visible_topic(ctx, parsed[1])
    elif parsed is not None and parsed[0] == "Comment":
        subject = await visible_comment(ctx, parsed[1])
    if parsed is None or subject is None or subject.status != ContentStatus.PUBLISHED:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No topic or comment has that id.", ["id"])
    return LikeSubject(parsed[0].upper()), subject.pk


async def set_like(ctx: Context, global_id: str, liked: bool) -> Topic | Comment:
    """Like or unlike; the subject comes back with its new likeCount.

    The subject's row is locked first, so every like of one subject is counted in turn
    and `likeCount` always equals the number of like rows.
    """
    member = ctx.require_unbanned_member()
    kind, subject_id = await _likeable(ctx, global_id)
    async with atomic():
        if kind == LikeSubject.TOPIC:
            subject: Topic | Comment = await lock_topic(subject_id)
        else:
            subject = await Comment.select_for_update().get(id=subject_id)
        if subject.status != ContentStatus.PUBLISHED:  # taken down while we waited for it
            raise UserFailure.of(ErrorCode.NOT_FOUND, "No topic or comment has that id.", ["id"])
        mine = Like.filter(member_id=member.pk, subject_kind=kind, subject_id=subject_id)
        like = await mine.first()
        if liked and like is None:
            like = await Like.create(
                member_id=member.pk, subject_kind=kind, subject_id=subject_id, created_at=now()
            )
            subject.like_count += 1
        elif not liked and like is not None:
            await mine.delete()
            subject.like_count -= 1
        else:
            return subject
        if isinstance(subject, Topic):
            await save_counters(subject)
            await tallies.topic_changed(ctx.redis, subject.pk)
        else:
            await Comment.filter(id=subject.pk).update(like_count=subject.like_count)
            await tallies.comment_likes_changed(ctx.redis, subject.pk)
        if subject.author_id != member.pk:  # self-likes count, but earn nothing
            reference = f"{kind.title()}:{subject_id}"
            await growth.like_changed(
                ctx.settings, ctx.redis, subject.author_id, member.pk, reference, liked
            )
            await leaderboards.like_changed(
                ctx.settings, ctx.redis, subject, member.pk, like.created_at, liked
            )
    ctx.loaders.liked_by_viewer.prime((kind, subject_id), liked, force=True)
    if liked:
        await growth.record_activity(ctx.settings, ctx.redis, member.pk)
        if isinstance(subject, Topic):
            await events.topic_changed(ctx.redis, subject.pk, events.TopicEventKind.LIKED)
    return subject
