"""Topics: writing, editing and deleting them, and who may."""

from __future__ import annotations

import pytest

from mallforum.ids import encode_id
from models import ContentStatus, Topic
from tests.forum import CALLERS, CREATE_TOPIC, MODERATOR, concurrently, create_topic, pk_of, promote
from tests.topics.steps import (
    DELETE_TOPIC,
    NODE,
    Elements,
    attempt_topic,
    codes,
    delete,
    feed_titles,
    like_by,
    listed,
    member_titles,
    read_topic,
    titles,
    update,
)

# Members here write faster than the rate limits allow (lists, paging and edits);
# the limits themselves are tested in test_flooding.py.
pytestmark = pytest.mark.usefixtures("no_rate_limits")


# ---------------------------------------------------------------- createTopic


async def test_a_member_posts_a_topic_that_the_board_then_lists(api, board):
    await promote(api, "alice", 1)  # images need POST_IMAGES
    payload = await attempt_topic(
        api,
        board["id"],
        title="  My new serum  ",
        body="Really **good**.",
        tags=["#Skin Care ", "skin care", "serum"],
        productSkus=[" SKU-1", "SKU-1", "SKU-2"],
        imageUrls=["https://img.example.com/a.jpg", "http://img.example.com/b.png"],
    )
    assert payload["errors"] == []
    topic = payload["topic"]
    assert topic["title"] == "My new serum"
    assert topic["body"] == "Really **good**."
    assert "<strong>good</strong>" in topic["bodyHtml"]
    assert topic["status"] == "PUBLISHED"
    assert topic["tags"] == ["skin care", "serum"]
    assert topic["productSkus"] == ["SKU-1", "SKU-2"]
    assert topic["imageUrls"] == ["https://img.example.com/a.jpg", "http://img.example.com/b.png"]
    assert topic["likeCount"] == 0 and topic["commentCount"] == 0
    assert topic["author"]["nickname"] == "alice"
    count, topics = await listed(api)
    assert count == 1 and topics["totalCount"] == 1
    assert [e["node"]["id"] for e in topics["edges"]] == [topic["id"]]
    shown = await read_topic(api, topic["id"])
    assert shown["kind"] == "DISCUSSION"
    assert shown["isPinned"] is False and shown["isFeatured"] is False
    assert shown["isLocked"] is False
    assert shown["viewCount"] == 1
    assert shown["createdAt"] == shown["lastActivityAt"]
    assert shown["board"] == {"slug": "beauty", "topicCount": 1}


async def test_the_created_topics_payload_shows_its_board_with_the_new_count(api, board):
    payload = await attempt_topic(api, board["id"])
    assert payload["topic"]["board"]["topicCount"] == 1
    second = await attempt_topic(api, board["id"], title="Again")
    assert second["topic"]["board"]["topicCount"] == 2


@pytest.mark.parametrize("caller", ["moderator", "admin"])
async def test_moderators_and_admins_post_topics_too(api, board, caller):
    sub, roles = CALLERS[caller]
    payload = await attempt_topic(api, board["id"], as_=sub, roles=roles)
    assert payload["errors"] == []
    assert (await listed(api))[0] == 1


