"""Following boards and tags, and the home feed their topics make."""

from __future__ import annotations

import pytest

from models import BoardFollow
from tests.boards.steps import BOARD, FOLLOW, HOME_FEED, UNFOLLOW, board_by_slug, board_slugs, codes
from tests.forum import CALLERS, CREATE_BOARD, concurrently, create_board, create_topic, pk_of

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
