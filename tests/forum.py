"""Shared steps for tests: boards, topics and comments made through the API itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from mallforum.ids import parse_id
from models import Member

ADMIN = "admin-1"
MODERATOR = "mod-1"
SERVICE = "mall-backend"

#: Every kind of caller: (sub, roles); anonymous has no token at all.
CALLERS = {
    "anonymous": (None, ()),
    "member": ("alice", ()),
    "other member": ("bob", ()),
    "moderator": (MODERATOR, ("moderator",)),
    "admin": (ADMIN, ("admin",)),
    "service": (SERVICE, ("service",)),
}

CREATE_BOARD = """
mutation($input: CreateBoardInput!) {
  createBoard(input: $input) { board { id slug topicCount } errors { field code message } }
}"""

CREATE_TOPIC = """
mutation($input: CreateTopicInput!) {
  createTopic(input: $input) {
    topic { id title body bodyHtml status tags productSkus imageUrls likeCount commentCount
            author { id nickname } board { id slug topicCount } }
    errors { field code message }
  }
}"""

CREATE_COMMENT = """
mutation($input: CreateCommentInput!) {
  createComment(input: $input) {
    comment { id body bodyHtml status parent { id } topic { id commentCount } }
    errors { field code message }
  }
}"""

LIKE = """
mutation($id: ID!) {
  like(id: $id) {
    likeCount
    subject { id ... on Topic { likeCount viewerHasLiked } }
    errors { code }
  }
}"""


async def create_board(api: Any, slug: str = "beauty", **fields: Any) -> dict[str, Any]:
    board_input = {"slug": slug, "name": slug.title(), "kind": "PRODUCT", **fields}
    data = await api(CREATE_BOARD, {"input": board_input}, as_=ADMIN, roles=("admin",))
    assert data["createBoard"]["errors"] == []
    return data["createBoard"]["board"]


async def create_topic(api: Any, board_id: str, author: str = "alice", **fields: Any) -> dict:
    topic_input = {"boardId": board_id, "title": "Hello", "body": "First **post**", **fields}
    data = await api(CREATE_TOPIC, {"input": topic_input}, as_=author)
    assert data["createTopic"]["errors"] == [], data
    return data["createTopic"]["topic"]


async def create_comment(
    api: Any, topic_id: str, author: str = "bob", body: str = "Nice!", parent_id: str | None = None
) -> dict[str, Any]:
    comment_input = {"topicId": topic_id, "body": body, "parentId": parent_id}
    data = await api(CREATE_COMMENT, {"input": comment_input}, as_=author)
    assert data["createComment"]["errors"] == [], data
    return data["createComment"]["comment"]


def pk_of(global_id: str) -> int:
    """The primary key behind a global ID, for tests that reach into the database."""
    parsed = parse_id(global_id)
    assert parsed is not None, global_id
    return parsed[1]


async def concurrently(requests: Iterable[Awaitable[Any]]) -> list[dict[str, Any]]:
    """Send the requests (`api.post(...)`) at once and wait for every one of them; each must
    be answered 200 without top-level errors. Their `data`, in order."""
    answers = await asyncio.gather(*requests, return_exceptions=True)
    datas = []
    for answer in answers:
        assert not isinstance(answer, BaseException), repr(answer)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert not body.get("errors"), body
        datas.append(body["data"])
    return datas


async def promote(api: Any, sub: str, level: int) -> None:
    """Give a member (created if new) the experience that reaches `level`: a test's set-up."""
    await api("{ viewer { id } }", as_=sub)
    experience = api.settings.levels.of(level).min_experience
    await Member.filter(mall_user_id=sub).update(experience=experience, level=level)
