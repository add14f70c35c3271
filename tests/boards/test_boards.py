"""Boards: created by admins, hidden below their viewing level, posted in by level, followed."""

from __future__ import annotations

import pytest

from models import BoardFollow, Member
from tests.forum import (
    ADMIN,
    CALLERS,
    CREATE_BOARD,
    CREATE_TOPIC,
    MODERATOR,
    concurrently,
    create_board,
    create_topic,
    pk_of,
)

BOARD_FIELDS = "id slug name description kind minLevelToView minLevelToPost topicCount"

BOARDS = "{ boards { slug } }"
BOARD = f"query($slug: String!) {{ board(slug: $slug) {{ {BOARD_FIELDS} viewerFollows }} }}"
NODE = """
query($id: ID!) {
  node(id: $id) { id ... on Board { slug } ... on Topic { title } }
}"""
TOPIC = "query($id: ID!) { topic(id: $id) { id title } }"
PRODUCT_FEED = """
query($sku: String!) {
  productFeed(sku: $sku) { edges { node { title } } totalCount }
}"""
MEMBER_TOPICS = """
query($id: ID!) {
  member(id: $id) { topics { edges { node { title } } totalCount } }
}"""
FOLLOW = """
mutation($id: ID!) {
  followBoard(boardId: $id) { board { slug viewerFollows } errors { field code } }
}"""
UNFOLLOW = """
mutation($id: ID!) {
  unfollowBoard(boardId: $id) { board { slug viewerFollows } errors { field code } }
}"""
HOME_FEED = """
query($first: Int, $after: String) {
  homeFeed(first: $first, after: $after) {
    edges { cursor node { title board { slug } } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}"""

SEE_EVERYTHING = ("moderator", "admin")
SEE_LEVEL_ZERO = ("anonymous", "member", "service")


async def attempt_board(api, board_input, as_=ADMIN, roles=("admin",)):
    """createBoard's payload for an input filled in with sensible defaults."""
    full = {"slug": "beauty", "name": "Beauty", "kind": "PRODUCT", **board_input}
    data = await api(CREATE_BOARD, {"input": full}, as_=as_, roles=roles)
    return data["createBoard"]


async def attempt_topic(api, board_id, as_="alice", roles=(), **fields):
    topic_input = {"boardId": board_id, "title": "Hello", "body": "Some words", **fields}
    data = await api(CREATE_TOPIC, {"input": topic_input}, as_=as_, roles=roles)
    return data["createTopic"]


async def board_slugs(api, caller="member"):
    sub, roles = CALLERS[caller]
    return [b["slug"] for b in (await api(BOARDS, as_=sub, roles=roles))["boards"]]


async def board_by_slug(api, slug, caller="member"):
    sub, roles = CALLERS[caller]
    return (await api(BOARD, {"slug": slug}, as_=sub, roles=roles))["board"]


def codes(payload):
    return [(e["code"], e["field"]) for e in payload["errors"]]


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


# ---------------------------------------------------------------- following


async def follow(api, board_id, as_="alice", roles=()):
    return (await api(FOLLOW, {"id": board_id}, as_=as_, roles=roles))["followBoard"]


async def unfollow(api, board_id, as_="alice", roles=()):
    return (await api(UNFOLLOW, {"id": board_id}, as_=as_, roles=roles))["unfollowBoard"]


async def home_titles(api, as_="alice", **args):
    feed = (await api(HOME_FEED, args, as_=as_))["homeFeed"]
    return [e["node"]["title"] for e in feed["edges"]]


async def test_following_a_board_shows_in_viewer_follows_for_that_member_only(api):
    board = await create_board(api, "beauty")
    payload = await follow(api, board["id"])
    assert payload == {"board": {"slug": "beauty", "viewerFollows": True}, "errors": []}
    assert (await board_by_slug(api, "beauty", "member"))["viewerFollows"] is True
    bob = (await api(BOARD, {"slug": "beauty"}, as_="bob"))["board"]
    assert bob["viewerFollows"] is False
    assert (await board_by_slug(api, "beauty", "anonymous"))["viewerFollows"] is False


async def test_following_twice_is_no_error_and_one_unfollow_undoes_it(api):
    board = await create_board(api, "beauty")
    await follow(api, board["id"])
    again = await follow(api, board["id"])
    assert again == {"board": {"slug": "beauty", "viewerFollows": True}, "errors": []}
    payload = await unfollow(api, board["id"])
    assert payload == {"board": {"slug": "beauty", "viewerFollows": False}, "errors": []}
    assert (await board_by_slug(api, "beauty", "member"))["viewerFollows"] is False


