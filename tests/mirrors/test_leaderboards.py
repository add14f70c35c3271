"""Leaderboards: every kind, period and board, read from Redis, equal to a count made from the
rows; kept right across periods, a flushed Redis, an unreachable Redis and a cold key read by
50 members at once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mallforum import clock, missed_writes
from mallforum.auth import Principal
from mallforum.clock import now
from mallforum.errors import UserFailure
from mallforum.ids import encode_id
from mallforum.redis_store import RedisStore
from mirrors import reconcile
from mirrors.leaderboards import build
from mirrors.leaderboards.periods import ranked_member
from models import (
    Comment,
    ContentStatus,
    Like,
    LikeSubject,
    Member,
    MemberStatus,
    PointReason,
    PointTransaction,
    Topic,
    TopicKind,
)
from moderation import Pipeline
from resolvers import comments, growth, likes, moderation_cases, topics
from resolvers.context import Context
from resolvers.loaders import Loaders
from tests import stores
from tests.clock_steps import local, pin_clock, set_clock
from tests.forum import (
    MODERATOR,
    concurrently,
    create_board,
    create_comment,
    create_topic,
    pk_of,
    promote,
)
from tests.moderation.steps import HoldWord
from tests.topics.test_likes import LIKE, UNLIKE, like, unlike

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar

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


# ---------------------------------------------------------------- tests


async def test_every_leaderboard_equals_the_count_from_the_rows_over_random_events(
    api, app, settings
):
    """A few thousand random posts, likes, unlikes, hides, restores, deletions, check-ins,
    bans and unbans over nine days crossing a month's end and a Monday, some at the same
    time: every leaderboard (kind × period × community and each board) and members' places,
    read through GraphQL, equal the count from the rows; keys expire at random meanwhile."""
    rng = random.Random(6)
    zone = settings.zone
    set_clock(local(api, date(2031, 1, 28), 21))  # a Tuesday; February starts on Saturday
    subs = [f"m{n:02d}" for n in range(14)]
    for sub in [*subs, MODERATOR]:
        await api("{ viewer { id } }", as_=sub, roles=("moderator",) if sub == MODERATOR else ())
    boards = [await create_board(api, slug) for slug in ("beauty", "digital", "outfits")]
    slugs = {pk_of(board["id"]): board["slug"] for board in boards}
    community = Community(app, settings, rng)
    community.ids = {m.mall_user_id: m.pk for m in await Member.all()}
    store = app.state.services["redis"]

    events, batch = 1600, 8
    for step in range(events // batch):
        clock.travel(timedelta(minutes=rng.expovariate(1 / 65)))
        rows = await content_rows()
        results = await asyncio.gather(
            *(random_event(community, subs, list(slugs), rows) for _ in range(batch)),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, UserFailure):
                raise result
        if step % 40 == 5:
            await assert_all_match(api, slugs, zone, viewers=rng.sample(subs, 2))
            # Let a few keys expire (be evicted) at random: the next read rebuilds them.
            keys = [k async for k in store.client.scan_iter(f"{store.keys.prefix}:lb:*}}")]
            for key in rng.sample(keys, min(4, len(keys))):
                await store.client.delete(key)
    await assert_all_match(api, slugs, zone, viewers=subs[:3])
    assert now() > local(api, date(2031, 2, 4), 0)  # past a month's end and a Monday
    rows = await Rows.read()
    assert len(rows.counted["LIKES_RECEIVED"]) > 200 and len(rows.counted["POSTS"]) > 200
    negative = await PointTransaction.filter(reason=PointReason.CONTENT_REMOVED).count()
    assert negative > 0


# ---------------------------------------------------------------- focused cases


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


async def test_likes_count_for_the_author_and_ties_go_to_who_got_there_first(api):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board = await create_board(api)
    first = await create_topic(api, board["id"], author="alice")
    second = await create_topic(api, board["id"], author="bob")
    alice, bob = await ids_of("alice", "bob")
    await like(api, second["id"], as_="carol")  # bob reaches 1 first
    await like(api, first["id"], as_="carol")
    await like(api, first["id"], as_="alice")  # a self-like counts for nothing
    assert await standing(api, "LIKES_RECEIVED", "DAILY") == [(bob, 1), (alice, 1)]
    assert await place(api, "alice", "LIKES_RECEIVED", "DAILY") == (2, 1)
    await like(api, first["id"], as_="dave")
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY", "beauty") == [(alice, 2), (bob, 1)]
    await unlike(api, first["id"], as_="dave")  # back to 1, reached when carol liked it
    assert await standing(api, "LIKES_RECEIVED", "MONTHLY") == [(bob, 1), (alice, 1)]
    await unlike(api, second["id"], as_="carol")
    assert await standing(api, "LIKES_RECEIVED", "ALL_TIME") == [(alice, 1)]
    assert await place(api, "bob", "LIKES_RECEIVED", "ALL_TIME") is None
    assert await place(api, "carol", "LIKES_RECEIVED", "ALL_TIME") is None


async def test_hidden_content_takes_its_post_and_likes_off_and_restoring_puts_them_back(api):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    comment = await create_comment(api, topic["id"], author="bob")
    await like(api, topic["id"], as_="bob")
    await like(api, comment["id"], as_="alice")
    alice, bob = await ids_of("alice", "bob")
    assert await standing(api, "POSTS", "DAILY") == [(alice, 1), (bob, 1)]
    await api(MODERATE, {"id": topic["id"], "action": "HIDE"}, **MOD)
    assert await standing(api, "POSTS", "DAILY") == [(bob, 1)]
    assert await standing(api, "LIKES_RECEIVED", "DAILY") == [(bob, 1)]
    await api(MODERATE, {"id": topic["id"], "action": "RESTORE"}, **MOD)
    # Back as it was: alice's topic and its like came before bob's comment and its like.
    assert await standing(api, "POSTS", "DAILY", "beauty") == [(alice, 1), (bob, 1)]
    assert await standing(api, "LIKES_RECEIVED", "DAILY") == [(alice, 1), (bob, 1)]
    await api(DELETE_COMMENT, {"id": comment["id"]}, as_="bob")
    assert await standing(api, "POSTS", "WEEKLY") == [(alice, 1)]
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY") == [(alice, 1)]


async def test_a_banned_member_drops_out_and_comes_back_with_what_the_rows_say(api):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    await like(api, topic["id"], as_="bob")
    await api("{ viewer { id } }", **MOD)
    alice, bob = await ids_of("alice", "bob")
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY") == [(alice, 1)]
    banned = await api(BAN, {"id": encode_id("Member", alice)}, **MOD)
    assert banned["banMember"]["errors"] == []
    for kind in KINDS:
        assert alice not in dict(await standing(api, kind, "WEEKLY"))
    await like(api, topic["id"], as_="carol")  # while banned: not added
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY") == []
    assert await place(api, "alice", "LIKES_RECEIVED", "WEEKLY") is None
    await api(RESTORE_MEMBER, {"id": encode_id("Member", alice)}, **MOD)
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY", "beauty") == [(alice, 2)]
    assert await standing(api, "POSTS", "ALL_TIME") == [(alice, 1)]
    experience = await standing(api, "EXPERIENCE", "DAILY")
    assert dict(experience)[alice] == 10 + 10 + 2 * 2  # welcome, topic, two likes
    assert dict(experience)[bob] == 10


async def test_a_new_day_starts_an_empty_daily_leaderboard_and_a_monday_a_new_week(api):
    board = await create_board(api)
    set_clock(local(api, date(2031, 3, 30), 23, 50))  # a Sunday, the month's second-last day
    topic = await create_topic(api, board["id"], author="alice")
    await like(api, topic["id"], as_="bob")
    (alice,) = await ids_of("alice")
    for period in PERIODS:
        assert await standing(api, "POSTS", period) == [(alice, 1)], period
    set_clock(local(api, date(2031, 3, 31), 0, 5))  # Monday: a new day and a new week
    assert await standing(api, "POSTS", "DAILY") == []
    assert await standing(api, "POSTS", "WEEKLY") == []
    assert await standing(api, "POSTS", "MONTHLY") == [(alice, 1)]
    await like(api, topic["id"], as_="carol")
    assert await standing(api, "LIKES_RECEIVED", "DAILY") == [(alice, 1)]
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY", "beauty") == [(alice, 1)]
    assert await standing(api, "LIKES_RECEIVED", "MONTHLY") == [(alice, 2)]
    set_clock(local(api, date(2031, 4, 1), 9))  # April: a new month, the same week
    assert await standing(api, "LIKES_RECEIVED", "MONTHLY") == []
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY") == [(alice, 1)]
    assert await standing(api, "LIKES_RECEIVED", "ALL_TIME") == [(alice, 2)]


async def test_period_keys_expire_a_day_after_their_period_and_all_time_ones_never(
    api, app, settings
):
    set_clock(local(api, date(2031, 5, 14), 18))  # a Wednesday
    board = await create_board(api)
    await create_topic(api, board["id"], author="alice")
    for period in PERIODS:
        await standing(api, "POSTS", period)
    store = app.state.services["redis"]
    ttl = {}
    for label in ("d2031-05-14", "w2031-W20", "m2031-05", "all"):
        ttl[label] = await store.client.ttl(store.keys.leaderboard("posts", "all", label))
    hour = 3600
    assert ttl["all"] == -1
    assert abs(ttl["d2031-05-14"] - (6 + 24) * hour) <= 2  # 18:00 on the day, then a day
    assert abs(ttl["w2031-W20"] - (6 + 4 * 24 + 24) * hour) <= 2  # a Wednesday
    assert abs(ttl["m2031-05"] - (6 + 17 * 24 + 24) * hour) <= 2  # the 14th of 31 days


async def test_first_is_capped_at_100_and_an_unknown_board_has_no_leaderboard(api):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    response = await api.post(LEADERBOARD, {"first": 101})
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID"
    board = await create_board(api)
    vip = await create_board(api, "vip-lounge", minLevelToView=3, minLevelToPost=3)
    await create_topic(api, board["id"], author="alice")
    await promote(api, "carol", 3)
    await create_topic(api, vip["id"], author="carol")
    assert await standing(api, "POSTS", "DAILY", "beauty") != []
    assert await standing(api, "POSTS", "DAILY", "vip-lounge", as_="carol") != []
    for slug in ("nowhere", "vip-lounge"):  # not there; not for alice's level
        answer = await api(LEADERBOARD, {"kind": "POSTS", "board": slug}, as_="alice")
        assert answer == {"leaderboard": []}
        assert await place(api, "alice", "POSTS", "DAILY", slug) is None
    anonymous = await api("{ leaderboard { rank } viewerRank { rank } }")
    assert anonymous == {"leaderboard": [{"rank": 1}, {"rank": 2}, {"rank": 3}], "viewerRank": None}


# ---------------------------------------------------------------- Redis forgets, or is gone

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


async def test_every_leaderboard_is_right_again_after_redis_loses_its_data(api, app, settings):
    services = app.state.services
    working = services["redis"]
    flushed = RedisStore.connect(
        stores.REDIS_URL.rsplit("/", 1)[0] + f"/{FLUSHED_DB}", settings.redis_prefix
    )
    assert await flushed.client.dbsize() == 0, f"Redis database {FLUSHED_DB} is not free"
    services["redis"] = flushed
    try:
        rng = random.Random(13)
        set_clock(local(api, date(2031, 6, 29), 20))  # a Sunday, the month's last but one
        board_ids, slugs = await community_with_boards(api)
        await some_activity(api, board_ids, rng, 40)
        await assert_all_match(api, slugs, settings.zone, viewers=["alice"])
        assert await flushed.client.exists(flushed.keys.leaderboard("posts", "all", "all"))
        await flushed.client.flushdb()  # Redis restarted empty, say
        await some_activity(api, board_ids, rng, 25)  # updates find no keys: they skip them
        await assert_all_match(api, slugs, settings.zone, viewers=["bob", "carol"])
        assert await flushed.client.exists(flushed.keys.leaderboard("posts", "all", "all"))
    finally:
        services["redis"] = working
        await flushed.client.flushdb()
        await flushed.close()


async def test_leaderboards_answer_from_the_rows_while_redis_is_down(
    api, app, settings, redis_down
):
    rng = random.Random(21)
    set_clock(local(api, date(2031, 8, 31), 22))  # a Sunday, the month's last day
    board_ids, slugs = await community_with_boards(api)
    await some_activity(api, board_ids, rng, 30)
    await assert_all_match(api, slugs, settings.zone)  # the keys are built
    async with redis_down():
        await some_activity(api, board_ids, rng, 20)  # writes succeed
        await assert_all_match(api, slugs, settings.zone, viewers=["alice", "dave"])
        assert missed_writes.pending()  # the keys missed those writes
    assert await reconcile.reconcile(settings, app.state.services["redis"])
    await assert_all_match(api, slugs, settings.zone, viewers=["erin"])


async def test_a_cold_leaderboard_is_rebuilt_once_for_50_readers_at_once(api, app, sql_statements):
    pin_clock(api, date(2031, 6, 2), 0, 30)  # a Monday: the activity stays within its week
    board_ids, _ = await community_with_boards(api)
    await some_activity(api, board_ids, random.Random(50), 40)
    store = app.state.services["redis"]
    expected = (await Rows.read()).standing(
        "LIKES_RECEIVED", "WEEKLY", None, now(), api.settings.zone
    )
    assert len(expected) >= 3
    keys = [k async for k in store.client.scan_iter(f"{store.keys.prefix}:lb:*")]
    if keys:
        await store.client.delete(*keys)
    variables = {"kind": "LIKES_RECEIVED", "period": "WEEKLY", "first": 100}
    with sql_statements as counter:
        answers = await concurrently(api.post(LEADERBOARD, variables) for _ in range(50))
    rebuilds = [s for s in counter.statements if "pg_current_snapshot" in s]
    assert len(rebuilds) == 1
    assert all(as_standing(a["leaderboard"]) == expected for a in answers)


async def test_the_top_20_costs_the_same_statements_for_20_members_as_for_100(
    api, redis_down, sql_statements
):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    small, large = await create_board(api, "small"), await create_board(api, "large")
    joined = now()
    await Member.bulk_create(
        [Member(mall_user_id=f"s{n}", nickname=f"s{n}", joined_at=joined) for n in range(100)]
    )
    members = await Member.filter(mall_user_id__startswith="s").order_by("id")
    rows = [
        PointTransaction(
            member_id=member.pk,
            delta=0,
            experience=n + 1,
            reason=PointReason.ADMIN_ADJUSTMENT,
            idempotency_key=f"seed:{member.pk}:{board['id']}",
            balance_after=0,
            day=joined.date(),
            created_at=joined,
            board_id=pk_of(board["id"]),
        )
        for board, count in ((small, 20), (large, 100))
        for n, member in enumerate(members[:count])
    ]
    await PointTransaction.bulk_create(rows)
    top = [(m.pk, 100 - n) for n, m in enumerate(reversed(members))][:20]

    async def cost(slug: str) -> int:
        variables = {"kind": "EXPERIENCE", "period": "DAILY", "board": slug, "first": 20}
        with sql_statements as counter:
            data = await api(LEADERBOARD, variables)
        assert len(data["leaderboard"]) == 20
        if slug == "large":
            assert as_standing(data["leaderboard"]) == top
        return len(counter.statements)

    cold = {slug: await cost(slug) for slug in ("small", "large")}  # rebuilt from the rows
    warm = {slug: await cost(slug) for slug in ("small", "large")}  # from Redis
    async with redis_down():
        down = {slug: await cost(slug) for slug in ("small", "large")}  # from the rows
    assert cold["small"] == cold["large"]
    assert warm["small"] == warm["large"] == 2  # the board, then the 20 members at once
    assert down["small"] == down["large"] == 3  # the board, the ranking, the members


async def test_rebuild_all_writes_every_current_leaderboard_from_the_rows(api, app, settings):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board_ids, slugs = await community_with_boards(api)
    await some_activity(api, board_ids, random.Random(36), 30)
    await assert_all_match(api, slugs, settings.zone)
    store = app.state.services["redis"]
    wrong = store.keys.leaderboard("posts", "all", "all")
    (alice,) = await ids_of("alice")
    await store.client.zadd(wrong, {ranked_member(alice): -1000 * 2**31})
    written = await build.rebuild_all(settings, store)
    assert written == 3 * 4 * (1 + len(slugs))  # kinds × periods × (community, boards)
    await assert_all_match(api, slugs, settings.zone, viewers=["alice"])


async def test_likes_unlikes_and_hiding_at_once_leave_every_leaderboard_right(
    api, settings, no_rate_limits
):
    """Members like and unlike one author's topics all at once, over HTTP, while a moderator
    hides and restores one of them: the updates reach Redis in whatever order, and every
    leaderboard still equals the rows."""
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board = await create_board(api)
    texts = ["Serum review", "Best sunscreen for summer", "My skin care routine"]
    topics_ = [
        await create_topic(api, board["id"], author="alice", title=text, body=f"All about: {text}")
        for text in texts
    ]
    await create_topic(api, board["id"], author="bob", title="Lipstick", body="Which shade?")
    likers = [f"fan{n}" for n in range(16)]
    await concurrently(api.post("{ viewer { id } }", as_=sub) for sub in [*likers, MODERATOR])
    slugs = {pk_of(board["id"]): board["slug"]}
    await assert_all_match(api, slugs, settings.zone)  # built, so what follows updates it
    rng = random.Random(16)
    for round_ in range(3):
        requests = [
            api.post(
                LIKE if rng.random() < 0.7 else UNLIKE, {"id": rng.choice(topics_)["id"]}, as_=sub
            )
            for sub in likers
        ]
        action = "HIDE" if round_ % 2 == 0 else "RESTORE"
        requests.append(api.post(MODERATE, {"id": topics_[0]["id"], "action": action}, **MOD))
        await concurrently(requests)
        await assert_all_match(api, slugs, settings.zone, viewers=["alice"])
