"""Steps of the leaderboard tests: every leaderboard counted from the rows and read through
GraphQL, a community driven through the resolvers, and focused readings."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mallforum import clock
from mallforum.auth import Principal
from mallforum.clock import now
from mallforum.ids import encode_id
from models import (
    Comment,
    ContentStatus,
    Like,
    LikeSubject,
    Member,
    MemberStatus,
    PointTransaction,
    Topic,
    TopicKind,
)
from moderation import Pipeline
from resolvers import comments, growth, likes, moderation_cases, topics
from resolvers.context import Context
from resolvers.loaders import Loaders
from tests.forum import MODERATOR, create_board, create_comment, create_topic, pk_of
from tests.moderation.steps import HoldWord
from tests.topics.like_steps import like, unlike

KINDS = ("EXPERIENCE", "LIKES_RECEIVED", "POSTS")
PERIODS = ("DAILY", "WEEKLY", "MONTHLY", "ALL_TIME")
MOD = {"as_": MODERATOR, "roles": ("moderator",)}
ENTRY = "rank score member { id }"

LEADERBOARD = f"""
query($kind: LeaderboardKind, $period: LeaderboardPeriod, $board: String, $first: Int) {{
  leaderboard(kind: $kind, period: $period, boardSlug: $board, first: $first) {{ {ENTRY} }}
}}"""
VIEWER_RANK = f"""
query($kind: LeaderboardKind, $period: LeaderboardPeriod, $board: String) {{
  viewerRank(kind: $kind, period: $period, boardSlug: $board) {{ {ENTRY} }}
}}"""
BAN = """
mutation($id: ID!) {
  banMember(memberId: $id, reason: "spam") { member { status } errors { code } }
}"""
RESTORE_MEMBER = """
mutation($id: ID!) { restoreMember(memberId: $id) { member { status } errors { code } } }
"""
MODERATE = """
mutation($id: ID!, $action: ModerationAction!) {
  moderateContent(input: {id: $id, action: $action}) { errors { code message } }
}"""
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) { errors { code } } }"

Standing = list[tuple[int, int]]


# ---------------------------------------------------------------- the count from the rows


def period_bounds(period: str, moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The period holding `moment`, written out here apart from the service's own code."""
    today = moment.astimezone(zone).date()
    if period == "DAILY":
        first, after = today, today + timedelta(days=1)
    elif period == "WEEKLY":
        first = today - timedelta(days=today.weekday())
        after = first + timedelta(days=7)
    else:
        first = date(today.year, today.month, 1)
        after = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return datetime.combine(first, time(), zone), datetime.combine(after, time(), zone)


def cut(at: datetime, period: str) -> datetime:
    """The time of reaching a total, to the precision ties are told apart at."""
    step = 1_000_000 if period == "ALL_TIME" else 1_000
    return at.replace(microsecond=at.microsecond - at.microsecond % step)


