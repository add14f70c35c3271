"""Redis going away in the middle of the day: every query still answers, from PostgreSQL,
with what it answered before; writes still succeed; and once Redis answers again the
reconcile rebuilds what it missed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from mallforum import clock, missed_writes
from mirrors import reconcile
from models import Comment, ContentStatus, Like, Topic
from schema.schema import build_schema
from tests.clock_steps import pin_clock
from tests.contests.steps import create_contest, submit, voted
from tests.forum import (
    ADMIN,
    LIKE,
    MODERATOR,
    create_board,
    create_comment,
    create_topic,
    pk_of,
)
from tests.growth.steps import check_in

MEMBER = "id nickname experience level { level name }"
TOPICS = f"edges {{ node {{ id title likeCount commentCount author {{ {MEMBER} }} }} }}"
BOARD = f"id slug topicCount hot: topics(sort: HOT) {{ {TOPICS} }} latest: topics {{ {TOPICS} }}"

#: One read per field of the Query type, as a shopper
#: (or, for the moderators' fields, a moderator) sends it. Views are left out: a page view
#: is counted while Redis answers and not while it is down, by design.
READS: dict[str, tuple[str, dict[str, Any]]] = {
    "node": ("query($id: ID!) { node(id: $id) { id ... on Topic { title } } }", {}),
    "viewer": (f"{{ viewer {{ {MEMBER} points }} }}", {"as_": "alice"}),
    "member": (f"query($member: ID!) {{ member(id: $member) {{ {MEMBER} }} }}", {}),
    "boards": (f"{{ boards {{ {BOARD} }} }}", {}),
    "board": (f'{{ board(slug: "beauty") {{ {BOARD} }} }}', {}),
    "topic": (
        "query($id: ID!) { topic(id: $id) { id title likeCount viewerHasLiked"
        " comments { edges { node { id body likeCount } } } } }",
        {"as_": "bob"},
    ),
    "productFeed": (f'{{ productFeed(sku: "SKU-1") {{ {TOPICS} }} }}', {}),
    "homeFeed": (f"{{ homeFeed {{ {TOPICS} }} }}", {"as_": "bob"}),
    "followedTags": ("{ followedTags }", {"as_": "bob"}),
    "contests": ("{ contests { edges { node { id title status } } } }", {}),
    "contest": (
        "query($contest: ID!) { contest(id: $contest) {"
        " entries { edges { node { id voteCount rank } } } } }",
        {},
    ),
    "leaderboard": (
        "{ weekly: leaderboard(kind: POSTS) { rank score member { id } }"
        ' board: leaderboard(kind: LIKES_RECEIVED, period: ALL_TIME, boardSlug: "beauty")'
        " { rank score member { id } }"
        " experience: leaderboard(period: DAILY) { rank score member { id } } }",
        {},
    ),
    "viewerRank": (
        "{ viewerRank(kind: LIKES_RECEIVED) { rank score member { id } }"
        " posts: viewerRank(kind: POSTS, period: MONTHLY) { rank score } }",
        {"as_": "alice"},
    ),
    "badges": ("{ badges { code name holderCount } }", {}),
    "memberLevels": ("{ memberLevels { level name minExperience } }", {}),
    "pointHistory": (
        "{ pointHistory { edges { node { delta reason balanceAfter } } } }",
        {"as_": "alice"},
    ),
    "rewardItems": ("{ rewardItems { edges { node { id } } } }", {}),
    "viewerRedemptions": ("{ viewerRedemptions { edges { node { id } } } }", {"as_": "alice"}),
    "moderationQueue": (
        "{ moderationQueue { edges { node { id status } } } }",
        {"as_": MODERATOR, "roles": ("moderator",)},
    ),
    "moderationLog": (
        "{ moderationLog { edges { node { id action } } } }",
        {"as_": MODERATOR, "roles": ("moderator",)},
    ),
    "wordRules": (
        "{ wordRules { pattern action } }",
        {"as_": ADMIN, "roles": ("admin",)},
    ),
}


MOD = {"as_": MODERATOR, "roles": ("moderator",)}
ADMIN_CALLER = {"as_": ADMIN, "roles": ("admin",)}

#: Writes of every area that touches Redis (rate limits, duplicates, pub/sub, leaderboards,
#: counts, HOT, word rules), sent while Redis is down: (mutation, caller).
WRITES: list[tuple[str, dict[str, Any]]] = [
    (
        'mutation($topic: ID!) { updateTopic(input: {id: $topic, title: "Edited while down"})'
        " { errors { code } } }",
        {"as_": "alice"},
    ),
    ("mutation($topic: ID!) { unlike(id: $topic) { errors { code } } }", {"as_": "bob"}),
    ("mutation($board: ID!) { followBoard(boardId: $board) { errors { code } } }", {"as_": "erin"}),
    (
        "mutation($second: ID!) { reportContent(input: {id: $second, reason: SPAM})"
        " { errors { code } } }",
        {"as_": "bob"},
    ),
    (
        "mutation($second: ID!) { moderateContent(input: {id: $second, action: HIDE})"
        " { errors { code } } }",
        MOD,
    ),
    (
        'mutation($carol: ID!) { banMember(memberId: $carol, reason: "spam") { errors { code } } }',
        MOD,
    ),
    ("mutation($carol: ID!) { restoreMember(memberId: $carol) { errors { code } } }", MOD),
    (
        'mutation { upsertWordRule(input: {pattern: "刷单", action: BLOCK, category: "spam"})'
        " { errors { code } } }",
        ADMIN_CALLER,
    ),
]


def test_every_query_the_schema_serves_is_read_in_the_outage():
    query_type = build_schema()._schema.query_type
    assert query_type is not None
    assert set(query_type.fields) == set(READS)


async def community(api) -> dict[str, Any]:
    """A board with topics, comments, likes, a contest with votes and check-ins, made within
    one day, week and month (the leaderboards show them all)."""
    pin_clock(api, date(2031, 5, 14), 9)  # a Wednesday morning
    board = await create_board(api, "beauty")
    first = await create_topic(api, board["id"], "alice", productSkus=["SKU-1"])
    second = await create_topic(api, board["id"], "carol", title="Second", tags=["lipstick"])
    comment = await create_comment(api, first["id"], "bob")
    await api(LIKE, {"id": first["id"]}, as_="bob")
    await api(LIKE, {"id": comment["id"]}, as_="alice")
    await api('mutation { followTag(tag: "lipstick") { errors { code } } }', as_="bob")
    contest = await create_contest(api, board["id"])
    clock.travel(timedelta(hours=2))  # the contest opens
    await check_in(api, "alice")
    entries = [await submit(api, contest["id"], author) for author in ("alice", "carol")]
    await voted(api, entries[1]["id"], "bob", "dave")
    alice = (await api("{ viewer { id } }", as_="alice"))["viewer"]["id"]
    carol = (await api("{ viewer { id } }", as_="carol"))["viewer"]["id"]
    for _, caller in READS.values():  # every reader joins (and earns the welcome gift) now
        await api.post("{ viewer { id } }", **caller)
    return {
        "board": board,
        "first": first,
        "second": second,
        "contest": contest,
        "entries": entries,
        "alice": alice,
        "carol": carol,
    }


async def read_everything(api, made: dict[str, Any]) -> dict[str, Any]:
    variables = {
        "id": made["first"]["id"],
        "member": made["alice"],
        "contest": made["contest"]["id"],
    }
    answers = {}
    for field, (query, caller) in READS.items():
        used = {name: value for name, value in variables.items() if f"${name}" in query}
        response = await api.post(query, used, **caller)
        assert response.status_code == 200, (field, response.text)
        body = response.json()
        assert not body.get("errors"), (field, body["errors"])
        answers[field] = body["data"]
    return answers


async def test_with_redis_down_every_query_answers_as_before_and_writes_succeed(
    api, app, redis_down, no_rate_limits
):
    made = await community(api)
    before = await read_everything(api, made)
    assert before["leaderboard"]["weekly"], "the community has posts this week"

    async with redis_down():
        assert await read_everything(api, made) == before
        topic = await create_topic(api, made["board"]["id"], "alice", title="While down")
        comment = await create_comment(api, made["second"]["id"], "alice", "Written while down")
        liked = await api(LIKE, {"id": made["second"]["id"]}, as_="alice")
        assert liked["like"]["errors"] == [] and liked["like"]["likeCount"] == 1
        await check_in(api, "carol")
        await voted(api, made["entries"][0]["id"], "erin")
        variables = {
            "topic": made["first"]["id"],
            "second": made["second"]["id"],
            "board": made["board"]["id"],
            "carol": made["carol"],
        }
        for mutation, caller in WRITES:
            used = {name: value for name, value in variables.items() if f"${name}" in mutation}
            data = await api(mutation, used, **caller)
            assert next(iter(data.values()))["errors"] == [], (mutation, data)
        during = await read_everything(api, made)
        assert missed_writes.pending()

    assert await Topic.filter(id=pk_of(topic["id"])).exists()
    assert await Comment.filter(id=pk_of(comment["id"])).exists()
    assert await Like.filter(subject_id=pk_of(made["second"]["id"])).count() == 1
    # What Redis missed is rebuilt once it answers: its answers are PostgreSQL's again.
    assert await reconcile.reconcile(api.settings, app.state.services["redis"])
    assert not missed_writes.pending()
    after = await read_everything(api, made)
    assert after == during
    weekly = {row["member"]["id"]: row["score"] for row in after["leaderboard"]["weekly"]}
    alice = pk_of(made["alice"])
    published = ContentStatus.PUBLISHED
    posts = await Topic.filter(author_id=alice, status=published).count()
    posts += await Comment.filter(author_id=alice, status=published).count()
    assert weekly[made["alice"]] == posts == 4  # a topic, an entry, then a topic and a comment


async def test_readyz_says_redis_is_down_and_ready_again_when_it_answers(client, redis_down):
    async with redis_down():
        down = await client.get("/readyz")
    assert down.status_code == 503 and down.json()["failing"] == ["redis"]
    assert (await client.get("/readyz")).status_code == 200
