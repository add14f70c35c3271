"""Topics: writing, editing and deleting them, the orders boards list them in, and views."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest

from mallforum import clock
from mallforum.ids import encode_id
from models import ContentStatus, Topic
from tests.forum import (
    CALLERS,
    CREATE_TOPIC,
    LIKE,
    MODERATOR,
    SERVICE,
    concurrently,
    create_board,
    create_comment,
    create_topic,
    pk_of,
    promote,
)

# Members here write faster than the rate limits allow (lists, paging and edits);
# the limits themselves are tested in test_flooding.py.
pytestmark = pytest.mark.usefixtures("no_rate_limits")

TOPIC_FIELDS = """
  id title body bodyHtml kind status tags productSkus imageUrls isPinned isFeatured isLocked
  likeCount commentCount viewCount createdAt lastActivityAt
  author { id nickname } board { slug topicCount }
"""
UPDATE_TOPIC = f"""
mutation($input: UpdateTopicInput!) {{
  updateTopic(input: $input) {{ topic {{ {TOPIC_FIELDS} }} errors {{ field code message }} }}
}}"""
DELETE_TOPIC = """
mutation($id: ID!) { deleteTopic(id: $id) { deletedId errors { field code message } } }
"""
TOPIC = f"query($id: ID!) {{ topic(id: $id) {{ {TOPIC_FIELDS} }} }}"
VIEWS = "query($id: ID!) { topic(id: $id) { viewCount } }"
NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Board { slug }
    ... on Topic { title viewCount }
    ... on Comment { body topic { id } }
    ... on Member { nickname }
  }
}"""
BOARD_TOPICS = """
query($slug: String!, $first: Int, $after: String, $sort: TopicSort, $tag: String) {
  board(slug: $slug) {
    topicCount
    topics(first: $first, after: $after, sort: $sort, tag: $tag) {
      edges { cursor node { id title tags likeCount commentCount } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount
    }
  }
}"""
PRODUCT_FEED = """
query($sku: String!) { productFeed(sku: $sku) { edges { node { id title } } totalCount } }
"""
MEMBER_TOPICS = """
query($id: ID!, $first: Int, $after: String) {
  member(id: $id) {
    id nickname
    topics(first: $first, after: $after) {
      edges { node { id title } }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
}"""
VIEWER = "{ viewer { id nickname role status topics { edges { node { title } } totalCount } } }"


# ---------------------------------------------------------------- helpers


async def attempt_topic(api, board_id, as_="alice", roles=(), **fields):
    """createTopic's payload, for an input filled in with a valid title and body."""
    topic_input = {"boardId": board_id, "title": "Hello", "body": "Some words", **fields}
    data = await api(CREATE_TOPIC, {"input": topic_input}, as_=as_, roles=roles)
    return data["createTopic"]


async def update(api, topic_id, as_="alice", roles=(), **fields):
    data = await api(UPDATE_TOPIC, {"input": {"id": topic_id, **fields}}, as_=as_, roles=roles)
    return data["updateTopic"]


async def delete(api, topic_id, as_="alice", roles=()):
    return (await api(DELETE_TOPIC, {"id": topic_id}, as_=as_, roles=roles))["deleteTopic"]


async def read_topic(api, topic_id, as_=None, roles=()):
    return (await api(TOPIC, {"id": topic_id}, as_=as_, roles=roles))["topic"]


async def views(api, topic_id, as_=None):
    return (await api(VIEWS, {"id": topic_id}, as_=as_))["topic"]["viewCount"]


async def listed(api, slug="beauty", as_=None, roles=(), **args):
    """The board's topicCount and its `topics` connection, with the given arguments."""
    data = await api(BOARD_TOPICS, {"slug": slug, **args}, as_=as_, roles=roles)
    return data["board"]["topicCount"], data["board"]["topics"]


async def titles(api, slug="beauty", **args):
    _, topics = await listed(api, slug, **args)
    return [e["node"]["title"] for e in topics["edges"]]


async def feed_titles(api, sku):
    feed = (await api(PRODUCT_FEED, {"sku": sku}))["productFeed"]
    return [e["node"]["title"] for e in feed["edges"]]


async def member_titles(api, member_id, as_=None):
    member = (await api(MEMBER_TOPICS, {"id": member_id}, as_=as_))["member"]
    return [e["node"]["title"] for e in member["topics"]["edges"]]


async def like_by(api, topic_id, *members):
    for member in members:
        data = await api(LIKE, {"id": topic_id}, as_=member)
        assert data["like"]["errors"] == []


