"""Boards: created by admins, hidden below their viewing level, posted in by level."""

from __future__ import annotations

import pytest

from models import Member
from tests.boards.steps import (
    BOARD,
    MEMBER_TOPICS,
    NODE,
    PRODUCT_FEED,
    SEE_EVERYTHING,
    SEE_LEVEL_ZERO,
    TOPIC,
    attempt_board,
    attempt_topic,
    board_by_slug,
    board_slugs,
    codes,
)
from tests.forum import CALLERS, CREATE_BOARD, MODERATOR, create_board

# ---------------------------------------------------------------- createBoard


async def test_an_admin_creates_a_board_that_boards_and_board_by_slug_return(api):
    created = await attempt_board(
        api,
        {
            "slug": "skin-care-2",
            "name": "  Skin care  ",
            "description": "All about skin.",
            "kind": "INTEREST",
            "minLevelToView": 0,
            "minLevelToPost": 1,
        },
    )
    assert created["errors"] == []
    assert created["board"]["slug"] == "skin-care-2"
    assert created["board"]["topicCount"] == 0
    assert await board_slugs(api) == ["skin-care-2"]
    board = await board_by_slug(api, "skin-care-2")
    assert board == {
        "id": created["board"]["id"],
        "slug": "skin-care-2",
        "name": "Skin care",
        "description": "All about skin.",
        "kind": "INTEREST",
        "minLevelToView": 0,
        "minLevelToPost": 1,
        "topicCount": 0,
        "viewerFollows": False,
    }


async def test_boards_are_listed_in_the_order_they_were_created(api):
    for slug in ("zebra", "apple", "mango"):
        await create_board(api, slug)
    assert await board_slugs(api, "anonymous") == ["zebra", "apple", "mango"]


async def test_board_by_an_unknown_slug_is_null(api):
    await create_board(api, "beauty")
    assert await board_by_slug(api, "nothing-here") is None


async def test_anonymous_callers_cannot_create_boards(api):
    data = await api(
        CREATE_BOARD, {"input": {"slug": "beauty", "name": "Beauty", "kind": "PRODUCT"}}
    )
    assert data["createBoard"]["board"] is None
    assert codes(data["createBoard"]) == [("UNAUTHENTICATED", None)]
    assert await board_slugs(api, "admin") == []


@pytest.mark.parametrize("caller", ["member", "moderator", "service"])
async def test_only_admins_may_create_boards(api, caller):
    sub, roles = CALLERS[caller]
    payload = await attempt_board(api, {}, as_=sub, roles=roles)
    assert payload["board"] is None
    assert codes(payload) == [("FORBIDDEN", None)]
    assert await board_slugs(api, "admin") == []


@pytest.mark.parametrize(
    "slug",
    [
        "",
        "ab",
        "-abc",
        "abc-",
        "has space",
        "under_score",
        "dot.ted",
        "x" * 65,
        "美妆版块",
        "emoji-😀",
    ],
)
async def test_a_slug_that_is_not_3_to_64_lowercase_letters_digits_and_dashes_is_invalid(api, slug):
    payload = await attempt_board(api, {"slug": slug})
    assert payload["board"] is None
    assert codes(payload) == [("INVALID", ["input", "slug"])]
    assert await board_slugs(api, "admin") == []


@pytest.mark.parametrize("slug", ["abc", "a-1", "x" * 64, "2024-sale"])
async def test_slugs_of_3_to_64_lowercase_letters_digits_and_dashes_are_accepted(api, slug):
    payload = await attempt_board(api, {"slug": slug})
    assert payload["errors"] == []
    assert (await board_by_slug(api, slug))["slug"] == slug


async def test_a_second_board_with_the_same_slug_is_a_duplicate(api):
    first = await create_board(api, "beauty")
    payload = await attempt_board(api, {"slug": "beauty", "name": "Beauty again"})
    assert payload["board"] is None
    assert codes(payload) == [("DUPLICATE", ["input", "slug"])]
    assert await board_slugs(api, "admin") == ["beauty"]
    assert (await board_by_slug(api, "beauty"))["id"] == first["id"]


@pytest.mark.parametrize("level", [0, 1, 50, 100])
async def test_levels_from_0_to_100_are_accepted(api, level):
    payload = await attempt_board(api, {"minLevelToView": level, "minLevelToPost": level})
    assert payload["errors"] == []
    board = await board_by_slug(api, "beauty", "admin")
    assert board["minLevelToView"] == level and board["minLevelToPost"] == level


