"""Experience, points and the ledger, through the API: the welcome gift, what topics,
comments and likes earn within their daily caps, what deleting content takes back, levels
rising with experience, who sees points, the viewer's point history, admins' adjustments,
and the database's own refusal of a negative balance."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

import pytest
from tortoise.exceptions import IntegrityError

from mallforum import clock
from models import Member, OutboxEvent, PointReason, PointTransaction
from tests.clock_steps import pin_clock
from tests.forum import (
    ADMIN,
    CALLERS,
    CREATE_COMMENT,
    CREATE_TOPIC,
    LIKE,
    MODERATOR,
    concurrently,
    create_board,
    create_comment,
    create_topic,
    pk_of,
)

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar

VIEWER = "{ viewer { id experience points level { level name } } }"
MEMBER = "query($id: ID!) { member(id: $id) { id points experience } }"
HISTORY = """
query($first: Int, $after: String) {
  pointHistory(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id delta reason note balanceAfter } }
  }
}"""
ADJUST = """
mutation($memberId: ID!, $delta: Int!, $reason: String!, $key: String!) {
  adjustPoints(memberId: $memberId, delta: $delta, reason: $reason, idempotencyKey: $key) {
    transaction { id delta reason note balanceAfter }
    errors { field code message }
  }
}"""
UNLIKE = "mutation($id: ID!) { unlike(id: $id) { errors { code } } }"
DELETE_TOPIC = "mutation($id: ID!) { deleteTopic(id: $id) { deletedId errors { code } } }"
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) { deletedId errors { code } } }"
ADMIN_ROLES = ("admin",)


# ---------------------------------------------------------------- helpers


def earning(api, reason):
    return api.settings.earning(reason)


async def viewer(api, sub):
    return (await api(VIEWER, as_=sub))["viewer"]


async def history(api, sub, first=None, after=None):
    variables = {"first": first, "after": after}
    return (await api(HISTORY, variables, as_=sub))["pointHistory"]


async def history_rows(api, sub):
    """(reason, delta, balanceAfter) of the viewer's whole ledger, newest first."""
    edges = (await history(api, sub, first=100))["edges"]
    return [(e["node"]["reason"], e["node"]["delta"], e["node"]["balanceAfter"]) for e in edges]


async def rows_of(sub, reason):
    member = await Member.get(mall_user_id=sub)
    return await PointTransaction.filter(member_id=member.pk, reason=reason).order_by("id")


async def assert_ledger_matches(sub):
    """The stored balance is the sum of the member's ledger and its latest balance_after."""
    member = await Member.get(mall_user_id=sub)
    rows = await PointTransaction.filter(member_id=member.pk).order_by("id")
    assert sum(row.delta for row in rows) == member.points
    assert rows[-1].balance_after == member.points
    assert member.points >= 0
    return member


async def adjust(api, member_gid, delta, key, reason="Goodwill", as_=ADMIN, roles=ADMIN_ROLES):
    variables = {"memberId": member_gid, "delta": delta, "reason": reason, "key": key}
    return (await api(ADJUST, variables, as_=as_, roles=roles))["adjustPoints"]


async def like(api, subject_id, as_):
    assert (await api(LIKE, {"id": subject_id}, as_=as_))["like"]["errors"] == []


async def set_experience(sub, experience):
    """Set-up: give a member (already provisioned) this much experience, its level kept."""
    await Member.filter(mall_user_id=sub).update(experience=experience)


# ---------------------------------------------------------------- welcome gift


async def test_a_new_member_gets_the_welcome_gift_on_the_first_request_only(api):
    gift = earning(api, PointReason.WELCOME_GIFT)
    for _ in range(3):
        shown = await viewer(api, "newbie")
        assert (shown["points"], shown["experience"]) == (gift.points, gift.experience)
    assert await history_rows(api, "newbie") == [("WELCOME_GIFT", gift.points, gift.points)]
    assert len(await rows_of("newbie", PointReason.WELCOME_GIFT)) == 1
    await assert_ledger_matches("newbie")


