"""Experience, points and the ledger, through the API: the welcome gift, what topics,
comments and likes earn within their daily caps, what deleting content takes back, and
levels rising with experience."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from models import Member, OutboxEvent, PointReason
from tests.clock_steps import pin_clock
from tests.forum import (
    CREATE_COMMENT,
    CREATE_TOPIC,
    MODERATOR,
    concurrently,
    create_board,
    create_comment,
    create_topic,
    pk_of,
)
from tests.growth.ledger_steps import (
    DELETE_COMMENT,
    DELETE_TOPIC,
    UNLIKE,
    VIEWER,
    adjust,
    alices_topic,
    assert_ledger_matches,
    earning,
    history_rows,
    like,
    rows_of,
    set_experience,
    viewer,
)

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar


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