async def test_following_a_board_from_several_requests_at_once_follows_it_once(api):
    board = await create_board(api, "beauty")
    await api("{ viewer { id } }", as_="alice")
    answers = await concurrently(
        api.post(FOLLOW, {"id": board["id"]}, as_="alice") for _ in range(6)
    )
    for answer in answers:
        assert answer["followBoard"] == {
            "board": {"slug": "beauty", "viewerFollows": True},
            "errors": [],
        }
    assert await BoardFollow.filter(board_id=pk_of(board["id"])).count() == 1
    await create_topic(api, board["id"], author="bob", title="once")
    assert await home_titles(api) == ["once"]


async def test_two_admins_creating_one_slug_at_once_make_one_board(api):
    variables = {"input": {"slug": "beauty", "name": "Beauty", "kind": "PRODUCT"}}
    answers = await concurrently(
        api.post(CREATE_BOARD, variables, as_=f"admin-{n}", roles=("admin",)) for n in range(4)
    )
    outcomes = sorted(codes(a["createBoard"]) for a in answers)
    assert outcomes == [[], *[[("DUPLICATE", ["input", "slug"])]] * 3]
    assert await board_slugs(api, "admin") == ["beauty"]


async def test_unfollowing_a_board_not_followed_is_no_error(api):
    board = await create_board(api, "beauty")
    payload = await unfollow(api, board["id"])
    assert payload == {"board": {"slug": "beauty", "viewerFollows": False}, "errors": []}


@pytest.mark.parametrize("caller", ["anonymous", "service"])
async def test_following_needs_a_signed_in_member(api, caller):
    board = await create_board(api, "beauty")
    sub, roles = CALLERS[caller]
    for mutation in (follow, unfollow):
        payload = await mutation(api, board["id"], as_=sub, roles=roles)
        assert payload["board"] is None
        assert codes(payload) == [("UNAUTHENTICATED", None)]


@pytest.mark.parametrize("caller", ["moderator", "admin"])
async def test_moderators_and_admins_follow_boards_like_members(api, caller):
    board = await create_board(api, "vip", minLevelToView=3)
    sub, roles = CALLERS[caller]
    payload = await follow(api, board["id"], as_=sub, roles=roles)
    assert payload == {"board": {"slug": "vip", "viewerFollows": True}, "errors": []}


async def test_following_an_unknown_or_hidden_board_is_not_found(api):
    hidden = await create_board(api, "vip", minLevelToView=3)
    topic = await create_topic(api, (await create_board(api, "beauty"))["id"])
    for board_id in ("garbage", "", topic["id"], hidden["id"]):
        for mutation in (follow, unfollow):
            payload = await mutation(api, board_id)
            assert payload["board"] is None
            assert codes(payload) == [("NOT_FOUND", ["boardId"])], board_id
    assert (await board_by_slug(api, "vip", "moderator"))["viewerFollows"] is False


@pytest.mark.usefixtures("no_rate_limits")
async def test_home_feed_lists_topics_of_followed_boards_newest_first(api):
    beauty = await create_board(api, "beauty")
    phones = await create_board(api, "phones")
    other = await create_board(api, "garden")
    await create_topic(api, beauty["id"], author="bob", title="b1")
    await create_topic(api, other["id"], author="bob", title="g1")
    await create_topic(api, phones["id"], author="carol", title="p1")
    await create_topic(api, beauty["id"], author="carol", title="b2")
    await follow(api, beauty["id"])
    await follow(api, phones["id"])
    feed = (await api(HOME_FEED, as_="alice"))["homeFeed"]
    assert [e["node"]["title"] for e in feed["edges"]] == ["b2", "p1", "b1"]
    assert feed["totalCount"] == 3
    await create_topic(api, phones["id"], author="bob", title="p2")
    assert await home_titles(api) == ["p2", "b2", "p1", "b1"]
    await unfollow(api, beauty["id"])
    assert await home_titles(api) == ["p2", "p1"]
    assert await home_titles(api, as_="bob") == []


@pytest.mark.usefixtures("no_rate_limits")
async def test_home_feed_pages_by_cursor(api):
    beauty = await create_board(api, "beauty")
    for n in range(5):
        await create_topic(api, beauty["id"], author="bob", title=f"t{n}")
    await follow(api, beauty["id"])
    first = (await api(HOME_FEED, {"first": 3}, as_="alice"))["homeFeed"]
    assert [e["node"]["title"] for e in first["edges"]] == ["t4", "t3", "t2"]
    assert first["pageInfo"]["hasNextPage"] is True
    after = first["pageInfo"]["endCursor"]
    assert await home_titles(api, first=3, after=after) == ["t1", "t0"]


async def test_home_feed_of_an_anonymous_reader_is_empty(api):
    beauty = await create_board(api, "beauty")
    await create_topic(api, beauty["id"], author="bob")
    await follow(api, beauty["id"])
    feed = (await api(HOME_FEED))["homeFeed"]
    assert feed == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "totalCount": 0,
    }