async def test_concurrent_first_requests_of_a_new_member_give_one_welcome_gift(api):
    gift = earning(api, PointReason.WELCOME_GIFT)
    answers = await concurrently(api.post(VIEWER, as_="newbie") for _ in range(10))
    assert {(a["viewer"]["points"], a["viewer"]["experience"]) for a in answers} == {
        (gift.points, gift.experience)
    }
    assert await Member.filter(mall_user_id="newbie").count() == 1
    assert len(await rows_of("newbie", PointReason.WELCOME_GIFT)) == 1
    member = await assert_ledger_matches("newbie")
    assert (member.points, member.experience) == (gift.points, gift.experience)


# ---------------------------------------------------------------- earning


async def test_publishing_a_topic_and_a_comment_earns_their_configured_amounts(api):
    gift = earning(api, PointReason.WELCOME_GIFT)
    for_topic = earning(api, PointReason.TOPIC_CREATED)
    for_comment = earning(api, PointReason.COMMENT_CREATED)
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    await create_comment(api, topic["id"], author="alice")

    after_topic = gift.points + for_topic.points
    after_comment = after_topic + for_comment.points
    shown = await viewer(api, "alice")
    assert shown["points"] == after_comment
    assert shown["experience"] == gift.experience + for_topic.experience + for_comment.experience
    assert await history_rows(api, "alice") == [
        ("COMMENT_CREATED", for_comment.points, after_comment),
        ("TOPIC_CREATED", for_topic.points, after_topic),
        ("WELCOME_GIFT", gift.points, gift.points),
    ]
    member = await assert_ledger_matches("alice")
    assert (member.points, member.experience) == (shown["points"], shown["experience"])


@pytest.mark.usefixtures("no_rate_limits")
async def test_topics_past_the_daily_cap_earn_nothing_until_the_next_day_in_the_community_zone(
    api,
):
    for_topic = earning(api, PointReason.TOPIC_CREATED)
    cap = for_topic.daily_cap
    assert cap is not None and cap > 0
    day = date(2030, 3, 12)
    pin_clock(api, day, 23, 50)  # late in the community's day
    board = await create_board(api)
    start = (await viewer(api, "alice"))["points"]

    for n in range(cap + 2):
        await create_topic(api, board["id"], author="alice", title=f"Topic {n}")
    earned = await rows_of("alice", PointReason.TOPIC_CREATED)
    assert len(earned) == cap
    assert {row.day for row in earned} == {day}
    assert (await viewer(api, "alice"))["points"] == start + cap * for_topic.points

    pin_clock(api, day + timedelta(days=1), 0, 5)  # a few minutes later: a new local day
    await create_topic(api, board["id"], author="alice", title="Next day")
    earned = await rows_of("alice", PointReason.TOPIC_CREATED)
    assert len(earned) == cap + 1
    assert earned[-1].day == day + timedelta(days=1)
    assert (await viewer(api, "alice"))["points"] == start + (cap + 1) * for_topic.points
    await assert_ledger_matches("alice")


@pytest.mark.usefixtures("no_rate_limits")
async def test_concurrent_topics_by_one_member_earn_exactly_the_daily_cap(api):
    for_topic = earning(api, PointReason.TOPIC_CREATED)
    cap = for_topic.daily_cap
    assert cap is not None
    board = await create_board(api)
    start = (await viewer(api, "alice"))["points"]
    topic_input = {"boardId": board["id"], "title": "At once", "body": "Same time"}
    answers = await concurrently(
        api.post(CREATE_TOPIC, {"input": topic_input}, as_="alice") for _ in range(cap + 3)
    )
    assert all(a["createTopic"]["errors"] == [] for a in answers)
    assert len(await rows_of("alice", PointReason.TOPIC_CREATED)) == cap
    member = await assert_ledger_matches("alice")
    assert member.points == start + cap * for_topic.points


