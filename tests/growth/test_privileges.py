"""Level privileges: images need POST_IMAGES, links to other sites POST_LINKS, trial rewards
PRODUCT_TRIALS; boards' and reward items' minimum levels. A member without them gets
LEVEL_TOO_LOW naming the level needed, and nothing is stored; moderators and admins hold
every privilege. Also the validation of a custom level table."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mallforum.growth_rules import Privilege
from mallforum.settings import Settings
from models import Comment, Member, PointReason, PointTransaction, Redemption, Topic
from tests.forum import (
    ADMIN,
    CALLERS,
    CREATE_COMMENT,
    CREATE_TOPIC,
    MODERATOR,
    create_board,
    create_topic,
    pk_of,
    promote,
)

UPDATE_TOPIC = """
mutation($input: UpdateTopicInput!) {
  updateTopic(input: $input) { topic { id title body imageUrls } errors { field code message } }
}"""
BOARDS = "{ boards { slug } }"
TOPIC = "query($id: ID!) { topic(id: $id) { id title } }"
VIEWER = "{ viewer { points level { level } } }"
CREATE_ITEM = """
mutation($input: CreateRewardItemInput!) {
  createRewardItem(input: $input) { item { id minLevel requiredPrivilege } errors { code } }
}"""
REDEEM = """
mutation($itemId: ID!, $key: String!) {
  redeemReward(itemId: $itemId, idempotencyKey: $key) {
    redemption { id costPoints status }
    errors { field code message }
  }
}"""
OTHER_SITE = "https://other.example/deal"


# ---------------------------------------------------------------- helpers


async def attempt_topic(api, board_id, as_="alice", roles=(), **fields):
    topic_input = {"boardId": board_id, "title": "Hello", "body": "Plain words", **fields}
    return (await api(CREATE_TOPIC, {"input": topic_input}, as_=as_, roles=roles))["createTopic"]


async def attempt_update(api, topic_id, as_="alice", roles=(), **fields):
    variables = {"input": {"id": topic_id, **fields}}
    return (await api(UPDATE_TOPIC, variables, as_=as_, roles=roles))["updateTopic"]


async def attempt_comment(api, topic_id, body, as_="alice", roles=()):
    variables = {"input": {"topicId": topic_id, "body": body}}
    return (await api(CREATE_COMMENT, variables, as_=as_, roles=roles))["createComment"]


def assert_too_low(api, payload, level):
    """The payload refuses with LEVEL_TOO_LOW, its message naming `level` by number and name."""
    assert [e["code"] for e in payload["errors"]] == ["LEVEL_TOO_LOW"], payload
    [error] = payload["errors"]
    assert f"level {level}" in error["message"], error["message"]
    assert api.settings.levels.of(level).name in error["message"], error["message"]


def granting(api, privilege):
    rule = api.settings.levels.lowest_granting(privilege)
    assert rule is not None
    return rule.level


async def moderators_topic(api, board_id, **fields):
    payload = await attempt_topic(api, board_id, as_=MODERATOR, roles=("moderator",), **fields)
    assert payload["errors"] == [], payload
    return payload["topic"]


async def a_board_and_topic(api):
    """A board, and a plain topic in it by a moderator that members may comment on."""
    board = await create_board(api)
    return board, await moderators_topic(api, board["id"])


# ---------------------------------------------------------------- images


async def test_a_level_0_member_cannot_post_a_topic_with_images_and_nothing_is_stored(api):
    board = await create_board(api)
    payload = await attempt_topic(api, board["id"], imageUrls=["https://img.mall.example/a.png"])
    assert payload["topic"] is None
    assert_too_low(api, payload, granting(api, Privilege.POST_IMAGES))
    assert await Topic.all().count() == 0
    assert await PointTransaction.filter(reason=PointReason.TOPIC_CREATED).count() == 0
    shown = (await api('{ board(slug: "beauty") { topicCount } }'))["board"]
    assert shown == {"topicCount": 0}


async def test_a_member_at_the_images_level_posts_a_topic_with_images(api):
    board = await create_board(api)
    await promote(api, "alice", granting(api, Privilege.POST_IMAGES))
    images = ["https://img.mall.example/a.png", "https://cdn.example.net/b.jpg"]
    payload = await attempt_topic(api, board["id"], imageUrls=images)
    assert payload["errors"] == []
    assert payload["topic"]["imageUrls"] == images
    assert (await Topic.get(id=pk_of(payload["topic"]["id"]))).image_urls == images


async def test_adding_images_to_a_topic_needs_the_images_level(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    images = ["https://img.mall.example/a.png"]
    refused = await attempt_update(api, topic["id"], imageUrls=images, title="With a photo")
    assert refused["topic"] is None
    assert_too_low(api, refused, granting(api, Privilege.POST_IMAGES))
    stored = await Topic.get(id=pk_of(topic["id"]))
    assert (stored.image_urls, stored.title) == ([], topic["title"])

    await promote(api, "alice", granting(api, Privilege.POST_IMAGES))
    accepted = await attempt_update(api, topic["id"], imageUrls=images)
    assert accepted["errors"] == [] and accepted["topic"]["imageUrls"] == images
    assert (await Topic.get(id=pk_of(topic["id"]))).image_urls == images


# ---------------------------------------------------------------- links


async def attempt_with_link(api, where, text, board, topic):
    """Post `text` (holding a link, or not) as a topic's body or title, or as a comment."""
    if where == "topic body":
        return await attempt_topic(api, board["id"], body=f"Look: {text} now")
    if where == "topic title":
        return await attempt_topic(api, board["id"], title=f"Deal {text}")
    return await attempt_comment(api, topic["id"], f"Cheaper at {text} !")