@pytest.mark.parametrize("caller", ["anonymous", "service"])
async def test_only_signed_in_members_post_topics(api, board, caller):
    sub, roles = CALLERS[caller]
    payload = await attempt_topic(api, board["id"], as_=sub, roles=roles)
    assert payload["topic"] is None
    assert codes(payload) == [("UNAUTHENTICATED", None)]
    count, topics = await listed(api)
    assert count == 0 and topics["totalCount"] == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   \t\n "}, "title"),
        ({"title": "t" * 121}, "title"),
        ({"body": ""}, "body"),
        ({"body": "  \n  "}, "body"),
        ({"body": "b" * 20_001}, "body"),
        ({"tags": [f"tag{n}" for n in range(11)]}, "tags"),
        ({"tags": ["t" * 25]}, "tags"),
        ({"productSkus": [f"SKU-{n}" for n in range(21)]}, "productSkus"),
        ({"productSkus": ["has space"]}, "productSkus"),
        ({"productSkus": ["S" * 65]}, "productSkus"),
        ({"imageUrls": [f"https://img.example.com/{n}.jpg" for n in range(10)]}, "imageUrls"),
        ({"imageUrls": ["javascript:alert(1)"]}, "imageUrls"),
        ({"imageUrls": ["ftp://files.example.com/a.jpg"]}, "imageUrls"),
        ({"imageUrls": ["data:image/png;base64,AAAA"]}, "imageUrls"),
        ({"imageUrls": ["https://ok.example.com/a.jpg", "JavaScript:alert(1)"]}, "imageUrls"),
        ({"imageUrls": ["//img.example.com/a.jpg"]}, "imageUrls"),
        ({"imageUrls": ["https://"]}, "imageUrls"),
        ({"imageUrls": ["https://img.example.com/a b.jpg"]}, "imageUrls"),
        ({"imageUrls": ["https://img.example.com/" + "a" * 1024]}, "imageUrls"),
    ],
)
async def test_a_bad_field_is_invalid_and_writes_nothing(api, board, fields, field):
    payload = await attempt_topic(api, board["id"], **fields)
    assert payload["topic"] is None
    assert codes(payload) == [("INVALID", ["input", field])]
    count, topics = await listed(api)
    assert count == 0 and topics["totalCount"] == 0
    assert await Topic.all().count() == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "t"},
        {"title": "t" * 120},
        {"title": "标" * 120},
        {"body": "b"},
        {"body": "b" * 20_000},
        {"tags": [f"tag{n}" for n in range(10)]},
        {"tags": [f"tag{n % 10}" for n in range(30)]},
        {"productSkus": [f"SKU-{n}" for n in range(20)]},
        {"imageUrls": [f"https://img.example.com/{n}.jpg" for n in range(9)]},
    ],
)
async def test_fields_at_their_limits_are_accepted(api, board, fields):
    await promote(api, "alice", 1)  # images need POST_IMAGES
    payload = await attempt_topic(api, board["id"], **fields)
    assert payload["errors"] == []
    assert (await listed(api))[0] == 1


async def test_every_bad_field_is_reported_at_once(api, board):
    payload = await attempt_topic(
        api,
        board["id"],
        title=" ",
        body="",
        tags=[f"t{n}" for n in range(11)],
        productSkus=[f"S{n}" for n in range(21)],
        imageUrls=["javascript:alert(1)"],
    )
    assert payload["topic"] is None
    assert sorted(codes(payload)) == [
        ("INVALID", ["input", "body"]),
        ("INVALID", ["input", "imageUrls"]),
        ("INVALID", ["input", "productSkus"]),
        ("INVALID", ["input", "tags"]),
        ("INVALID", ["input", "title"]),
    ]
    assert all(e["message"] for e in payload["errors"])
    count, topics = await listed(api)
    assert count == 0 and topics["totalCount"] == 0


@pytest.mark.parametrize("kind", ["POLL", "CONTEST_ENTRY"])
async def test_polls_and_contest_entries_are_not_made_by_create_topic(api, board, kind):
    payload = await attempt_topic(api, board["id"], kind=kind)
    assert payload["topic"] is None
    assert codes(payload) == [("INVALID", ["input", "kind"])]
    assert (await listed(api))[0] == 0


async def test_a_question_is_a_topic_of_its_kind(api, board):
    payload = await attempt_topic(api, board["id"], kind="QUESTION")
    assert payload["errors"] == []
    assert (await read_topic(api, payload["topic"]["id"]))["kind"] == "QUESTION"


async def test_members_cannot_post_announcement_topics(api, board):
    payload = await attempt_topic(api, board["id"], kind="ANNOUNCEMENT")
    assert payload["topic"] is None
    assert codes(payload) == [("FORBIDDEN", ["input", "kind"])]
    assert (await listed(api))[0] == 0


async def test_moderators_post_announcement_topics(api, board):
    payload = await attempt_topic(
        api, board["id"], as_=MODERATOR, roles=("moderator",), kind="ANNOUNCEMENT"
    )
    assert payload["errors"] == []
    assert (await read_topic(api, payload["topic"]["id"]))["kind"] == "ANNOUNCEMENT"


async def test_a_topic_for_an_unknown_board_is_not_found(api, board):
    topic = await create_topic(api, board["id"])
    for board_id in ("garbage", "", "!!!", topic["id"], encode_id("Board", 999)):
        payload = await attempt_topic(api, board_id)
        assert payload["topic"] is None
        assert codes(payload) == [("NOT_FOUND", ["input", "boardId"])], board_id
    assert (await listed(api))[0] == 1