@pytest.mark.usefixtures("no_rate_limits")
async def test_concurrent_comments_by_one_member_on_several_topics_each_earn(api):
    for_comment = earning(api, PointReason.COMMENT_CREATED)
    board = await create_board(api)
    topics = [await create_topic(api, board["id"], title=f"Topic {n}") for n in range(6)]
    assert len(topics) <= (for_comment.daily_cap or len(topics))
    start = (await viewer(api, "bob"))["points"]
    answers = await concurrently(
        api.post(CREATE_COMMENT, {"input": {"topicId": t["id"], "body": "Me too"}}, as_="bob")
        for t in topics
    )
    assert all(a["createComment"]["errors"] == [] for a in answers)
    assert len(await rows_of("bob", PointReason.COMMENT_CREATED)) == len(topics)
    member = await assert_ledger_matches("bob")
    assert member.points == start + len(topics) * for_comment.points


# ---------------------------------------------------------------- likes


async def alices_topic(api):
    board = await create_board(api)
    return await create_topic(api, board["id"], author="alice")


async def test_liking_unliking_and_liking_again_earns_the_author_once(api):
    for_like = earning(api, PointReason.LIKE_RECEIVED)
    topic = await alices_topic(api)
    start = await viewer(api, "alice")
    await like(api, topic["id"], as_="bob")
    assert await api(UNLIKE, {"id": topic["id"]}, as_="bob") == {"unlike": {"errors": []}}
    await like(api, topic["id"], as_="bob")
    shown = await viewer(api, "alice")
    assert shown["points"] == start["points"] + for_like.points
    assert shown["experience"] == start["experience"] + for_like.experience
    assert len(await rows_of("alice", PointReason.LIKE_RECEIVED)) == 1
    assert (await history_rows(api, "alice"))[0] == (
        "LIKE_RECEIVED",
        for_like.points,
        start["points"] + for_like.points,
    )
    await assert_ledger_matches("alice")


async def test_liking_your_own_topic_earns_nothing(api):
    topic = await alices_topic(api)
    start = await viewer(api, "alice")
    await like(api, topic["id"], as_="alice")
    assert await viewer(api, "alice") == start
    assert await rows_of("alice", PointReason.LIKE_RECEIVED) == []


async def test_likes_from_three_members_earn_three_times(api):
    for_like = earning(api, PointReason.LIKE_RECEIVED)
    topic = await alices_topic(api)
    start = await viewer(api, "alice")
    for who in ("bob", "carol", "dave"):
        await like(api, topic["id"], as_=who)
    shown = await viewer(api, "alice")
    assert shown["points"] == start["points"] + 3 * for_like.points
    assert shown["experience"] == start["experience"] + 3 * for_like.experience
    assert len(await rows_of("alice", PointReason.LIKE_RECEIVED)) == 3
    await assert_ledger_matches("alice")


async def test_a_like_on_a_comment_earns_the_comment_author(api):
    for_like = earning(api, PointReason.LIKE_RECEIVED)
    topic = await alices_topic(api)
    comment = await create_comment(api, topic["id"], author="carol")
    alice, carol = await viewer(api, "alice"), await viewer(api, "carol")
    await like(api, comment["id"], as_="bob")
    assert (await viewer(api, "carol"))["points"] == carol["points"] + for_like.points
    assert await viewer(api, "alice") == alice  # the topic's author earns nothing for it
    assert len(await rows_of("carol", PointReason.LIKE_RECEIVED)) == 1
    await assert_ledger_matches("carol")


# ---------------------------------------------------------------- taking back