@pytest.mark.usefixtures("no_rate_limits")
async def test_home_feed_leaves_out_deleted_topics(api):
    beauty = await create_board(api, "beauty")
    kept = await create_topic(api, beauty["id"], author="bob", title="kept")
    gone = await create_topic(api, beauty["id"], author="bob", title="gone")
    await follow(api, beauty["id"])
    deleted = await api(
        "mutation($id: ID!) { deleteTopic(id: $id) { deletedId errors { code } } }",
        {"id": gone["id"]},
        as_="bob",
    )
    assert deleted["deleteTopic"] == {"deletedId": gone["id"], "errors": []}
    assert await home_titles(api) == [kept["title"]]


@pytest.mark.usefixtures("no_rate_limits")
async def test_home_feed_merges_several_followed_boards_page_by_page(api):
    boards = [await create_board(api, slug) for slug in ("beauty", "phones", "outfits")]
    quiet = await create_board(api, "quiet")
    await create_topic(api, quiet["id"], title="not followed")
    for n in range(9):  # interleaved, so every page mixes boards
        await create_topic(api, boards[n % 3]["id"], title=f"t{n}")
    for board in boards:
        await follow(api, board["id"])
    seen, after, pages = [], None, 0
    while True:
        feed = (await api(HOME_FEED, {"first": 2, "after": after}, as_="alice"))["homeFeed"]
        assert feed["totalCount"] == 9
        seen += [e["node"]["title"] for e in feed["edges"]]
        pages += 1
        if not feed["pageInfo"]["hasNextPage"]:
            break
        after = feed["pageInfo"]["endCursor"]
    assert seen == [f"t{n}" for n in reversed(range(9))]
    assert pages == 5


FOLLOW_TAG = """
mutation($tag: String!) { followTag(tag: $tag) { followedTags errors { field code } } }"""
UNFOLLOW_TAG = """
mutation($tag: String!) { unfollowTag(tag: $tag) { followedTags errors { field code } } }"""


@pytest.mark.usefixtures("no_rate_limits")
async def test_followed_tags_bring_their_topics_from_any_board_into_the_home_feed(api):
    beauty, phones = await create_board(api, "beauty"), await create_board(api, "phones")
    await create_topic(api, beauty["id"], title="tagged in beauty", tags=["开箱"])
    await create_topic(api, phones["id"], title="untagged")
    await create_topic(api, phones["id"], title="tagged in phones", tags=["#开箱", "deal"])
    payload = (await api(FOLLOW_TAG, {"tag": "#开箱"}, as_="alice"))["followTag"]
    assert payload == {"followedTags": ["开箱"], "errors": []}
    assert await home_titles(api) == ["tagged in phones", "tagged in beauty"]
    assert (await api("{ followedTags }", as_="alice"))["followedTags"] == ["开箱"]
    assert (await api("{ followedTags }", as_="bob"))["followedTags"] == []
    unfollowed = (await api(UNFOLLOW_TAG, {"tag": "开箱"}, as_="alice"))["unfollowTag"]
    assert unfollowed == {"followedTags": [], "errors": []}
    assert await home_titles(api) == []


@pytest.mark.usefixtures("no_rate_limits")
async def test_a_topic_in_a_followed_board_and_a_followed_tag_is_listed_once(api):
    beauty = await create_board(api, "beauty")
    for n in range(4):
        await create_topic(api, beauty["id"], title=f"t{n}", tags=["deal"] if n % 2 else [])
    await follow(api, beauty["id"])
    await api(FOLLOW_TAG, {"tag": "deal"}, as_="alice")
    first = (await api(HOME_FEED, {"first": 3}, as_="alice"))["homeFeed"]
    assert [e["node"]["title"] for e in first["edges"]] == ["t3", "t2", "t1"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await home_titles(api, first=3, after=first["pageInfo"]["endCursor"])
    assert rest == ["t0"]


async def test_following_a_tag_needs_a_member_and_a_sensible_tag(api):
    anonymous = (await api(FOLLOW_TAG, {"tag": "deal"}))["followTag"]
    assert anonymous == {
        "followedTags": None,
        "errors": [{"field": None, "code": "UNAUTHENTICATED"}],
    }
    for tag in ("", "  #  ", "x" * 25):
        payload = (await api(FOLLOW_TAG, {"tag": tag}, as_="alice"))["followTag"]
        assert payload["errors"] == [{"field": ["tag"], "code": "INVALID"}], tag


async def test_a_member_follows_at_most_fifty_tags_even_when_asking_at_once(api):
    results = await concurrently(
        api.post(FOLLOW_TAG, {"tag": f"tag{n}"}, as_="alice") for n in range(55)
    )
    refused = [r for r in results if r["followTag"]["errors"]]
    assert len(refused) == 5
    assert all(r["followTag"]["errors"] == [{"field": ["tag"], "code": "INVALID"}] for r in refused)
    followed = (await api("{ followedTags }", as_="alice"))["followedTags"]
    assert len(followed) == 50
    again = (await api(FOLLOW_TAG, {"tag": followed[0]}, as_="alice"))["followTag"]
    assert again == {"followedTags": followed, "errors": []}  # following twice is no error