async def test_body_html_is_sanitized(api, board):
    await promote(api, "alice", 2)  # links to other sites need POST_LINKS
    body = "\n\n".join(
        [
            "<script>alert('x')</script>",
            '<img src="x" onerror="alert(1)">',
            "[click](javascript:alert(1))",
            "[home](https://shop.example.com/)",
            '![pic](https://img.example.com/a.png "t\\" onerror=\\"alert(1)")',
            '<a href="javascript:alert(2)" onclick="x()">raw</a>',
            "[mail](mailto:help@example.com)",
        ]
    )
    topic = (await attempt_topic(api, board["id"], body=body))["topic"]
    html = topic["bodyHtml"]
    assert topic["body"] == body
    assert "<script" not in html.lower()
    tags = Elements(html).tags
    assert {tag for tag, _ in tags} <= {"p", "a", "img"}
    for tag, attributes in tags:
        assert not [name for name in attributes if name.startswith("on")], (tag, attributes)
        for name in ("href", "src"):
            value = (attributes.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attributes)
    links = [attributes for tag, attributes in tags if tag == "a"]
    assert [a["href"] for a in links] == ["https://shop.example.com/", "mailto:help@example.com"]
    assert all(a["rel"] == "nofollow ugc noopener" for a in links)
    assert [a["src"] for tag, a in tags if tag == "img"] == ["https://img.example.com/a.png"]
    # An e-mail address is contact information: held for review, which its author still sees.
    assert topic["status"] == "PENDING_REVIEW"
    assert (await read_topic(api, topic["id"], as_="alice"))["bodyHtml"] == html


# ---------------------------------------------------------------- updateTopic


async def test_its_author_edits_a_topic(api, board):
    topic = await create_topic(api, board["id"], tags=["old"], productSkus=["SKU-1"])
    payload = await update(api, topic["id"], title=" New title ", body="Now *better*")
    assert payload["errors"] == []
    changed = payload["topic"]
    assert changed["title"] == "New title" and changed["body"] == "Now *better*"
    assert "<em>better</em>" in changed["bodyHtml"]
    assert changed["tags"] == ["old"] and changed["productSkus"] == ["SKU-1"]
    shown = await read_topic(api, topic["id"])
    assert (shown["title"], shown["body"], shown["bodyHtml"]) == (
        "New title",
        "Now *better*",
        changed["bodyHtml"],
    )
    assert shown["tags"] == ["old"] and shown["productSkus"] == ["SKU-1"]
    assert await titles(api) == ["New title"]


async def test_an_edit_of_the_body_is_sanitized(api, board):
    topic = await create_topic(api, board["id"])
    payload = await update(api, topic["id"], body="[x](javascript:alert(1)) <script>x</script>")
    html = payload["topic"]["bodyHtml"]
    assert "<script" not in html
    assert all("href" not in attributes for _, attributes in Elements(html).tags)


@pytest.mark.parametrize("caller", ["moderator", "admin"])
async def test_moderators_and_admins_edit_any_topic(api, board, caller):
    topic = await create_topic(api, board["id"], author="alice")
    sub, roles = CALLERS[caller]
    payload = await update(api, topic["id"], as_=sub, roles=roles, title="Edited by staff")
    assert payload["errors"] == []
    assert (await read_topic(api, topic["id"]))["title"] == "Edited by staff"


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("other member", "FORBIDDEN"),
        ("anonymous", "UNAUTHENTICATED"),
        ("service", "UNAUTHENTICATED"),
    ],
)
async def test_others_may_not_edit_a_topic(api, board, caller, code):
    topic = await create_topic(api, board["id"], author="alice", title="Mine")
    sub, roles = CALLERS[caller]
    payload = await update(api, topic["id"], as_=sub, roles=roles, title="Hijacked")
    assert payload["topic"] is None
    assert [e["code"] for e in payload["errors"]] == [code]
    assert (await read_topic(api, topic["id"]))["title"] == "Mine"


async def test_an_edit_with_bad_fields_is_invalid_and_changes_nothing(api, board):
    topic = await create_topic(api, board["id"], title="Mine", tags=["a"])
    payload = await update(
        api, topic["id"], title="   ", tags=[f"t{n}" for n in range(11)], imageUrls=["ftp://x/y"]
    )
    assert payload["topic"] is None
    assert sorted(codes(payload)) == [
        ("INVALID", ["input", "imageUrls"]),
        ("INVALID", ["input", "tags"]),
        ("INVALID", ["input", "title"]),
    ]
    shown = await read_topic(api, topic["id"])
    assert shown["title"] == "Mine" and shown["tags"] == ["a"] and shown["imageUrls"] == []