async def test_deleting_a_topic_takes_back_its_award_and_the_likes_it_received(api):
    for_topic = earning(api, PointReason.TOPIC_CREATED)
    for_like = earning(api, PointReason.LIKE_RECEIVED)
    gift = earning(api, PointReason.WELCOME_GIFT)
    topic = await alices_topic(api)
    for who in ("bob", "carol"):
        await like(api, topic["id"], as_=who)
    before = await viewer(api, "alice")
    assert before["points"] == gift.points + for_topic.points + 2 * for_like.points

    deleted = await api(DELETE_TOPIC, {"id": topic["id"]}, as_="alice")
    assert deleted["deleteTopic"]["errors"] == []
    taken = for_topic.points + 2 * for_like.points
    shown = await viewer(api, "alice")
    assert shown["points"] == before["points"] - taken == gift.points
    assert shown["experience"] == gift.experience
    assert (await history_rows(api, "alice"))[0] == ("CONTENT_REMOVED", -taken, gift.points)
    [removed] = await rows_of("alice", PointReason.CONTENT_REMOVED)
    assert removed.experience == -(for_topic.experience + 2 * for_like.experience)
    assert removed.reference == f"Topic:{pk_of(topic['id'])}"
    await assert_ledger_matches("alice")


async def test_a_moderator_deleting_a_topic_takes_back_what_its_author_earned(api):
    gift = earning(api, PointReason.WELCOME_GIFT)
    topic = await alices_topic(api)
    deleted = await api(DELETE_TOPIC, {"id": topic["id"]}, as_=MODERATOR, roles=("moderator",))
    assert deleted["deleteTopic"]["errors"] == []
    shown = await viewer(api, "alice")
    assert (shown["points"], shown["experience"]) == (gift.points, gift.experience)
    assert len(await rows_of("alice", PointReason.CONTENT_REMOVED)) == 1
    await assert_ledger_matches("alice")


async def test_deleting_a_comment_takes_back_its_award_and_its_likes(api):
    for_comment = earning(api, PointReason.COMMENT_CREATED)
    for_like = earning(api, PointReason.LIKE_RECEIVED)
    gift = earning(api, PointReason.WELCOME_GIFT)
    topic = await alices_topic(api)
    comment = await create_comment(api, topic["id"], author="bob")
    await like(api, comment["id"], as_="carol")
    assert (await viewer(api, "bob"))[
        "points"
    ] == gift.points + for_comment.points + for_like.points

    deleted = await api(DELETE_COMMENT, {"id": comment["id"]}, as_="bob")
    assert deleted["deleteComment"]["errors"] == []
    shown = await viewer(api, "bob")
    assert (shown["points"], shown["experience"]) == (gift.points, gift.experience)
    taken = for_comment.points + for_like.points
    assert (await history_rows(api, "bob"))[0] == ("CONTENT_REMOVED", -taken, gift.points)
    await assert_ledger_matches("bob")


async def test_taking_back_stops_at_zero_when_the_points_were_spent(api):
    for_topic = earning(api, PointReason.TOPIC_CREATED)
    for_like = earning(api, PointReason.LIKE_RECEIVED)
    gift = earning(api, PointReason.WELCOME_GIFT)
    topic = await alices_topic(api)
    await like(api, topic["id"], as_="bob")
    alice = await viewer(api, "alice")
    left = 2
    assert left < for_topic.points + for_like.points
    spent = await adjust(api, alice["id"], left - alice["points"], "spend-1", reason="Spent")
    assert spent["errors"] == [] and spent["transaction"]["balanceAfter"] == left

    deleted = await api(DELETE_TOPIC, {"id": topic["id"]}, as_="alice")
    assert deleted["deleteTopic"]["errors"] == []
    shown = await viewer(api, "alice")
    assert shown["points"] == 0
    assert shown["experience"] == gift.experience  # experience is taken back in full
    assert (await history_rows(api, "alice"))[0] == ("CONTENT_REMOVED", -left, 0)
    member = await assert_ledger_matches("alice")
    assert member.points == 0


