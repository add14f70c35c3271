"""Steps of the comments tests: comment, reply, read a thread and delete."""

from __future__ import annotations

from tests.forum import create_board, create_topic

CREATE_COMMENT = """
mutation($input: CreateCommentInput!) {
  createComment(input: $input) {
    comment { id body status parent { id } topic { id commentCount } }
    errors { field code }
  }
}"""

THREAD = """
query($id: ID!) {
  topic(id: $id) {
    commentCount
    lastActivityAt
    comments {
      totalCount
      edges {
        node {
          id body bodyHtml status parent { id }
          author { nickname }
          replies { totalCount edges { node { id body status parent { id } } } }
        }
      }
    }
  }
}"""

DELETE_COMMENT = """
mutation($id: ID!) { deleteComment(id: $id) { deletedId errors { field code } } }"""

DELETE_TOPIC = """
mutation($id: ID!) { deleteTopic(id: $id) { deletedId errors { code } } }"""

COMMENT_PAGE = """
query($id: ID!, $after: String) {
  topic(id: $id) {
    comments(first: 2, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { body } }
    }
  }
}"""


async def comment(api, topic_id, body="Nice!", *, as_="bob", parent_id=None, roles=()):
    """The whole createComment payload, errors included."""
    comment_input = {"topicId": topic_id, "body": body, "parentId": parent_id}
    data = await api(CREATE_COMMENT, {"input": comment_input}, as_=as_, roles=roles)
    return data["createComment"]


async def thread(api, topic_id, *, as_="reader", roles=()):
    return (await api(THREAD, {"id": topic_id}, as_=as_, roles=roles))["topic"]


def listed(topic):
    return [edge["node"] for edge in topic["comments"]["edges"]]


def replies_of(node):
    return [edge["node"] for edge in node["replies"]["edges"]]


async def delete(api, comment_id, *, as_="bob", roles=()):
    data = await api(DELETE_COMMENT, {"id": comment_id}, as_=as_, roles=roles)
    return data["deleteComment"]


async def a_topic(api, **fields):
    board = await create_board(api)
    return await create_topic(api, board["id"], **fields)