async def test_editing_an_unknown_topic_is_not_found(api, board):
    await create_topic(api, board["id"])
    for topic_id in ("garbage", board["id"], encode_id("Topic", 999)):
        payload = await update(api, topic_id, title="x")
        assert codes(payload) == [("NOT_FOUND", ["input", "id"])], topic_id


async def test_changing_tags_moves_a_topic_between_tag_feeds(api, board):
    topic = await create_topic(api, board["id"], tags=["serum", "Spring"])
    await create_topic(api, board["id"], title="Other", tags=["serum"])
    assert await titles(api, tag="spring") == ["Hello"]
    assert await titles(api, tag="#SPRING") == ["Hello"]
    assert await titles(api, tag="serum") == ["Other", "Hello"]
    payload = await update(api, topic["id"], tags=["Summer"])
    assert payload["topic"]["tags"] == ["summer"]
    assert await titles(api, tag="spring") == []
    assert await titles(api, tag="serum") == ["Other"]
    assert await titles(api, tag="summer") == ["Hello"]
    _, tagged = await listed(api, tag="summer")
    assert tagged["totalCount"] == 1
    assert await titles(api) == ["Other", "Hello"]
    assert (await listed(api))[0] == 2


async def test_changing_skus_moves_a_topic_between_product_feeds(api, board):
    topic = await create_topic(api, board["id"], productSkus=["SKU-1"])
    assert await feed_titles(api, "SKU-1") == ["Hello"]
    await update(api, topic["id"], productSkus=["SKU-2", "SKU-3"])
    assert await feed_titles(api, "SKU-1") == []
    assert await feed_titles(api, "SKU-2") == ["Hello"]
    assert await feed_titles(api, "SKU-3") == ["Hello"]
    await update(api, topic["id"], productSkus=[])
    assert await feed_titles(api, "SKU-2") == []
    assert await feed_titles(api, "SKU-3") == []
    assert await titles(api) == ["Hello"]


async def test_an_edit_keeps_a_topic_in_its_place_and_its_counts(api, board):
    topic = await create_topic(api, board["id"], title="Liked")
    await create_topic(api, board["id"], title="Newer")
    await like_by(api, topic["id"], "bob", "carol")
    await update(api, topic["id"], tags=["x"])
    _, top = await listed(api, sort="TOP")
    assert [(e["node"]["title"], e["node"]["likeCount"]) for e in top["edges"]] == [
        ("Liked", 2),
        ("Newer", 0),
    ]
    assert await titles(api, sort="TOP", tag="x") == ["Liked"]
    assert (await read_topic(api, topic["id"]))["likeCount"] == 2


async def test_a_locked_topic_refuses_its_authors_edit(api, board):
    topic = await create_topic(api, board["id"], title="Mine")
    await Topic.filter(id=pk_of(topic["id"])).update(is_locked=True)
    payload = await update(api, topic["id"], title="Changed")
    assert payload["topic"] is None
    assert [e["code"] for e in payload["errors"]] == ["LOCKED"]
    shown = await read_topic(api, topic["id"])
    assert shown["title"] == "Mine" and shown["isLocked"] is True


async def test_a_moderator_edits_a_locked_topic(api, board):
    topic = await create_topic(api, board["id"], title="Mine")
    await Topic.filter(id=pk_of(topic["id"])).update(is_locked=True)
    payload = await update(api, topic["id"], as_=MODERATOR, roles=("moderator",), title="Fixed")
    assert payload["errors"] == []
    assert (await read_topic(api, topic["id"]))["title"] == "Fixed"


# ---------------------------------------------------------------- deleteTopic