async def test_a_level_is_kept_when_experience_is_taken_back(api):
    for_topic = earning(api, PointReason.TOPIC_CREATED)
    level_1 = api.settings.levels.of(1)
    board = await create_board(api)
    await viewer(api, "alice")
    await set_experience("alice", level_1.min_experience - 1)
    topic = await create_topic(api, board["id"], author="alice")
    reached = await viewer(api, "alice")
    assert reached["level"] == {"level": 1, "name": level_1.name}

    await api(DELETE_TOPIC, {"id": topic["id"]}, as_="alice")
    shown = await viewer(api, "alice")
    assert shown["experience"] == reached["experience"] - for_topic.experience
    assert shown["experience"] < level_1.min_experience
    assert shown["level"] == {"level": 1, "name": level_1.name}
    assert (await Member.get(mall_user_id="alice")).level == 1


# ---------------------------------------------------------------- levels


async def test_crossing_a_threshold_raises_the_level_and_queues_a_level_reached_event(api):
    levels = api.settings.levels
    board = await create_board(api)
    await viewer(api, "alice")
    await set_experience("alice", levels.of(2).min_experience - 1)  # at level 0 still
    assert await OutboxEvent.filter(kind="member.level_reached").count() == 0

    await create_topic(api, board["id"], author="alice")
    assert (await viewer(api, "alice"))["level"] == {"level": 2, "name": levels.of(2).name}
    stored = await Member.get(mall_user_id="alice")
    assert stored.level == 2
    events = await OutboxEvent.filter(kind="member.level_reached")
    assert [e.payload for e in events] == [
        {"mallUserId": "alice", "level": 2, "levelName": levels.of(2).name, "previousLevel": 0}
    ]

    await create_topic(api, board["id"], author="alice", title="Again")  # no new level
    assert await OutboxEvent.filter(kind="member.level_reached").count() == 1


@pytest.mark.usefixtures("no_rate_limits")
async def test_earning_exactly_a_thresholds_experience_reaches_its_level(api):
    gift = earning(api, PointReason.WELCOME_GIFT)
    for_topic = earning(api, PointReason.TOPIC_CREATED)
    level_1 = api.settings.levels.of(1)
    needed = math.ceil((level_1.min_experience - gift.experience) / for_topic.experience)
    assert 1 <= needed <= (for_topic.daily_cap or needed)
    board = await create_board(api)
    for n in range(needed - 1):
        await create_topic(api, board["id"], author="alice", title=f"Topic {n}")
    assert (await viewer(api, "alice"))["level"]["level"] == 0
    await create_topic(api, board["id"], author="alice", title="The last one")
    shown = await viewer(api, "alice")
    assert shown["experience"] >= level_1.min_experience
    assert shown["level"] == {"level": 1, "name": level_1.name}
    [event] = await OutboxEvent.filter(kind="member.level_reached")
    assert event.payload["mallUserId"] == "alice" and event.payload["level"] == 1


async def test_an_adjustment_of_points_changes_no_experience_or_level(api):
    alice = await viewer(api, "alice")
    answer = await adjust(api, alice["id"], 50_000, "big-gift")
    assert answer["errors"] == []
    shown = await viewer(api, "alice")
    assert shown["points"] == alice["points"] + 50_000
    assert (shown["experience"], shown["level"]) == (alice["experience"], alice["level"])
    assert await OutboxEvent.filter(kind="member.level_reached").count() == 0


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_points_are_shown_to_the_member_and_to_admins_only(api, caller):
    alice = await viewer(api, "alice")
    sub, roles = CALLERS[caller]
    shown = (await api(MEMBER, {"id": alice["id"]}, as_=sub, roles=roles))["member"]
    assert shown["id"] == alice["id"] and shown["experience"] == alice["experience"]
    sees = caller in ("member", "admin")
    assert shown["points"] == (alice["points"] if sees else None)


