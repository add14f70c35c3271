"""Steps of the topics tests: the queries and mutations, and how their answers are read."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser

from tests.forum import CREATE_TOPIC, LIKE

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