@pytest.mark.parametrize("field", ["minLevelToView", "minLevelToPost"])
@pytest.mark.parametrize("level", [-1, 101, 100_000])
async def test_levels_outside_0_to_100_are_invalid(api, field, level):
    payload = await attempt_board(api, {field: level})
    assert payload["board"] is None
    assert codes(payload) == [("INVALID", ["input", field])]
    assert await board_slugs(api, "admin") == []


async def test_a_board_needs_a_name_of_1_to_64_characters(api):
    for name in ("", "   ", "n" * 65):
        payload = await attempt_board(api, {"name": name})
        assert codes(payload) == [("INVALID", ["input", "name"])], name
    assert await board_slugs(api, "admin") == []


async def test_a_board_description_is_at_most_2000_characters(api):
    payload = await attempt_board(api, {"description": "d" * 2001})
    assert codes(payload) == [("INVALID", ["input", "description"])]
    assert await board_slugs(api, "admin") == []
    payload = await attempt_board(api, {"description": "d" * 2000})
    assert payload["errors"] == []
    assert len((await board_by_slug(api, "beauty"))["description"]) == 2000


async def test_a_board_seen_only_from_a_level_is_posted_in_from_that_level_at_least(api):
    payload = await attempt_board(api, {"minLevelToView": 5, "minLevelToPost": 1})
    assert payload["errors"] == []
    board = await board_by_slug(api, "beauty", "admin")
    assert (board["minLevelToView"], board["minLevelToPost"]) == (5, 5)


async def test_every_bad_field_of_a_board_is_reported_at_once(api):
    payload = await attempt_board(
        api, {"slug": "A!", "name": "", "minLevelToView": -5, "minLevelToPost": 500}
    )
    assert payload["board"] is None
    assert sorted(codes(payload)) == [
        ("INVALID", ["input", "minLevelToPost"]),
        ("INVALID", ["input", "minLevelToView"]),
        ("INVALID", ["input", "name"]),
        ("INVALID", ["input", "slug"]),
    ]


# ---------------------------------------------------------------- levels


async def a_hidden_board_with_topics(api):
    """A level-3 board and an open one, each with a topic by the moderator naming SKU-1."""
    hidden = await create_board(api, "vip-lounge", minLevelToView=3)
    open_board = await create_board(api, "beauty")
    mod = ("moderator",)
    secret = await attempt_topic(
        api, hidden["id"], as_=MODERATOR, roles=mod, title="Secret", productSkus=["SKU-1"]
    )
    public = await attempt_topic(
        api, open_board["id"], as_=MODERATOR, roles=mod, title="Public", productSkus=["SKU-1"]
    )
    assert secret["errors"] == [] and public["errors"] == []
    return hidden, secret["topic"], public["topic"]


@pytest.mark.parametrize("caller", SEE_LEVEL_ZERO)
async def test_a_board_above_the_viewers_level_is_hidden_everywhere(api, caller):
    hidden, secret, public = await a_hidden_board_with_topics(api)
    sub, roles = CALLERS[caller]
    author_id = secret["author"]["id"]

    assert await board_slugs(api, caller) == ["beauty"]
    assert await board_by_slug(api, "vip-lounge", caller) is None
    nodes = [
        (await api(NODE, {"id": i}, as_=sub, roles=roles))["node"]
        for i in (hidden["id"], secret["id"])
    ]
    assert nodes == [None, None]
    assert (await api(TOPIC, {"id": secret["id"]}, as_=sub, roles=roles))["topic"] is None
    feed = (await api(PRODUCT_FEED, {"sku": "SKU-1"}, as_=sub, roles=roles))["productFeed"]
    assert [e["node"]["title"] for e in feed["edges"]] == ["Public"]
    assert feed["totalCount"] == 1
    member = (await api(MEMBER_TOPICS, {"id": author_id}, as_=sub, roles=roles))["member"]
    assert [e["node"]["title"] for e in member["topics"]["edges"]] == ["Public"]
    assert member["topics"]["totalCount"] == 1
    assert (await api(TOPIC, {"id": public["id"]}, as_=sub, roles=roles))["topic"] is not None