async def test_member_levels_list_the_configured_table_with_cumulative_privileges(api):
    query = "{ memberLevels { level name minExperience privileges } }"
    shown = (await api(query))["memberLevels"]
    assert shown == [
        {
            "level": rule.level,
            "name": rule.name,
            "minExperience": rule.min_experience,
            "privileges": rule.privileges,
        }
        for rule in api.settings.levels.levels
    ]
    for lower, higher in itertools.pairwise(shown):
        assert set(lower["privileges"]) <= set(higher["privileges"])
    by_level = {row["level"]: set(row["privileges"]) for row in shown}
    assert {"POST_IMAGES", "POST_LINKS"} <= by_level[2]
    assert by_level[0] == set()


# ---------------------------------------------------------------- point history


@pytest.mark.usefixtures("no_rate_limits")
async def test_point_history_shows_only_the_viewers_own_rows_page_by_page(api):
    board = await create_board(api)
    for n in range(3):
        await create_topic(api, board["id"], author="alice", title=f"Topic {n}")
    await create_topic(api, board["id"], author="bob")

    first = await history(api, "alice", first=2)
    assert first["totalCount"] == 4 and first["pageInfo"]["hasNextPage"] is True
    second = await history(api, "alice", first=2, after=first["pageInfo"]["endCursor"])
    assert second["totalCount"] == 4 and second["pageInfo"]["hasNextPage"] is False
    nodes = [e["node"] for e in first["edges"] + second["edges"]]
    assert [n["reason"] for n in nodes] == ["TOPIC_CREATED"] * 3 + ["WELCOME_GIFT"]
    balances = [n["balanceAfter"] for n in nodes]
    assert balances == sorted(balances, reverse=True)
    assert balances[0] == (await viewer(api, "alice"))["points"]
    alice = await Member.get(mall_user_id="alice")
    stored = await PointTransaction.filter(member_id=alice.pk).count()
    assert len({n["id"] for n in nodes}) == stored == 4
    assert (await history(api, "bob"))["totalCount"] == 2


async def test_point_history_of_an_anonymous_reader_is_empty(api):
    await viewer(api, "alice")
    shown = await history(api, None)
    assert shown == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_point_history_refuses_more_than_100_items_a_page(api):
    assert (await history(api, "alice", first=100))["totalCount"] == 1
    response = await api.post(HISTORY, {"first": 101}, as_="alice")
    body = response.json()
    assert body.get("errors"), body
    assert body["errors"][0]["extensions"]["code"] == "INVALID"
    assert body["data"] is None


# ---------------------------------------------------------------- adjustPoints


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("anonymous", "UNAUTHENTICATED"),
        ("member", "FORBIDDEN"),
        ("other member", "FORBIDDEN"),
        ("moderator", "FORBIDDEN"),
        ("service", "FORBIDDEN"),
    ],
)
async def test_only_admins_may_adjust_points(api, caller, code):
    alice = await viewer(api, "alice")
    sub, roles = CALLERS[caller]
    for delta in (500, -50):
        answer = await adjust(api, alice["id"], delta, f"key-{delta}", as_=sub, roles=roles)
        assert answer["transaction"] is None
        assert [e["code"] for e in answer["errors"]] == [code]
    assert (await viewer(api, "alice"))["points"] == alice["points"]
    assert await PointTransaction.filter(reason=PointReason.ADMIN_ADJUSTMENT).count() == 0