class Rows:
    """Everything the leaderboards count, read from the database at one moment."""

    counted: dict[str, list[tuple[int, int, datetime, int]]]
    banned: set[int]

    @classmethod
    async def read(cls) -> Rows:
        rows = cls()
        board_of_topic = {}
        shown: dict[tuple[str, int], tuple[int, int]] = {}  # subject → author, board
        posts = []
        for topic in await Topic.all():
            board_of_topic[topic.pk] = topic.board_id
            if topic.status == ContentStatus.PUBLISHED:
                posts.append((topic.author_id, topic.board_id, topic.created_at, 1))
                shown[(LikeSubject.TOPIC, topic.pk)] = (topic.author_id, topic.board_id)
        for comment in await Comment.all():
            if comment.status == ContentStatus.PUBLISHED:
                board_id = board_of_topic[comment.topic_id]
                posts.append((comment.author_id, board_id, comment.created_at, 1))
                shown[(LikeSubject.COMMENT, comment.pk)] = (comment.author_id, board_id)
        likes_received = []
        for row in await Like.all():
            subject = shown.get((row.subject_kind, row.subject_id))
            if subject is not None and subject[0] != row.member_id:
                likes_received.append((subject[0], subject[1], row.created_at, 1))
        board_of_comment = {c.pk: board_of_topic[c.topic_id] for c in await Comment.all()}
        boards_of = {"Topic": board_of_topic, "Comment": board_of_comment}
        boards_of["Answer"] = board_of_comment  # an accepted answer is a comment
        experience = []
        for row in await PointTransaction.all():
            kind, _, pk = (row.reference or "").partition(":")
            board_id = boards_of[kind][int(pk)] if kind in boards_of else None
            assert row.board_id == board_id, row.reference  # as the ledger wrote it
            if row.experience:
                experience.append((row.member_id, board_id, row.created_at, row.experience))
        rows.counted = {"EXPERIENCE": experience, "LIKES_RECEIVED": likes_received, "POSTS": posts}
        rows.banned = {m.pk for m in await Member.filter(status=MemberStatus.BANNED)}
        return rows

    def standing(
        self, kind: str, period: str, board_id: int | None, moment: datetime, zone: ZoneInfo
    ) -> Standing:
        """(member id, total), best first: the higher total, then who reached it first, then
        the lower id; totals above zero, banned members left out."""
        start, end = period_bounds(period, moment, zone)
        totals: dict[int, tuple[int, datetime]] = {}
        for member_id, row_board, at, amount in self.counted[kind]:
            if board_id is not None and row_board != board_id:
                continue
            if period != "ALL_TIME" and not start <= at < end:
                continue
            total, latest = totals.get(member_id, (0, at))
            totals[member_id] = (total + amount, max(latest, at))
        ranked = [
            (member_id, total, latest)
            for member_id, (total, latest) in totals.items()
            if total > 0 and member_id not in self.banned
        ]
        ranked.sort(key=lambda r: (-r[1], cut(r[2], period), r[0]))
        return [(member_id, total) for member_id, total, _ in ranked]


def as_standing(entries: list[dict[str, Any]]) -> Standing:
    assert [entry["rank"] for entry in entries] == list(range(1, len(entries) + 1))
    return [(pk_of(entry["member"]["id"]), int(entry["score"])) for entry in entries]


# ---------------------------------------------------------------- reading every leaderboard


def every_leaderboard(slugs: dict[int, str]) -> list[tuple[str, str, int | None]]:
    return [
        (kind, period, board_id)
        for kind in KINDS
        for period in PERIODS
        for board_id in [None, *slugs]
    ]


def aliased(field: str, cases: list[tuple[str, str, int | None]], slugs, extra: str = "") -> str:
    parts = []
    for n, (kind, period, board_id) in enumerate(cases):
        board = f', boardSlug: "{slugs[board_id]}"' if board_id is not None else ""
        parts.append(f"b{n}: {field}(kind: {kind}, period: {period}{board}{extra}) {{ {ENTRY} }}")
    return "{ " + " ".join(parts) + " }"


async def read_all(
    api, slugs: dict[int, str], field: str = "leaderboard", as_: str | None = None
) -> dict[tuple[str, str, int | None], Any]:
    """Every kind × period × (community, each board) through GraphQL, in few requests."""
    cases = every_leaderboard(slugs)
    found: dict[tuple[str, str, int | None], Any] = {}
    extra = ", first: 100" if field == "leaderboard" else ""
    for start in range(0, len(cases), 24):
        chunk = cases[start : start + 24]
        data = await api(aliased(field, chunk, slugs, extra), as_=as_)
        for n, case in enumerate(chunk):
            found[case] = data[f"b{n}"]
    return found


