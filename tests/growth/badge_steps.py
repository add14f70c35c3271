"""Steps of the badge tests: the catalogue, a member's badges and award rows as the API and
the database show them, and moderators' grants."""

from __future__ import annotations

import tomllib
from importlib import resources

from models import BadgeAward
from tests.forum import ADMIN, LIKE, MODERATOR

CATALOGUE = "{ badges { id code name description iconUrl kind holderCount } }"
MEMBER_BADGES = """
query($id: ID!, $first: Int, $after: String) {
  member(id: $id) {
    badges(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { awardedAt reason badge { code kind holderCount } } }
    }
  }
}"""
GRANT = """
mutation($memberId: ID!, $code: String!, $reason: String) {
  grantBadge(memberId: $memberId, badgeCode: $code, reason: $reason) {
    member { id badges { totalCount edges { node { reason badge { code holderCount } } } } }
    errors { field code message }
  }
}"""
RECORD_PURCHASE = """
mutation($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) { recorded errors { field code message } }
}"""
UNLIKE = "mutation($id: ID!) { unlike(id: $id) { errors { code } } }"

SHIPPED = tomllib.loads(
    resources.files("mallforum").joinpath("data/badges.toml").read_text("utf-8")
)["badge"]


async def catalogue(api) -> dict[str, dict]:
    """The `badges` query, by code."""
    return {b["code"]: b for b in (await api(CATALOGUE))["badges"]}


async def holders(api, code: str) -> int:
    return (await catalogue(api))[code]["holderCount"]


async def member_id(api, sub: str) -> str:
    """The member's global ID; the member is created by this first request if new."""
    return (await api("{ viewer { id } }", as_=sub))["viewer"]["id"]


async def badges_of(api, sub: str, **page) -> dict:
    """`Member.badges` of a member, as another member reads it."""
    data = await api(MEMBER_BADGES, {"id": await member_id(api, sub), **page}, as_="reader")
    return data["member"]["badges"]


async def codes_of(api, sub: str) -> list[str]:
    """The codes of the member's badges, the latest awarded first."""
    return [e["node"]["badge"]["code"] for e in (await badges_of(api, sub))["edges"]]


async def award_rows(code: str, sub: str | None = None) -> int:
    awards = BadgeAward.filter(badge__code=code)
    if sub is not None:
        awards = awards.filter(member__mall_user_id=sub)
    return await awards.count()


async def grant(api, sub: str, code: str, reason: str | None = None, as_=MODERATOR, roles=None):
    variables = {"memberId": await member_id(api, sub), "code": code, "reason": reason}
    if roles is None:
        roles = ("admin",) if as_ == ADMIN else ("moderator",)
    return (await api(GRANT, variables, as_=as_, roles=roles))["grantBadge"]


async def like(api, subject_id: str, who: str) -> None:
    assert (await api(LIKE, {"id": subject_id}, as_=who))["like"]["errors"] == []


def with_badges_file(settings, tmp_path, text: str):
    """The settings with MALLFORUM_BADGES_FILE naming a file holding `text`."""
    path = tmp_path / "badges.toml"
    path.write_text(text, encoding="utf-8")
    return settings.model_copy(update={"badges_file": path})
