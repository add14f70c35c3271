"""No N+1: a page of 50 costs the same SQL statements as a page of 5.

Each test fills a short and a long list whose items differ in everything the loaders batch
(authors, purchases, the viewer's likes, replies), reads both with the same query and
counts the statements the ORM sends.
"""

from __future__ import annotations

import pytest

from tests.forum import create_board, create_comment, create_topic

STATEMENTS_MAX = 10

BOARD_PAGE = """
query($slug: String!, $first: Int!) {
  board(slug: $slug) {
    topics(first: $first) {
      totalCount
      edges {
        node {
          id likeCount commentCount viewCount viewerHasLiked authorIsVerifiedBuyer
          author { nickname }
          board { name }
        }
      }
    }
  }
}"""

COMMENT_PAGE = """
query($id: ID!, $first: Int!) {
  topic(id: $id) {
    comments(first: $first) {
      totalCount
      edges { node { id body viewerHasLiked author { nickname } replies { totalCount } } }
    }
  }
}"""

RECORD_PURCHASE = """
mutation($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) { recorded errors { code } }
}"""

LIKE = "mutation($id: ID!) { like(id: $id) { errors { code } } }"

VIEWER = "reader"


async def record_purchase(api, buyer: str, sku: str) -> None:
    purchase = {"mallUserId": buyer, "sku": sku, "orderId": f"order-{buyer}-{sku}"}
    data = await api(RECORD_PURCHASE, {"input": purchase}, as_="mall", roles=("service",))
    assert data["recordPurchase"] == {"recorded": True, "errors": []}


async def like(api, subject_id: str, who: str = VIEWER) -> None:
    assert (await api(LIKE, {"id": subject_id}, as_=who))["like"]["errors"] == []


async def fill_board(api, slug: str, size: int) -> None:
    """`size` topics by rotating authors; every third names a SKU its author bought, every
    fourth names one nobody bought, and the viewer likes every other topic."""
    board = await create_board(api, slug)
    for n in range(size):
        author = f"{slug}-author-{n % 7}"
        skus = []
        if n % 3 == 0:
            skus.append(f"SKU-{slug}-{n}")
            await record_purchase(api, author, f"SKU-{slug}-{n}")
        if n % 4 == 0:
            skus.append(f"SKU-unsold-{n}")
        topic = await create_topic(api, board["id"], author, title=f"t{n}", productSkus=skus)
        if n % 2 == 0:
            await like(api, topic["id"])


async def fill_topic(api, board_id: str, size: int) -> str:
    """A topic with `size` top-level comments by rotating authors, some with replies, the
    viewer liking every other comment."""
    topic = await create_topic(api, board_id, "op", title=f"{size} comments")
    for n in range(size):
        comment = await create_comment(api, topic["id"], f"commenter-{n % 6}", f"c{n}")
        for r in range(n % 3):
            await create_comment(api, topic["id"], f"replier-{r}", f"r{r}", comment["id"])
        if n % 2 == 0:
            await like(api, comment["id"])
    return topic["id"]


async def cost(api, sql_statements, query: str, variables: dict, as_: str | None):
    with sql_statements as counter:
        data = await api(query, variables, as_=as_)
    return data, list(counter.statements)


def show(name: str, statements: list[str]) -> None:
    print(f"\n{name}: {len(statements)} statements")
    for statement in statements:
        print("   ", statement[:160])


@pytest.mark.usefixtures("no_rate_limits")
async def test_a_board_page_of_50_topics_costs_what_a_page_of_5_costs(api, sql_statements):
    await fill_board(api, "short", 5)
    await fill_board(api, "long", 50)
    for reader in (None, VIEWER):
        short, few = await cost(
            api, sql_statements, BOARD_PAGE, {"slug": "short", "first": 5}, reader
        )
        long, many = await cost(
            api, sql_statements, BOARD_PAGE, {"slug": "long", "first": 50}, reader
        )
        show(f"board page of 5 ({reader or 'anonymous'})", few)
        show(f"board page of 50 ({reader or 'anonymous'})", many)

        for data, size in ((short, 5), (long, 50)):
            topics = data["board"]["topics"]
            nodes = [edge["node"] for edge in topics["edges"]]
            assert topics["totalCount"] == size and len(nodes) == size
            assert len({n["author"]["nickname"] for n in nodes}) == min(size, 7)
            assert any(n["authorIsVerifiedBuyer"] for n in nodes)
            assert not all(n["authorIsVerifiedBuyer"] for n in nodes)
            liked = sum(n["viewerHasLiked"] for n in nodes)
            assert liked == (0 if reader is None else (size + 1) // 2)
            assert sum(n["likeCount"] for n in nodes) == (size + 1) // 2
        assert len(few) == len(many)
        assert len(many) <= STATEMENTS_MAX


@pytest.mark.usefixtures("no_rate_limits")
async def test_a_page_of_50_comments_with_replies_costs_what_a_page_of_5_costs(api, sql_statements):
    board = await create_board(api)
    short_id = await fill_topic(api, board["id"], 5)
    long_id = await fill_topic(api, board["id"], 50)
    for reader in (None, VIEWER):
        short, few = await cost(
            api, sql_statements, COMMENT_PAGE, {"id": short_id, "first": 5}, reader
        )
        long, many = await cost(
            api, sql_statements, COMMENT_PAGE, {"id": long_id, "first": 50}, reader
        )
        show(f"comment page of 5 ({reader or 'anonymous'})", few)
        show(f"comment page of 50 ({reader or 'anonymous'})", many)

        for data, size in ((short, 5), (long, 50)):
            comments = data["topic"]["comments"]
            nodes = [edge["node"] for edge in comments["edges"]]
            assert comments["totalCount"] == size
            assert [n["body"] for n in nodes] == [f"c{n}" for n in range(size)]
            assert [n["replies"]["totalCount"] for n in nodes] == [n % 3 for n in range(size)]
            assert len({n["author"]["nickname"] for n in nodes}) == min(size, 6)
            liked = [n["viewerHasLiked"] for n in nodes]
            assert liked == [reader is not None and n % 2 == 0 for n in range(size)]
        assert len(few) == len(many)
        assert len(many) <= STATEMENTS_MAX