async def assert_all_match(
    api, slugs: dict[int, str], zone: ZoneInfo, viewers: Iterable[str] = ()
) -> None:
    """Every leaderboard, and the given members' places on each, equal the rows' count."""
    moment = now()
    rows = await Rows.read()
    answers = await read_all(api, slugs)
    for case, entries in answers.items():
        expected = rows.standing(*case, moment, zone)
        assert as_standing(entries) == expected, (case, moment)
    ids = {m.mall_user_id: m.pk for m in await Member.all()}
    for sub in viewers:
        places = await read_all(api, slugs, "viewerRank", as_=sub)
        for case, place in places.items():
            expected = rows.standing(*case, moment, zone)
            mine = [(n + 1, total) for n, (m, total) in enumerate(expected) if m == ids[sub]]
            found = [] if place is None else [(place["rank"], int(place["score"]))]
            assert found == mine, (sub, case)


# ---------------------------------------------------------------- driving the service


class Community:
    """Members, boards and content, changed through the resolvers (not over HTTP, so that a
    few thousand events take seconds), with texts containing "hold-me" held for review."""

    def __init__(self, app, settings, rng: random.Random) -> None:
        self.app, self.settings, self.rng = app, settings, rng
        self.pipeline = Pipeline([HoldWord("hold-me")])
        self.ids: dict[str, int] = {}
        self.banned: set[str] = set()

    async def context(self, sub: str, *roles: str) -> Context:
        services = self.app.state.services
        member = await Member.get(mall_user_id=sub)
        return Context(
            settings=self.settings,
            redis=services["redis"],
            principal=Principal(sub, sub, None, frozenset(roles)),
            viewer=member,
            loaders=Loaders(member.pk, services["redis"]),
            moderation=self.pipeline,
            word_rules=services["word_rules"],
        )

    async def moderator(self) -> Context:
        return await self.context(MODERATOR, "moderator")

    async def topic(self, sub: str, board_id: int, held: bool = False) -> None:
        body = f"{'hold-me ' if held else ''}topic {self.rng.random()}"
        data = topics.TopicInput(title=f"t{self.rng.random()}", body=body)
        gid = encode_id("Board", board_id)
        await topics.create_topic(await self.context(sub), gid, TopicKind.DISCUSSION, data)

    async def comment(self, sub: str, topic_id: int, held: bool = False) -> None:
        body = f"{'hold-me ' if held else ''}comment {self.rng.random()}"
        gid = encode_id("Topic", topic_id)
        await comments.create_comment(await self.context(sub), gid, body, None)

    async def like(self, sub: str, gid: str, liked: bool) -> None:
        await likes.set_like(await self.context(sub), gid, liked)

    async def moderate(self, gid: str, action: str) -> None:
        await moderation_cases.moderate_content(await self.moderator(), gid, action, None)

    async def delete(self, sub: str, gid: str) -> None:
        ctx = await self.context(sub)
        if gid == encode_id("Topic", pk_of(gid)):
            await topics.delete_topic(ctx, gid)
        else:
            await comments.delete_comment(ctx, gid)

    async def check_in(self, sub: str) -> None:
        await growth.check_in(await self.context(sub))

    async def ban(self, sub: str, banned: bool) -> None:
        gid = encode_id("Member", self.ids[sub])
        if banned:
            await moderation_cases.ban_member(await self.moderator(), gid, "spam")
        else:
            await moderation_cases.restore_member(await self.moderator(), gid, None)


async def content_rows() -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """The topics, and every topic and comment by global ID, as the rows are now."""
    topics_ = await Topic.all().values("id", "author_id", "status")
    comments_ = await Comment.all().values("id", "author_id", "status")
    content = [(encode_id("Topic", t["id"]), t) for t in topics_]
    content += [(encode_id("Comment", c["id"]), c) for c in comments_]
    return topics_, content