async def test_an_admin_adds_and_takes_points_with_a_note_the_member_sees(api):
    alice = await viewer(api, "alice")
    start = alice["points"]
    added = await adjust(api, alice["id"], 40, "add-1", reason="  Contest runner-up  ")
    assert added["errors"] == []
    assert added["transaction"]["delta"] == 40
    assert added["transaction"]["reason"] == "ADMIN_ADJUSTMENT"
    assert added["transaction"]["note"] == "Contest runner-up"
    assert added["transaction"]["balanceAfter"] == start + 40
    taken = await adjust(api, alice["id"], -15, "take-1", reason="Duplicate prize")
    assert taken["errors"] == [] and taken["transaction"]["balanceAfter"] == start + 25

    assert (await viewer(api, "alice"))["points"] == start + 25
    newest = [e["node"] for e in (await history(api, "alice", first=2))["edges"]]
    assert [(n["delta"], n["note"], n["balanceAfter"]) for n in newest] == [
        (-15, "Duplicate prize", start + 25),
        (40, "Contest runner-up", start + 40),
    ]
    assert [n["id"] for n in newest] == [taken["transaction"]["id"], added["transaction"]["id"]]
    await assert_ledger_matches("alice")


async def test_taking_more_than_the_balance_is_insufficient_and_writes_nothing(api):
    alice = await viewer(api, "alice")
    answer = await adjust(api, alice["id"], -(alice["points"] + 1), "too-much")
    assert answer["transaction"] is None
    assert [e["code"] for e in answer["errors"]] == ["INSUFFICIENT_POINTS"]
    assert (await viewer(api, "alice"))["points"] == alice["points"]
    assert await PointTransaction.filter(reason=PointReason.ADMIN_ADJUSTMENT).count() == 0
    exact = await adjust(api, alice["id"], -alice["points"], "all-of-it")  # to zero is fine
    assert exact["errors"] == [] and exact["transaction"]["balanceAfter"] == 0


@pytest.mark.parametrize(
    ("delta", "reason", "key", "field"),
    [
        (0, "Goodwill", "key-1", "delta"),
        (10, "", "key-1", "reason"),
        (10, "   ", "key-1", "reason"),
        (10, "x" * 201, "key-1", "reason"),
        (10, "Goodwill", "", "idempotencyKey"),
        (10, "Goodwill", "k" * 129, "idempotencyKey"),
        (1_000_001, "Goodwill", "key-1", "delta"),
    ],
)
async def test_a_bad_delta_reason_or_key_is_invalid_and_writes_nothing(
    api, delta, reason, key, field
):
    alice = await viewer(api, "alice")
    answer = await adjust(api, alice["id"], delta, key, reason=reason)
    assert answer["transaction"] is None
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [("INVALID", [field])]
    assert (await viewer(api, "alice"))["points"] == alice["points"]
    assert await PointTransaction.filter(reason=PointReason.ADMIN_ADJUSTMENT).count() == 0


async def test_every_bad_argument_of_an_adjustment_is_reported_at_once(api):
    alice = await viewer(api, "alice")
    answer = await adjust(api, alice["id"], 0, "k" * 129, reason="")
    assert sorted((e["code"], e["field"]) for e in answer["errors"]) == [
        ("INVALID", ["delta"]),
        ("INVALID", ["idempotencyKey"]),
        ("INVALID", ["reason"]),
    ]


async def test_adjusting_an_unknown_member_is_not_found(api):
    alice = await viewer(api, "alice")
    board = await create_board(api)
    for bad_id in ("garbage", board["id"], "TWVtYmVyOjk5OTk5"):  # the last: Member:99999
        answer = await adjust(api, bad_id, 10, "key-1")
        assert answer["transaction"] is None
        assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"], bad_id
    assert (await viewer(api, "alice"))["points"] == alice["points"]


async def test_the_same_idempotency_key_twice_answers_the_same_transaction_once(api):
    alice = await viewer(api, "alice")
    first = await adjust(api, alice["id"], 30, "gift-7")
    again = await adjust(api, alice["id"], 30, "gift-7")
    assert first["errors"] == [] and again == first
    assert (await viewer(api, "alice"))["points"] == alice["points"] + 30
    assert len(await rows_of("alice", PointReason.ADMIN_ADJUSTMENT)) == 1


