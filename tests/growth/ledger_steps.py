"""Steps of the ledger tests: a member's points, experience and ledger rows as the API and
the database show them, and admins' adjustments."""

from __future__ import annotations

from models import Member, PointTransaction
from tests.forum import ADMIN, LIKE, create_board, create_topic

VIEWER = "{ viewer { id experience points level { level name } } }"
MEMBER = "query($id: ID!) { member(id: $id) { id points experience } }"
HISTORY = """
query($first: Int, $after: String) {
  pointHistory(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id delta reason note balanceAfter } }
  }
}"""
ADJUST = """
mutation($memberId: ID!, $delta: Int!, $reason: String!, $key: String!) {
  adjustPoints(memberId: $memberId, delta: $delta, reason: $reason, idempotencyKey: $key) {
    transaction { id delta reason note balanceAfter }
    errors { field code message }
  }
}"""
UNLIKE = "mutation($id: ID!) { unlike(id: $id) { errors { code } } }"
DELETE_TOPIC = "mutation($id: ID!) { deleteTopic(id: $id) { deletedId errors { code } } }"
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) { deletedId errors { code } } }"
ADMIN_ROLES = ("admin",)


# ---------------------------------------------------------------- helpers


def earning(api, reason):
    return api.settings.earning(reason)


async def viewer(api, sub):
    return (await api(VIEWER, as_=sub))["viewer"]


async def history(api, sub, first=None, after=None):
    variables = {"first": first, "after": after}
    return (await api(HISTORY, variables, as_=sub))["pointHistory"]


async def history_rows(api, sub):
    """(reason, delta, balanceAfter) of the viewer's whole ledger, newest first."""
    edges = (await history(api, sub, first=100))["edges"]
    return [(e["node"]["reason"], e["node"]["delta"], e["node"]["balanceAfter"]) for e in edges]


async def rows_of(sub, reason):
    member = await Member.get(mall_user_id=sub)
    return await PointTransaction.filter(member_id=member.pk, reason=reason).order_by("id")


async def assert_ledger_matches(sub):
    """The stored balance is the sum of the member's ledger and its latest balance_after."""
    member = await Member.get(mall_user_id=sub)
    rows = await PointTransaction.filter(member_id=member.pk).order_by("id")
    assert sum(row.delta for row in rows) == member.points
    assert rows[-1].balance_after == member.points
    assert member.points >= 0
    return member


async def adjust(api, member_gid, delta, key, reason="Goodwill", as_=ADMIN, roles=ADMIN_ROLES):
    variables = {"memberId": member_gid, "delta": delta, "reason": reason, "key": key}
    return (await api(ADJUST, variables, as_=as_, roles=roles))["adjustPoints"]


async def like(api, subject_id, as_):
    assert (await api(LIKE, {"id": subject_id}, as_=as_))["like"]["errors"] == []


async def set_experience(sub, experience):
    """Set-up: give a member (already provisioned) this much experience, its level kept."""
    await Member.filter(mall_user_id=sub).update(experience=experience)


async def alices_topic(api):
    board = await create_board(api)
    return await create_topic(api, board["id"], author="alice")