async def random_event(
    community: Community,
    subs: list[str],
    board_ids: list[int],
    rows: tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]],
) -> None:
    """One event chosen at random among those the rows allowed a moment ago; what the rules
    refuse now (a like of content hidden meanwhile...) simply does not happen."""
    rng = community.rng
    active = [s for s in subs if s not in community.banned]
    sub = rng.choice(active)
    topics_, content = rows
    published = [(gid, row) for gid, row in content if row["status"] == ContentStatus.PUBLISHED]
    roll = rng.random()
    if roll < 0.10 or not topics_:
        await community.topic(sub, rng.choice(board_ids), held=rng.random() < 0.1)
    elif roll < 0.28:
        live = [t for t in topics_ if t["status"] == ContentStatus.PUBLISHED]
        if live:
            await community.comment(sub, rng.choice(live)["id"], held=rng.random() < 0.1)
    elif roll < 0.68:
        if published:
            await community.like(sub, rng.choice(published)[0], True)
    elif roll < 0.80:
        mine = await Like.filter(member_id=community.ids[sub]).values("subject_kind", "subject_id")
        if mine:
            chosen = rng.choice(mine)
            gid = encode_id(chosen["subject_kind"].title(), chosen["subject_id"])
            await community.like(sub, gid, False)
    elif roll < 0.86:
        if published:
            await community.moderate(rng.choice(published)[0], "HIDE")
    elif roll < 0.90:
        removed = [(g, r) for g, r in content if r["status"] in ("HIDDEN", "DELETED")]
        if removed:
            await community.moderate(rng.choice(removed)[0], "RESTORE")
    elif roll < 0.92:
        held = [(g, r) for g, r in content if r["status"] == ContentStatus.PENDING_REVIEW]
        if held:
            await community.moderate(rng.choice(held)[0], "APPROVE")
    elif roll < 0.94:
        own = [(g, r) for g, r in published if r["author_id"] == community.ids[sub]]
        if own:
            await community.delete(sub, rng.choice(own)[0])
    elif roll < 0.985:
        await community.check_in(sub)
    else:
        target = rng.choice(subs)
        banning = target not in community.banned
        if banning and len(community.banned) >= 3:
            return
        (community.banned.add if banning else community.banned.discard)(target)
        await community.ban(target, banning)


async def standing(api, kind: str, period: str, board: str | None = None, as_=None) -> Standing:
    data = await api(
        LEADERBOARD, {"kind": kind, "period": period, "board": board, "first": 100}, as_=as_
    )
    return as_standing(data["leaderboard"])


async def place(api, sub: str, kind: str, period: str, board: str | None = None):
    data = await api(VIEWER_RANK, {"kind": kind, "period": period, "board": board}, as_=sub)
    entry = data["viewerRank"]
    return None if entry is None else (entry["rank"], int(entry["score"]))


async def ids_of(*subs: str) -> list[int]:
    members = {m.mall_user_id: m.pk for m in await Member.filter(mall_user_id__in=subs)}
    return [members[sub] for sub in subs]


#: A database of the Redis server that only the flush test uses: FLUSHALL would also wipe
#: the keys of the other test runs sharing the server, FLUSHDB of this one wipes only ours.
FLUSHED_DB = 13


async def some_activity(api, board_ids: list[str], rng: random.Random, rounds: int) -> None:
    """Topics, comments, likes and unlikes by a handful of members, through GraphQL."""
    subs = ["alice", "bob", "carol", "dave", "erin"]
    topic_ids = [t.pk for t in await Topic.filter(status=ContentStatus.PUBLISHED)]
    for _ in range(rounds):
        roll = rng.random()
        if roll < 0.3 or not topic_ids:
            topic = await create_topic(api, rng.choice(board_ids), author=rng.choice(subs))
            topic_ids.append(pk_of(topic["id"]))
        elif roll < 0.5:
            await create_comment(api, encode_id("Topic", rng.choice(topic_ids)), rng.choice(subs))
        elif roll < 0.85:
            await like(api, encode_id("Topic", rng.choice(topic_ids)), as_=rng.choice(subs))
        else:
            await unlike(api, encode_id("Topic", rng.choice(topic_ids)), as_=rng.choice(subs))
        clock.travel(timedelta(minutes=rng.randint(1, 240)))


async def community_with_boards(api) -> tuple[list[str], dict[int, str]]:
    boards = [await create_board(api, slug) for slug in ("beauty", "digital")]
    return [b["id"] for b in boards], {pk_of(b["id"]): b["slug"] for b in boards}