@pytest.mark.parametrize("caller", SEE_EVERYTHING)
async def test_moderators_and_admins_see_a_board_above_every_level(api, caller):
    hidden, secret, _ = await a_hidden_board_with_topics(api)
    sub, roles = CALLERS[caller]

    assert await board_slugs(api, caller) == ["vip-lounge", "beauty"]
    assert (await board_by_slug(api, "vip-lounge", caller))["id"] == hidden["id"]
    node = (await api(NODE, {"id": hidden["id"]}, as_=sub, roles=roles))["node"]
    assert node == {"id": hidden["id"], "slug": "vip-lounge"}
    node = (await api(NODE, {"id": secret["id"]}, as_=sub, roles=roles))["node"]
    assert node == {"id": secret["id"], "title": "Secret"}
    topic = (await api(TOPIC, {"id": secret["id"]}, as_=sub, roles=roles))["topic"]
    assert topic == {"id": secret["id"], "title": "Secret"}
    feed = (await api(PRODUCT_FEED, {"sku": "SKU-1"}, as_=sub, roles=roles))["productFeed"]
    assert sorted(e["node"]["title"] for e in feed["edges"]) == ["Public", "Secret"]
    assert feed["totalCount"] == 2
    author_id = secret["author"]["id"]
    member = (await api(MEMBER_TOPICS, {"id": author_id}, as_=sub, roles=roles))["member"]
    assert [e["node"]["title"] for e in member["topics"]["edges"]] == ["Public", "Secret"]


async def test_a_member_who_reaches_the_viewing_level_sees_the_board(api):
    _, secret, _ = await a_hidden_board_with_topics(api)
    await api("{ viewer { id } }", as_="alice")
    await Member.filter(mall_user_id="alice").update(level=3)
    assert await board_slugs(api, "member") == ["vip-lounge", "beauty"]
    topic = (await api(TOPIC, {"id": secret["id"]}, as_="alice"))["topic"]
    assert topic == {"id": secret["id"], "title": "Secret"}
    assert await board_slugs(api, "anonymous") == ["beauty"]


async def test_members_cannot_post_in_a_board_they_cannot_see(api):
    hidden = await create_board(api, "vip-lounge", minLevelToView=3)
    payload = await attempt_topic(api, hidden["id"], as_="alice")
    assert payload["topic"] is None
    assert codes(payload) == [("NOT_FOUND", ["input", "boardId"])]
    board = await board_by_slug(api, "vip-lounge", "moderator")
    assert board["topicCount"] == 0


async def test_a_board_below_its_posting_level_refuses_a_members_topic(api):
    board = await create_board(api, "reviews", minLevelToPost=2)
    payload = await attempt_topic(api, board["id"], as_="alice")
    assert payload["topic"] is None
    assert [e["code"] for e in payload["errors"]] == ["LEVEL_TOO_LOW"]
    shown = (await api(BOARD, {"slug": "reviews"}, as_="alice"))["board"]
    assert shown["topicCount"] == 0 and shown["minLevelToPost"] == 2


async def test_a_member_at_the_posting_level_may_post(api):
    board = await create_board(api, "reviews", minLevelToPost=2)
    await api("{ viewer { id } }", as_="alice")
    await Member.filter(mall_user_id="alice").update(level=2)
    payload = await attempt_topic(api, board["id"], as_="alice")
    assert payload["errors"] == []
    assert (await board_by_slug(api, "reviews"))["topicCount"] == 1


@pytest.mark.parametrize("caller", SEE_EVERYTHING)
async def test_moderators_post_whatever_the_posting_level(api, caller):
    board = await create_board(api, "reviews", minLevelToPost=2)
    sub, roles = CALLERS[caller]
    payload = await attempt_topic(api, board["id"], as_=sub, roles=roles)
    assert payload["errors"] == []
    assert (await board_by_slug(api, "reviews"))["topicCount"] == 1


async def test_announcement_boards_refuse_topics_of_members(api):
    board = await create_board(api, "news", kind="ANNOUNCEMENT")
    payload = await attempt_topic(api, board["id"], as_="alice")
    assert payload["topic"] is None
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    assert (await board_by_slug(api, "news"))["topicCount"] == 0


@pytest.mark.parametrize("caller", SEE_EVERYTHING)
async def test_announcement_boards_take_topics_of_moderators(api, caller):
    board = await create_board(api, "news", kind="ANNOUNCEMENT")
    sub, roles = CALLERS[caller]
    payload = await attempt_topic(api, board["id"], as_=sub, roles=roles, title="Big sale")
    assert payload["errors"] == []
    assert (await board_by_slug(api, "news"))["topicCount"] == 1