async def stored_posts():
    """Topics and comments written by members other than the moderator's set-up topic."""
    return await Topic.filter(author__mall_user_id="alice").count() + await Comment.all().count()


PLACES = ["topic body", "topic title", "comment"]


@pytest.mark.parametrize("where", PLACES)
async def test_links_to_other_sites_need_the_links_level(api, where):
    board, topic = await a_board_and_topic(api)
    needed = granting(api, Privilege.POST_LINKS)
    for level in range(needed):
        await promote(api, "alice", level)
        payload = await attempt_with_link(api, where, OTHER_SITE, board, topic)
        assert_too_low(api, payload, needed)
        assert await stored_posts() == 0, level
    await promote(api, "alice", needed)
    payload = await attempt_with_link(api, where, OTHER_SITE, board, topic)
    assert payload["errors"] == []
    assert await stored_posts() == 1


async def test_editing_a_link_into_a_topic_needs_the_links_level(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice", body="No links")
    refused = await attempt_update(api, topic["id"], body=f"Now see {OTHER_SITE}")
    assert_too_low(api, refused, granting(api, Privilege.POST_LINKS))
    assert (await Topic.get(id=pk_of(topic["id"]))).body == "No links"
    await promote(api, "alice", granting(api, Privilege.POST_LINKS))
    accepted = await attempt_update(api, topic["id"], body=f"Now see {OTHER_SITE}")
    assert accepted["errors"] == [] and accepted["topic"]["body"] == f"Now see {OTHER_SITE}"


@pytest.mark.parametrize(
    "text",
    [
        "https://mall.example/p/123",
        "http://img.mall.example/a.png",
        "https://m.shop.mall.example/sale?id=5",
        "www.mall.example/sale",
        "HTTPS://MALL.EXAMPLE/UPPER",
        "[our store](https://mall.example/store)",
    ],
)
@pytest.mark.parametrize("where", PLACES)
async def test_links_to_the_malls_own_domains_are_allowed_at_level_0(api, where, text):
    board, topic = await a_board_and_topic(api)
    payload = await attempt_with_link(api, where, text, board, topic)
    assert payload["errors"] == []
    assert await stored_posts() == 1


@pytest.mark.parametrize(
    "text",
    [
        "https://evilmall.example/x",
        "https://mall.example.other.example/x",
        "https://mall.example@other.example/x",
        "www.example.com",
        "WWW.EXAMPLE.COM/path",
        "http://203.0.113.9/deal",
        "[our store](https://other.example/store)",
        "<https://other.example/store>",
        "see https://mall.example/ok and https://other.example/not-ok",
    ],
)
async def test_links_to_other_sites_in_any_form_need_the_links_level(api, text):
    board, _ = await a_board_and_topic(api)
    payload = await attempt_topic(api, board["id"], body=f"Look: {text}")
    assert_too_low(api, payload, granting(api, Privilege.POST_LINKS))
    assert await stored_posts() == 0


async def test_a_markdown_link_without_a_scheme_to_another_site_needs_the_links_level(api):
    """`//other.example` renders as a link to another site as much as `https://` does."""
    board, _ = await a_board_and_topic(api)
    payload = await attempt_topic(api, board["id"], body="Cheaper [here](//other.example/deal)")
    assert_too_low(api, payload, granting(api, Privilege.POST_LINKS))
    assert await stored_posts() == 0


@pytest.mark.parametrize("where", PLACES)
async def test_plain_text_without_links_is_fine_at_level_0(api, where):
    board, topic = await a_board_and_topic(api)
    text = "4.5 stars, http and www are just words, the mall example is great"
    payload = await attempt_with_link(api, where, text, board, topic)
    assert payload["errors"] == []
    assert await stored_posts() == 1


# ---------------------------------------------------------------- moderators and admins


@pytest.mark.parametrize("caller", ["moderator", "admin"])
async def test_moderators_and_admins_hold_every_privilege_at_level_0(api, caller):
    board, topic = await a_board_and_topic(api)
    sub, roles = CALLERS[caller]
    assert (await api(VIEWER, as_=sub, roles=roles))["viewer"]["level"] == {"level": 0}
    images = ["https://cdn.example.net/a.png"]
    posted = await attempt_topic(
        api, board["id"], as_=sub, roles=roles, body=f"See {OTHER_SITE}", imageUrls=images
    )
    assert posted["errors"] == [] and posted["topic"]["imageUrls"] == images
    edited = await attempt_update(
        api, posted["topic"]["id"], as_=sub, roles=roles, title=f"Deal {OTHER_SITE}"
    )
    assert edited["errors"] == []
    commented = await attempt_comment(api, topic["id"], f"Also {OTHER_SITE}", as_=sub, roles=roles)
    assert commented["errors"] == []
    trial = await create_item(api, requiredPrivilege=Privilege.PRODUCT_TRIALS)
    redeemed = await redeem(api, trial["id"], as_=sub, roles=roles)
    assert redeemed["errors"] == [] and redeemed["redemption"]["status"] == "PENDING"


# ---------------------------------------------------------------- boards


async def test_a_boards_posting_level_refuses_topics_and_comments_until_the_member_reaches_it(
    api,
):
    board = await create_board(api, "reviews", minLevelToPost=2)
    topic = await moderators_topic(api, board["id"])
    await promote(api, "alice", 1)
    refused_topic = await attempt_topic(api, board["id"])
    refused_comment = await attempt_comment(api, topic["id"], "Me too")
    for payload in (refused_topic, refused_comment):
        assert [e["code"] for e in payload["errors"]] == ["LEVEL_TOO_LOW"]
    assert await stored_posts() == 0

    await promote(api, "alice", 2)
    assert (await attempt_topic(api, board["id"]))["errors"] == []
    assert (await attempt_comment(api, topic["id"], "Me too"))["errors"] == []
    assert await stored_posts() == 2


async def test_a_boards_posting_level_refusal_names_the_level_by_number_and_name(api):
    board = await create_board(api, "reviews", minLevelToPost=2)
    payload = await attempt_topic(api, board["id"])
    assert_too_low(api, payload, 2)


async def test_a_boards_viewing_level_shows_it_once_earned_experience_reaches_it(api):
    hidden = await create_board(api, "vip", minLevelToView=1)
    secret = await moderators_topic(api, hidden["id"], title="Secret")
    open_board = await create_board(api, "beauty")
    await promote(api, "alice", 0)
    threshold = api.settings.levels.of(1).min_experience
    earned = api.settings.earning(PointReason.TOPIC_CREATED).experience
    await Member.filter(mall_user_id="alice").update(experience=threshold - earned)
    assert [b["slug"] for b in (await api(BOARDS, as_="alice"))["boards"]] == ["beauty"]
    assert (await api(TOPIC, {"id": secret["id"]}, as_="alice"))["topic"] is None

    await create_topic(api, open_board["id"], author="alice")  # earns its way to level 1
    assert (await api(VIEWER, as_="alice"))["viewer"]["level"] == {"level": 1}
    assert [b["slug"] for b in (await api(BOARDS, as_="alice"))["boards"]] == ["vip", "beauty"]
    shown = (await api(TOPIC, {"id": secret["id"]}, as_="alice"))["topic"]
    assert shown == {"id": secret["id"], "title": "Secret"}


# ---------------------------------------------------------------- rewards


async def create_item(api, **fields):
    item_input = {"name": "Trial kit", "costPoints": 20, "mallRewardCode": "TRIAL-1", **fields}
    data = await api(CREATE_ITEM, {"input": item_input}, as_=ADMIN, roles=("admin",))
    assert data["createRewardItem"]["errors"] == [], data
    return data["createRewardItem"]["item"]


async def redeem(api, item_id, as_="alice", roles=(), key="redeem-1"):
    variables = {"itemId": item_id, "key": key}
    return (await api(REDEEM, variables, as_=as_, roles=roles))["redeemReward"]


async def points_of(api, sub):
    return (await api(VIEWER, as_=sub))["viewer"]["points"]


async def test_a_reward_items_minimum_level_refuses_members_below_it_and_takes_no_points(api):
    item = await create_item(api, minLevel=3)
    await promote(api, "alice", 2)
    before = await points_of(api, "alice")
    refused = await redeem(api, item["id"])
    assert refused["redemption"] is None
    assert_too_low(api, refused, 3)
    assert await points_of(api, "alice") == before
    assert await Redemption.all().count() == 0
    assert await PointTransaction.filter(reason=PointReason.REDEMPTION).count() == 0

    await promote(api, "alice", 3)
    redeemed = await redeem(api, item["id"])
    assert redeemed["errors"] == [] and redeemed["redemption"]["costPoints"] == 20
    assert await points_of(api, "alice") == before - 20


async def test_a_trial_reward_needs_the_product_trials_privilege(api):
    needed = granting(api, Privilege.PRODUCT_TRIALS)
    item = await create_item(api, requiredPrivilege=Privilege.PRODUCT_TRIALS)
    assert item["minLevel"] == 0 and item["requiredPrivilege"] == Privilege.PRODUCT_TRIALS
    await promote(api, "alice", needed - 1)
    before = await points_of(api, "alice")
    refused = await redeem(api, item["id"])
    assert refused["redemption"] is None
    assert_too_low(api, refused, needed)
    assert await points_of(api, "alice") == before
    assert await Redemption.all().count() == 0

    await promote(api, "alice", needed)
    redeemed = await redeem(api, item["id"])
    assert redeemed["errors"] == [] and redeemed["redemption"]["status"] == "PENDING"
    assert await points_of(api, "alice") == before - 20


# ---------------------------------------------------------------- a custom level table


def level(number, experience, *privileges, name=None):
    return {
        "level": number,
        "name": f"L{number}" if name is None else name,
        "min_experience": experience,
        "privileges": list(privileges),
    }


@pytest.mark.parametrize(
    "levels",
    [
        pytest.param([level(0, 0), level(2, 10), level(1, 20)], id="out of order"),
        pytest.param([level(0, 0), level(2, 10)], id="a level missing"),
        pytest.param([level(1, 0), level(2, 10)], id="no level 0"),
        pytest.param([level(0, 5), level(1, 10)], id="level 0 above 0 experience"),
        pytest.param([level(0, 0), level(1, 10), level(2, 10)], id="equal thresholds"),
        pytest.param([level(0, 0), level(1, 50), level(2, 20)], id="falling thresholds"),
        pytest.param([], id="no levels"),
        pytest.param([level(0, 0), level(1, -1)], id="negative experience"),
        pytest.param([level(0, 0, name="")], id="empty name"),
    ],
)
def test_a_level_table_out_of_order_or_with_bad_thresholds_is_refused(levels):
    with pytest.raises(ValidationError):
        Settings(levels=levels)


def test_a_custom_level_tables_privileges_accumulate_upwards():
    settings = Settings(
        levels=[
            level(0, 0),
            level(1, 100, "POST_LINKS", name="Talker"),
            level(2, 200),
            level(3, 300, "POST_IMAGES", "POST_LINKS"),
        ]
    )
    table = settings.levels
    assert [rule.privileges for rule in table.levels] == [
        [],
        ["POST_LINKS"],
        ["POST_LINKS"],
        ["POST_LINKS", "POST_IMAGES"],
    ]
    assert table.lowest_granting("POST_IMAGES").level == 3
    assert table.lowest_granting("POST_LINKS").name == "Talker"
    assert table.lowest_granting("PRODUCT_TRIALS") is None
    assert [table.for_experience(e) for e in (0, 99, 100, 299, 300, 10**9)] == [0, 0, 1, 2, 3, 3]
    assert table.of(99).level == 3 and table.of(-1).level == 0


def test_the_default_level_table_grants_each_privilege_from_its_level_upwards():
    table = Settings().levels
    first = {"POST_IMAGES": 1, "POST_LINKS": 2, "CREATE_POLL": 3, "PRODUCT_TRIALS": 4}
    for rule in table.levels:
        for privilege, from_level in first.items():
            assert (privilege in rule.privileges) == (rule.level >= from_level), (rule, privilege)