async def top_level_error(api, query, variables, as_=None):
    """The first top-level error of an answer that must have one."""
    response = await api.post(query, variables, as_=as_)
    body = response.json()
    assert body.get("errors"), body
    return body["errors"][0]


def codes(payload):
    return [(e["code"], e["field"]) for e in payload["errors"]]


def cursor_of(*values):
    """A cursor as the server would encode it: for tests that forge one."""
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


class Elements(HTMLParser):
    """Every start tag of an HTML fragment with its attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture
async def board(api):
    return await create_board(api, "beauty")


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


# ---------------------------------------------------------------- sorts


async def topics_named(api, board_id, *names):
    return {name: await create_topic(api, board_id, title=name) for name in names}


async def test_latest_lists_the_newest_topic_first(api, board):
    await topics_named(api, board["id"], "a", "b", "c")
    assert await titles(api) == ["c", "b", "a"]
    assert await titles(api, sort="LATEST") == ["c", "b", "a"]


async def test_top_lists_the_most_liked_first_and_the_newest_among_equals(api, board):
    t = await topics_named(api, board["id"], "a", "b", "c", "d")
    await like_by(api, t["a"]["id"], "m1", "m2")
    await like_by(api, t["b"]["id"], "m1")
    await like_by(api, t["c"]["id"], "m3", "m4")
    assert await titles(api, sort="TOP") == ["c", "a", "b", "d"]
    await like_by(api, t["b"]["id"], "m2", "m3")
    assert await titles(api, sort="TOP") == ["b", "c", "a", "d"]


async def test_active_lists_the_most_recently_commented_first(api, board):
    t = await topics_named(api, board["id"], "a", "b", "c")
    assert await titles(api, sort="ACTIVE") == ["c", "b", "a"]
    await create_comment(api, t["a"]["id"])
    assert await titles(api, sort="ACTIVE") == ["a", "c", "b"]
    await create_comment(api, t["b"]["id"])
    assert await titles(api, sort="ACTIVE") == ["b", "a", "c"]
    shown = await read_topic(api, t["b"]["id"])
    last_activity, created = map(
        datetime.fromisoformat, (shown["lastActivityAt"], shown["createdAt"])
    )
    assert last_activity > created


async def test_hot_weighs_likes_and_twice_as_much_comments(api, board):
    t = await topics_named(api, board["id"], "commented", "liked", "quiet")
    await like_by(api, t["liked"]["id"], "m1", "m2", "m3")  # 3
    await create_comment(api, t["commented"]["id"], author="m1")  # 2 x 2 = 4
    await create_comment(api, t["commented"]["id"], author="m2")
    assert await titles(api, sort="HOT") == ["commented", "liked", "quiet"]
    await like_by(api, t["liked"]["id"], "m4", "m5")  # 5
    assert await titles(api, sort="HOT") == ["liked", "commented", "quiet"]


@pytest.mark.parametrize(("hours_later", "first"), [(13, "new"), (11, "old")])
async def test_hot_lets_ten_times_the_likes_outweigh_12_and_a_half_hours(
    api, board, hours_later, first
):
    old = await create_topic(api, board["id"], title="old")
    clock.travel(timedelta(hours=hours_later))
    await create_topic(api, board["id"], title="new")
    await like_by(api, old["id"], *(f"fan{n}" for n in range(10)))  # log10(10) = 1
    # old: 1 + age; new: 0 + age + hours_later × 3600 / 45000
    expected = [first, "new" if first == "old" else "old"]
    assert await titles(api, sort="HOT") == expected


async def test_hot_is_newest_first_without_likes_or_comments(api, board):
    await create_topic(api, board["id"], title="a")
    clock.travel(timedelta(minutes=5))
    await create_topic(api, board["id"], title="b")
    assert await titles(api, sort="HOT") == ["b", "a"]


async def test_a_tag_filter_lists_only_topics_with_that_tag(api, board):
    await create_topic(api, board["id"], title="a", tags=["serum"])
    await create_topic(api, board["id"], title="b", tags=["mask"])
    await create_topic(api, board["id"], title="c", tags=["Serum", "mask"])
    assert await titles(api, tag="serum") == ["c", "a"]
    assert await titles(api, tag=" #SERUM ") == ["c", "a"]
    assert await titles(api, tag="mask") == ["c", "b"]
    assert await titles(api, tag="nothing") == []
    _, tagged = await listed(api, tag="serum")
    assert tagged["totalCount"] == 2


async def test_each_board_lists_only_its_own_topics(api, board):
    other = await create_board(api, "phones")
    await create_topic(api, board["id"], title="beauty topic", tags=["x"])
    await create_topic(api, other["id"], title="phone topic", tags=["x"])
    assert await titles(api, "beauty") == ["beauty topic"]
    assert await titles(api, "phones") == ["phone topic"]
    assert await titles(api, "beauty", tag="x") == ["beauty topic"]


# ---------------------------------------------------------------- paging


@pytest.mark.parametrize("sort", ["LATEST", "TOP", "HOT", "ACTIVE"])
async def test_walking_25_topics_by_tens_meets_each_once(api, board, sort):
    made = [await create_topic(api, board["id"], title=f"t{n:02}") for n in range(25)]
    await like_by(api, made[3]["id"], "m1")
    await create_comment(api, made[7]["id"])
    seen: list[str] = []
    after = None
    pages = []
    while True:
        args = {"first": 10, "sort": sort} | ({"after": after} if after else {})
        _, page = await listed(api, **args)
        pages.append(page)
        assert page["totalCount"] == 25
        edges = page["edges"]
        seen += [e["node"]["id"] for e in edges]
        info = page["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        assert info["startCursor"] == edges[0]["cursor"]
        assert info["endCursor"] == edges[-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert [len(p["edges"]) for p in pages] == [10, 10, 5]
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == {t["id"] for t in made}
    _, whole = await listed(api, first=25, sort=sort)
    assert [e["node"]["id"] for e in whole["edges"]] == seen


async def test_latest_pages_run_from_the_newest_to_the_oldest(api, board):
    for n in range(25):
        await create_topic(api, board["id"], title=f"t{n:02}")
    _, first = await listed(api, first=10)
    assert [e["node"]["title"] for e in first["edges"]] == [f"t{n:02}" for n in range(24, 14, -1)]
    _, second = await listed(api, first=10, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["title"] for e in second["edges"]] == [f"t{n:02}" for n in range(14, 4, -1)]


async def test_a_page_defaults_to_20_topics(api, board):
    for n in range(21):
        await create_topic(api, board["id"], title=f"t{n}")
    _, page = await listed(api)
    assert len(page["edges"]) == 20 and page["pageInfo"]["hasNextPage"] is True
    assert page["totalCount"] == 21


async def test_first_100_is_allowed(api, board):
    for n in range(3):
        await create_topic(api, board["id"], title=f"t{n}")
    _, page = await listed(api, first=100)
    assert len(page["edges"]) == 3
    assert page["pageInfo"]["hasNextPage"] is False


async def test_first_0_gives_no_edges(api, board):
    await create_topic(api, board["id"])
    _, page = await listed(api, first=0)
    assert page["edges"] == []
    assert page["pageInfo"]["startCursor"] is None and page["pageInfo"]["endCursor"] is None
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["totalCount"] == 1


@pytest.mark.parametrize("first", [101, 1000, -1])
async def test_first_outside_0_to_100_is_an_invalid_query_not_a_silent_cut(api, board, first):
    for n in range(3):
        await create_topic(api, board["id"], title=f"t{n}")
    error = await top_level_error(api, BOARD_TOPICS, {"slug": "beauty", "first": first})
    assert error["extensions"]["code"] == "INVALID"
    assert "first" in error["message"]


async def test_a_cursor_of_one_sort_is_invalid_in_another(api, board):
    for n in range(3):
        await create_topic(api, board["id"], title=f"t{n}")
    cursors = {}
    for sort in ("LATEST", "TOP", "HOT", "ACTIVE"):
        _, page = await listed(api, first=1, sort=sort)
        cursors[sort] = page["pageInfo"]["endCursor"]
    for made_by, cursor in cursors.items():
        for used_in in cursors:
            if used_in == made_by:
                continue
            variables = {"slug": "beauty", "first": 1, "sort": used_in, "after": cursor}
            error = await top_level_error(api, BOARD_TOPICS, variables)
            assert error["extensions"]["code"] == "INVALID", (made_by, used_in)


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        ("LATEST", "garbage"),
        ("LATEST", "!!!"),
        ("LATEST", cursor_of("latest")),
        ("LATEST", cursor_of("latest", 1, 2)),
        ("LATEST", cursor_of("latest", None)),
        ("LATEST", cursor_of("latest", True)),
        ("LATEST", cursor_of("latest", "not a time")),
        ("LATEST", base64.urlsafe_b64encode(b'{"a": 1}').decode()),
        ("LATEST", base64.urlsafe_b64encode(b"42").decode()),
        ("TOP", cursor_of("top", [1])),
        ("HOT", cursor_of("hot", "2024-01-01T00:00:00+00:00", 1)),
        ("ACTIVE", cursor_of("active", 1.5, 1)),
        ("LATEST", cursor_of("latest", "2024-01-01T00:00:00+00:00")),
        ("LATEST", cursor_of("latest", 10**30)),
    ],
)
async def test_a_garbage_cursor_is_an_invalid_query(api, board, sort, cursor):
    await create_topic(api, board["id"])
    variables = {"slug": "beauty", "sort": sort, "after": cursor}
    error = await top_level_error(api, BOARD_TOPICS, variables)
    assert error["extensions"]["code"] == "INVALID", error


async def test_cursors_stay_valid_while_topics_are_added(api, board):
    for n in range(25):
        await create_topic(api, board["id"], title=f"t{n:02}")
    _, first = await listed(api, first=10)
    await create_topic(api, board["id"], title="brand new")
    _, second = await listed(api, first=10, after=first["pageInfo"]["endCursor"])
    first_titles = [e["node"]["title"] for e in first["edges"]]
    second_titles = [e["node"]["title"] for e in second["edges"]]
    assert second_titles == [f"t{n:02}" for n in range(14, 4, -1)]
    assert not set(first_titles) & set(second_titles)
    assert second["totalCount"] == 26
    assert await titles(api, first=1) == ["brand new"]


async def test_cursors_stay_valid_while_likes_reorder_the_top_list(api, board):
    made = [await create_topic(api, board["id"], title=f"t{n}") for n in range(6)]
    _, first = await listed(api, first=3, sort="TOP")
    assert [e["node"]["title"] for e in first["edges"]] == ["t5", "t4", "t3"]
    await like_by(api, made[0]["id"], "m1")  # jumps to the top: already behind the reader
    _, second = await listed(api, first=3, sort="TOP", after=first["pageInfo"]["endCursor"])
    assert [e["node"]["title"] for e in second["edges"]] == ["t2", "t1"]


# ---------------------------------------------------------------- reading and views


async def test_reading_a_topic_counts_one_view_per_reader_per_day(api, board):
    topic = await create_topic(api, board["id"], author="alice")
    assert (await api(NODE, {"id": topic["id"]}))["node"]["viewCount"] == 0
    assert await views(api, topic["id"], as_="bob") == 1
    assert await views(api, topic["id"], as_="bob") == 1
    assert await views(api, topic["id"], as_="carol") == 2
    assert await views(api, topic["id"], as_="bob") == 2
    clock.travel(timedelta(days=1))
    assert await views(api, topic["id"], as_="bob") == 3
    assert await views(api, topic["id"], as_="bob") == 3
    assert await views(api, topic["id"], as_="carol") == 4
    assert (await api(NODE, {"id": topic["id"]}))["node"]["viewCount"] == 4


async def test_reads_of_one_reader_at_once_count_one_view(api, board):
    topic = await create_topic(api, board["id"])
    await api("{ viewer { id } }", as_="bob")
    answers = await concurrently(api.post(VIEWS, {"id": topic["id"]}, as_="bob") for _ in range(6))
    assert sorted(a["topic"]["viewCount"] for a in answers)[-1] == 1
    assert await views(api, topic["id"], as_="bob") == 1


async def test_views_are_counted_per_topic(api, board):
    one = await create_topic(api, board["id"], title="one")
    two = await create_topic(api, board["id"], title="two")
    assert await views(api, one["id"], as_="bob") == 1
    assert await views(api, two["id"], as_="bob") == 1
    assert await views(api, one["id"], as_="bob") == 1


async def test_an_anonymous_reader_counts_once_a_day_too(api, board):
    topic = await create_topic(api, board["id"])
    assert await views(api, topic["id"]) == 1
    assert await views(api, topic["id"]) == 1
    assert await views(api, topic["id"], as_="bob") == 2


async def test_lists_and_node_do_not_count_views(api, board):
    topic = await create_topic(api, board["id"])
    await listed(api, as_="bob")
    await api(NODE, {"id": topic["id"]}, as_="bob")
    assert await views(api, topic["id"], as_="carol") == 1


async def test_topic_by_an_id_of_nothing_is_null(api, board):
    await create_topic(api, board["id"])
    for topic_id in ("garbage", "", board["id"], encode_id("Topic", 999)):
        assert await read_topic(api, topic_id) is None, topic_id


async def test_node_returns_each_kind_of_entity(api, board):
    topic = await create_topic(api, board["id"], author="alice", title="A topic")
    comment = await create_comment(api, topic["id"], author="bob", body="A comment")
    member_id = topic["author"]["id"]
    nodes = {}
    for global_id in (board["id"], topic["id"], comment["id"], member_id):
        nodes[global_id] = (await api(NODE, {"id": global_id}))["node"]
    assert nodes[board["id"]] == {"__typename": "Board", "id": board["id"], "slug": "beauty"}
    assert nodes[topic["id"]] == {
        "__typename": "Topic",
        "id": topic["id"],
        "title": "A topic",
        "viewCount": 0,
    }
    assert nodes[comment["id"]] == {
        "__typename": "Comment",
        "id": comment["id"],
        "body": "A comment",
        "topic": {"id": topic["id"]},
    }
    assert nodes[member_id] == {"__typename": "Member", "id": member_id, "nickname": "alice"}


@pytest.mark.parametrize(
    "global_id",
    [
        "garbage",
        "",
        "!!!",
        encode_id("Topic", 999),
        encode_id("Board", 999),
        encode_id("Comment", 999),
        encode_id("Member", 999),
        encode_id("What", 1),
        base64.urlsafe_b64encode(b"Topic:x").decode(),
        base64.urlsafe_b64encode("😀".encode()).decode(),
    ],
)
async def test_node_of_a_garbage_or_unknown_id_is_null(api, board, global_id):
    await create_topic(api, board["id"])
    assert (await api(NODE, {"id": global_id}))["node"] is None


# ---------------------------------------------------------------- members


async def test_viewer_is_the_signed_in_member(api, board):
    await create_topic(api, board["id"], author="alice", title="mine")
    viewer = (await api(VIEWER, as_="alice"))["viewer"]
    assert viewer["nickname"] == "alice" and viewer["role"] == "MEMBER"
    assert viewer["status"] == "ACTIVE"
    assert viewer["topics"] == {"edges": [{"node": {"title": "mine"}}], "totalCount": 1}
    assert (await api(VIEWER))["viewer"] is None


async def test_a_service_token_has_no_viewer(api):
    assert (await api(VIEWER, as_=SERVICE, roles=("service",)))["viewer"] is None


async def test_member_by_id_and_its_topics_newest_first_only_published(api, board):
    alice = (await api("{ viewer { id } }", as_="alice"))["viewer"]["id"]
    other_board = await create_board(api, "phones")
    await create_topic(api, board["id"], author="alice", title="first")
    await create_topic(api, board["id"], author="bob", title="not hers")
    gone = await create_topic(api, other_board["id"], author="alice", title="deleted")
    await create_topic(api, other_board["id"], author="alice", title="second")
    await delete(api, gone["id"])
    member = (await api(MEMBER_TOPICS, {"id": alice}, as_="bob"))["member"]
    assert member["id"] == alice and member["nickname"] == "alice"
    assert [e["node"]["title"] for e in member["topics"]["edges"]] == ["second", "first"]
    assert member["topics"]["totalCount"] == 2
    assert await member_titles(api, alice) == ["second", "first"]
    assert await member_titles(api, alice, as_="alice") == ["second", "first"]


async def test_member_topics_page_by_cursor(api, board):
    alice = (await api("{ viewer { id } }", as_="alice"))["viewer"]["id"]
    for n in range(5):
        await create_topic(api, board["id"], author="alice", title=f"t{n}")
    first = (await api(MEMBER_TOPICS, {"id": alice, "first": 2}))["member"]["topics"]
    assert [e["node"]["title"] for e in first["edges"]] == ["t4", "t3"]
    after = first["pageInfo"]["endCursor"]
    rest = (await api(MEMBER_TOPICS, {"id": alice, "first": 10, "after": after}))["member"]
    assert [e["node"]["title"] for e in rest["topics"]["edges"]] == ["t2", "t1", "t0"]
    assert rest["topics"]["pageInfo"]["hasNextPage"] is False


async def test_member_by_an_id_of_nothing_is_null(api, board):
    topic = await create_topic(api, board["id"])
    for member_id in ("garbage", board["id"], topic["id"], encode_id("Member", 999)):
        assert (await api(MEMBER_TOPICS, {"id": member_id}))["member"] is None, member_id
