"""Steps of the board tests: create boards and topics, and list what each caller sees."""

from __future__ import annotations

from tests.forum import ADMIN, CALLERS, CREATE_BOARD, CREATE_TOPIC

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