async def test_the_same_key_with_another_delta_is_a_conflict(api):
    alice = await viewer(api, "alice")
    assert (await adjust(api, alice["id"], 30, "gift-7"))["errors"] == []
    for delta in (31, -30):
        answer = await adjust(api, alice["id"], delta, "gift-7")
        assert answer["transaction"] is None
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [
            ("CONFLICT", ["idempotencyKey"])
        ]
    assert (await viewer(api, "alice"))["points"] == alice["points"] + 30
    assert len(await rows_of("alice", PointReason.ADMIN_ADJUSTMENT)) == 1


async def test_idempotency_keys_are_per_member(api):
    alice, bob = await viewer(api, "alice"), await viewer(api, "bob")
    for_alice = await adjust(api, alice["id"], 30, "gift-7")
    for_bob = await adjust(api, bob["id"], 30, "gift-7")
    assert for_alice["errors"] == [] and for_bob["errors"] == []
    assert for_alice["transaction"]["id"] != for_bob["transaction"]["id"]
    assert (await viewer(api, "alice"))["points"] == alice["points"] + 30
    assert (await viewer(api, "bob"))["points"] == bob["points"] + 30


async def test_ten_concurrent_adjustments_with_one_key_change_the_balance_once(api):
    alice = await viewer(api, "alice")
    variables = {"memberId": alice["id"], "delta": 25, "reason": "Retry", "key": "once"}
    answers = await concurrently(
        api.post(ADJUST, variables, as_=ADMIN, roles=ADMIN_ROLES) for _ in range(10)
    )
    payloads = [a["adjustPoints"] for a in answers]
    assert all(p["errors"] == [] for p in payloads), payloads
    assert len({p["transaction"]["id"] for p in payloads}) == 1
    assert (await viewer(api, "alice"))["points"] == alice["points"] + 25
    assert len(await rows_of("alice", PointReason.ADMIN_ADJUSTMENT)) == 1
    await assert_ledger_matches("alice")


async def test_concurrent_takes_never_make_the_balance_negative(api):
    alice = await viewer(api, "alice")
    assert (await adjust(api, alice["id"], 100, "top-up"))["errors"] == []
    balance = alice["points"] + 100
    answers = await concurrently(
        api.post(
            ADJUST,
            {"memberId": alice["id"], "delta": -30, "reason": "Spend", "key": f"take-{n}"},
            as_=ADMIN,
            roles=ADMIN_ROLES,
        )
        for n in range(20)
    )
    payloads = [a["adjustPoints"] for a in answers]
    succeeded = [p for p in payloads if p["errors"] == []]
    refused = [p for p in payloads if p["errors"]]
    assert len(succeeded) == balance // 30
    assert {e["code"] for p in refused for e in p["errors"]} == {"INSUFFICIENT_POINTS"}
    assert sorted(p["transaction"]["balanceAfter"] for p in succeeded) == [
        balance - 30 * n for n in range(len(succeeded), 0, -1)
    ]
    member = await assert_ledger_matches("alice")
    assert member.points == balance % 30
    assert (await viewer(api, "alice"))["points"] == balance % 30


# ---------------------------------------------------------------- the database itself


async def test_the_database_refuses_a_negative_balance(api):
    await viewer(api, "alice")
    with pytest.raises(IntegrityError):
        await Member.filter(mall_user_id="alice").update(points=-1)
    member = await Member.get(mall_user_id="alice")
    assert member.points == earning(api, PointReason.WELCOME_GIFT).points


async def test_the_database_refuses_a_ledger_row_with_a_negative_balance_after(api):
    await viewer(api, "alice")
    member = await Member.get(mall_user_id="alice")
    with pytest.raises(IntegrityError):
        await PointTransaction.create(
            member_id=member.pk,
            delta=-(member.points + 1),
            reason=PointReason.ADMIN_ADJUSTMENT,
            idempotency_key="forged",
            balance_after=-1,
            day=date.today(),
            created_at=clock.now(),
        )
    assert await PointTransaction.filter(idempotency_key="forged").count() == 0