async def test_its_author_deletes_a_topic_from_every_list(api, board):
    author = (await api("{ viewer { id } }", as_="alice"))["viewer"]["id"]
    kept = await create_topic(api, board["id"], title="Kept", tags=["t"], productSkus=["SKU-1"])
    gone = await create_topic(api, board["id"], title="Gone", tags=["t"], productSkus=["SKU-1"])
    assert (await listed(api))[0] == 2

    payload = await delete(api, gone["id"])
    assert payload == {"deletedId": gone["id"], "errors": []}

    count, topics = await listed(api)
    assert count == 1 and topics["totalCount"] == 1
    assert [e["node"]["title"] for e in topics["edges"]] == ["Kept"]
    assert await titles(api, tag="t") == ["Kept"]
    assert await feed_titles(api, "SKU-1") == ["Kept"]
    assert await member_titles(api, author) == ["Kept"]
    assert await read_topic(api, gone["id"]) is None
    assert await read_topic(api, gone["id"], as_="alice") is None
    assert (await api(NODE, {"id": gone["id"]}))["node"] is None
    row = await Topic.get(id=pk_of(gone["id"]))  # soft: the row stays, marked deleted
    assert row.status == ContentStatus.DELETED and row.title == "Gone"
    assert (await read_topic(api, kept["id"]))["title"] == "Kept"


@pytest.mark.parametrize("caller", ["moderator", "admin"])
async def test_moderators_and_admins_delete_any_topic(api, board, caller):
    topic = await create_topic(api, board["id"], author="alice")
    sub, roles = CALLERS[caller]
    assert await delete(api, topic["id"], as_=sub, roles=roles) == {
        "deletedId": topic["id"],
        "errors": [],
    }
    count, topics = await listed(api)
    assert count == 0 and topics["edges"] == []
    assert await read_topic(api, topic["id"], as_="alice") is None


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("other member", "FORBIDDEN"),
        ("anonymous", "UNAUTHENTICATED"),
        ("service", "UNAUTHENTICATED"),
    ],
)
async def test_others_may_not_delete_a_topic(api, board, caller, code):
    topic = await create_topic(api, board["id"], author="alice")
    sub, roles = CALLERS[caller]
    payload = await delete(api, topic["id"], as_=sub, roles=roles)
    assert payload["deletedId"] is None
    assert [e["code"] for e in payload["errors"]] == [code]
    assert (await listed(api))[0] == 1
    assert (await read_topic(api, topic["id"]))["status"] == "PUBLISHED"


@pytest.mark.parametrize("caller", ["member", "moderator"])
async def test_deleting_a_topic_twice_is_not_found(api, board, caller):
    topic = await create_topic(api, board["id"], author="alice")
    sub, roles = CALLERS[caller]
    await delete(api, topic["id"], as_=sub, roles=roles)
    payload = await delete(api, topic["id"], as_=sub, roles=roles)
    assert payload["deletedId"] is None
    assert codes(payload) == [("NOT_FOUND", ["id"])]
    assert (await listed(api))[0] == 0


async def test_deleting_a_topic_twice_at_once_takes_it_from_the_count_once(api, board):
    await create_topic(api, board["id"], title="kept")
    topic = await create_topic(api, board["id"], title="gone")
    answers = await concurrently(
        api.post(DELETE_TOPIC, {"id": topic["id"]}, as_="alice") for _ in range(4)
    )
    assert any(a["deleteTopic"]["deletedId"] == topic["id"] for a in answers)
    count, topics = await listed(api)
    assert count == 1 and topics["totalCount"] == 1
    assert [e["node"]["title"] for e in topics["edges"]] == ["kept"]


async def test_topics_posted_at_once_are_each_counted(api, board):
    requests = [
        api.post(
            CREATE_TOPIC,
            {"input": {"boardId": board["id"], "title": f"t{n}", "body": "x", "tags": ["a"]}},
            as_=f"member-{n}",
        )
        for n in range(8)
    ]
    answers = await concurrently(requests)
    assert all(a["createTopic"]["errors"] == [] for a in answers)
    count, topics = await listed(api)
    assert count == 8 and topics["totalCount"] == 8
    assert sorted(await titles(api, tag="a")) == [f"t{n}" for n in range(8)]


async def test_deleting_an_unknown_topic_is_not_found(api, board):
    for topic_id in ("garbage", board["id"], encode_id("Topic", 999)):
        assert codes(await delete(api, topic_id)) == [("NOT_FOUND", ["id"])], topic_id


async def test_a_deleted_topic_cannot_be_edited(api, board):
    topic = await create_topic(api, board["id"])
    await delete(api, topic["id"])
    payload = await update(api, topic["id"], title="Back again")
    assert codes(payload) == [("NOT_FOUND", ["input", "id"])]
    assert await titles(api) == []
    assert (await listed(api))[0] == 0
