"""Badges (勋章): the catalogue and its sync from TOML, each automatic rule (first topic,
check-in streaks, active days in a month, likes received, verified buyer) awarding once at
its threshold, and moderators granting manual badges, exactly once under concurrency."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from importlib import resources

import pytest

from mallforum import clock
from mallforum.ids import encode_id
from models import ActivityDay, Badge, BadgeAward, BadgeKind, Member
from resolvers.badges import sync_catalogue
from tests.clock_steps import local, set_clock
from tests.forum import (
    ADMIN,
    CALLERS,
    LIKE,
    MODERATOR,
    SERVICE,
    concurrently,
    create_board,
    create_comment,
    create_topic,
)
from tests.growth.steps import check_in

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar

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


# ---------------------------------------------------------------- the catalogue


async def test_the_catalogue_lists_every_shipped_badge_with_its_kind_and_no_holders(api):
    listed = (await api(CATALOGUE))["badges"]
    assert [(b["code"], b["name"], b["description"], b["kind"]) for b in listed] == [
        (b["code"], b["name"], b["description"], b["kind"]) for b in SHIPPED
    ]
    assert {b["holderCount"] for b in listed} == {0}
    assert len({b["id"] for b in listed}) == len(SHIPPED)
    kinds = {b["code"]: b["kind"] for b in listed}
    assert kinds["FIRST_TOPIC"] == "AUTOMATIC" and kinds["COMMUNITY_HELPER"] == "MANUAL"


async def test_member_badges_list_the_latest_award_first_with_when_and_why(api):
    board = await create_board(api)
    times = [local(api, date(2030, 5, 1), hour) for hour in (9, 10, 11)]
    set_clock(times[0])
    assert (await grant(api, "alice", "COMMUNITY_HELPER", "Welcomes newcomers"))["errors"] == []
    set_clock(times[1])
    await create_topic(api, board["id"], author="alice")
    set_clock(times[2])
    assert (await grant(api, "alice", "BRAND_OFFICIAL", "Speaks for Acme"))["errors"] == []

    listed = await badges_of(api, "alice")
    assert listed["totalCount"] == 3
    nodes = [e["node"] for e in listed["edges"]]
    assert [(n["badge"]["code"], n["reason"]) for n in nodes] == [
        ("BRAND_OFFICIAL", "Speaks for Acme"),
        ("FIRST_TOPIC", None),
        ("COMMUNITY_HELPER", "Welcomes newcomers"),
    ]
    awarded = [datetime.fromisoformat(n["awardedAt"]) for n in nodes]
    for at, expected in zip(awarded, reversed(times), strict=True):
        assert abs(at - expected) < timedelta(seconds=30), (at, expected)

    first_page = await badges_of(api, "alice", first=2)
    assert [e["node"]["badge"]["code"] for e in first_page["edges"]] == [
        "BRAND_OFFICIAL",
        "FIRST_TOPIC",
    ]
    assert first_page["pageInfo"]["hasNextPage"] is True
    rest = await badges_of(api, "alice", first=2, after=first_page["pageInfo"]["endCursor"])
    assert [e["node"]["badge"]["code"] for e in rest["edges"]] == ["COMMUNITY_HELPER"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert (await badges_of(api, "bob"))["totalCount"] == 0


# ---------------------------------------------------------------- first topic


@pytest.mark.usefixtures("no_rate_limits")
async def test_the_first_published_topic_awards_first_topic_and_a_second_does_not_again(api):
    board = await create_board(api)
    assert await codes_of(api, "alice") == []
    topic = await create_topic(api, board["id"], author="alice")
    assert topic["status"] == "PUBLISHED"
    assert await codes_of(api, "alice") == ["FIRST_TOPIC"]
    assert await holders(api, "FIRST_TOPIC") == 1
    await create_topic(api, board["id"], author="alice", title="Again", body="Second post")
    assert await codes_of(api, "alice") == ["FIRST_TOPIC"]
    assert await award_rows("FIRST_TOPIC") == 1
    assert await holders(api, "FIRST_TOPIC") == 1


async def test_two_members_first_topics_make_two_holders(api):
    board = await create_board(api)
    await create_topic(api, board["id"], author="alice")
    await create_topic(api, board["id"], author="bob", title="Bob's", body="Mine")
    assert await codes_of(api, "bob") == ["FIRST_TOPIC"]
    assert await holders(api, "FIRST_TOPIC") == 2
    assert await award_rows("FIRST_TOPIC") == 2


# ---------------------------------------------------------------- check-in streaks


async def check_in_days(api, days: int, who: str = "alice") -> None:
    """Check in on `days` consecutive days, the clock ending one day after the last."""
    for _ in range(days):
        assert (await check_in(api, who))["newCheckIn"] is True
        clock.travel(timedelta(days=1))


async def test_seven_consecutive_check_ins_award_check_in_7_but_six_do_not(api):
    await check_in_days(api, 6)
    assert "CHECK_IN_7" not in await codes_of(api, "alice")
    assert (await check_in(api))["streak"] == 7
    assert "CHECK_IN_7" in await codes_of(api, "alice")
    assert await holders(api, "CHECK_IN_7") == 1
    assert await award_rows("CHECK_IN_7") == 1


async def test_check_ins_broken_by_a_missed_day_do_not_add_up_to_a_streak_badge(api):
    await check_in_days(api, 6)
    clock.travel(timedelta(days=1))  # missed
    await check_in_days(api, 6)
    assert "CHECK_IN_7" not in await codes_of(api, "alice")
    assert await award_rows("CHECK_IN_7") == 0


async def test_thirty_consecutive_check_ins_award_check_in_30_but_twenty_nine_do_not(api):
    await check_in_days(api, 29)
    held = await codes_of(api, "alice")
    assert "CHECK_IN_7" in held and "CHECK_IN_30" not in held
    assert (await check_in(api))["streak"] == 30
    held = await codes_of(api, "alice")
    assert held[0] == "CHECK_IN_30"
    assert held.count("CHECK_IN_7") == 1
    assert await holders(api, "CHECK_IN_30") == 1


# ---------------------------------------------------------------- active days in a month


async def active_days(sub: str) -> list[date]:
    member = await Member.get(mall_user_id=sub)
    return (
        await ActivityDay.filter(member_id=member.pk).order_by("day").values_list("day", flat=True)
    )


async def test_fifteen_active_days_in_one_month_award_active_star_and_fourteen_do_not(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    await member_id(api, "bob")
    first = date(2030, 3, 1)
    for n in range(14):  # each kind of activity counts; two on one day count as one day
        set_clock(local(api, first + timedelta(days=n), 12))
        kind = n % 4
        if kind == 0:
            await check_in(api, "bob")
            await create_comment(api, topic["id"], author="bob", body=f"Same day {n}")
        elif kind == 1:
            await create_comment(api, topic["id"], author="bob", body=f"Day {n}")
        elif kind == 2:
            liked = await create_comment(api, topic["id"], author="alice", body=f"Like me {n}")
            await like(api, liked["id"], "bob")
        else:
            await create_topic(api, board["id"], author="bob", title=f"Day {n}", body="Hi")
    assert len(await active_days("bob")) == 14
    assert "ACTIVE_STAR" not in await codes_of(api, "bob")

    set_clock(local(api, first + timedelta(days=20), 12))
    await like(api, topic["id"], "bob")
    assert len(await active_days("bob")) == 15
    assert await codes_of(api, "bob") == ["ACTIVE_STAR", "FIRST_TOPIC"]
    assert await holders(api, "ACTIVE_STAR") == 1
    assert "ACTIVE_STAR" not in await codes_of(api, "alice")


async def test_active_days_spread_over_two_months_do_not_add_up(api):
    set_clock(local(api, date(2030, 3, 10), 12))
    for _ in range(11):  # every other day, 10 to 30 March: no streak to speak of
        assert (await check_in(api))["streak"] == 1
        clock.travel(timedelta(days=2))
    assert clock.now().astimezone(api.settings.zone).date() == date(2030, 4, 1)
    for _ in range(14):  # 1 to 27 April: 25 active days in all, 14 of them in April
        await check_in(api)
        clock.travel(timedelta(days=2))
    assert len(await active_days("alice")) == 25
    assert "ACTIVE_STAR" not in await codes_of(api, "alice")
    assert await award_rows("ACTIVE_STAR") == 0

    await check_in(api)  # 29 April: the 15th day of April
    awarded = (await badges_of(api, "alice"))["edges"][0]["node"]
    assert awarded["badge"]["code"] == "ACTIVE_STAR"
    at = datetime.fromisoformat(awarded["awardedAt"]).astimezone(api.settings.zone)
    assert at.date() == date(2030, 4, 29)


# ---------------------------------------------------------------- likes received


async def test_a_hundred_likes_from_other_members_award_quality_creator_self_likes_do_not(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    comment = await create_comment(api, topic["id"], author="alice", body="Mine too")
    await like(api, topic["id"], "alice")  # self-likes count on the subject, not for the badge
    await like(api, comment["id"], "alice")
    for start in (0, 33, 66):  # 99 other members, 33 at once
        datas = await concurrently(
            api.post(LIKE, {"id": topic["id"]}, as_=f"fan-{n}") for n in range(start, start + 33)
        )
        assert all(d["like"]["errors"] == [] for d in datas)
    assert (await Member.get(mall_user_id="alice")).likes_received == 99
    assert "QUALITY_CREATOR" not in await codes_of(api, "alice")

    assert (await api(UNLIKE, {"id": topic["id"]}, as_="fan-0"))["unlike"]["errors"] == []
    await like(api, topic["id"], "fan-0")  # the same liker again is not a new like
    assert (await Member.get(mall_user_id="alice")).likes_received == 99
    assert "QUALITY_CREATOR" not in await codes_of(api, "alice")
    assert await award_rows("QUALITY_CREATOR") == 0

    await like(api, comment["id"], "fan-99")  # likes on comments count as well
    assert (await Member.get(mall_user_id="alice")).likes_received == 100
    assert await codes_of(api, "alice") == ["QUALITY_CREATOR", "FIRST_TOPIC"]
    assert await holders(api, "QUALITY_CREATOR") == 1


LIKED_3 = """
[[badge]]
code = "LIKED_3"
name = "小有人气"
description = "Received 3 likes from other members."
kind = "AUTOMATIC"
rule = "likes_received"
threshold = 3
"""


@pytest.mark.usefixtures("no_rate_limits")
async def test_likes_on_a_deleted_topic_no_longer_count_as_likes_received(api, settings, tmp_path):
    await sync_catalogue(with_badges_file(settings, tmp_path, LIKED_3))  # a threshold of 3
    board = await create_board(api)
    removed = await create_topic(api, board["id"], author="alice", title="Gone", body="Soon")
    kept = await create_topic(api, board["id"], author="alice", title="Kept", body="Stays")
    for fan in ("fan-1", "fan-2"):
        await like(api, removed["id"], fan)
    delete = "mutation($id: ID!) { deleteTopic(id: $id) { errors { code } } }"
    assert (await api(delete, {"id": removed["id"]}, as_="alice"))["deleteTopic"]["errors"] == []
    for fan in ("fan-3", "fan-4"):
        await like(api, kept["id"], fan)
    # likes by others on the member's *published* topics and comments: 2, not 4
    assert (await Member.get(mall_user_id="alice")).likes_received == 2
    assert "LIKED_3" not in await codes_of(api, "alice")
    await like(api, kept["id"], "fan-5")
    assert "LIKED_3" in await codes_of(api, "alice")


# ---------------------------------------------------------------- verified buyer


async def record_purchase(api, sub: str, order_id: str = "O-1", sku: str = "SKU-1") -> None:
    purchase = {"mallUserId": sub, "sku": sku, "orderId": order_id}
    data = await api(RECORD_PURCHASE, {"input": purchase}, as_=SERVICE, roles=("service",))
    assert data["recordPurchase"] == {"recorded": True, "errors": []}


async def test_a_purchase_reported_for_a_member_awards_verified_buyer_once(api):
    assert await codes_of(api, "alice") == []
    await record_purchase(api, "alice")
    assert await codes_of(api, "alice") == ["VERIFIED_BUYER"]
    await record_purchase(api, "alice", order_id="O-2", sku="SKU-2")
    assert await codes_of(api, "alice") == ["VERIFIED_BUYER"]
    assert await award_rows("VERIFIED_BUYER") == 1
    assert await holders(api, "VERIFIED_BUYER") == 1
    assert await codes_of(api, "bob") == []


async def test_a_purchase_reported_before_the_first_sign_in_awards_verified_buyer_at_sign_in(api):
    await record_purchase(api, "newbie")
    assert not await Member.exists(mall_user_id="newbie")
    assert await award_rows("VERIFIED_BUYER") == 0
    assert await codes_of(api, "newbie") == ["VERIFIED_BUYER"]
    assert await holders(api, "VERIFIED_BUYER") == 1
    await member_id(api, "newbie")  # later requests change nothing
    assert await award_rows("VERIFIED_BUYER", "newbie") == 1


# ---------------------------------------------------------------- grantBadge


@pytest.mark.parametrize("granter", [MODERATOR, ADMIN])
async def test_moderators_and_admins_grant_a_manual_badge_with_a_reason(api, granter):
    answer = await grant(api, "alice", "COMMUNITY_HELPER", "  Answers every question  ", granter)
    assert answer["errors"] == []
    assert answer["member"]["id"] == await member_id(api, "alice")
    assert answer["member"]["badges"] == {
        "totalCount": 1,
        "edges": [
            {
                "node": {
                    "reason": "Answers every question",
                    "badge": {"code": "COMMUNITY_HELPER", "holderCount": 1},
                }
            }
        ],
    }
    [shown] = (await badges_of(api, "alice"))["edges"]
    assert shown["node"]["reason"] == "Answers every question"
    assert shown["node"]["badge"]["kind"] == "MANUAL"
    assert await holders(api, "COMMUNITY_HELPER") == 1


async def test_granting_a_badge_the_member_holds_changes_nothing(api):
    first = await grant(api, "alice", "COMMUNITY_HELPER", "First reason")
    again = await grant(api, "alice", "COMMUNITY_HELPER", "Another reason")
    assert again["errors"] == []
    assert again["member"]["badges"] == first["member"]["badges"]
    assert again["member"]["badges"]["edges"][0]["node"]["reason"] == "First reason"
    assert await award_rows("COMMUNITY_HELPER") == 1
    assert await holders(api, "COMMUNITY_HELPER") == 1


async def test_an_automatic_badge_cannot_be_granted_by_hand(api):
    answer = await grant(api, "alice", "FIRST_TOPIC", "Nice")
    assert answer["member"] is None
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(["badgeCode"], "INVALID")]
    assert await BadgeAward.all().count() == 0
    assert await holders(api, "FIRST_TOPIC") == 0


async def test_a_reason_over_two_hundred_characters_is_invalid(api):
    answer = await grant(api, "alice", "COMMUNITY_HELPER", "x" * 201)
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(["reason"], "INVALID")]
    assert (await grant(api, "alice", "COMMUNITY_HELPER", "x" * 200))["errors"] == []


async def test_an_unknown_badge_code_or_member_is_not_found(api):
    answer = await grant(api, "alice", "NO_SUCH_BADGE")
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(["badgeCode"], "NOT_FOUND")]
    board = await create_board(api)
    for missing in (encode_id("Member", 999_999), "garbage", board["id"]):
        variables = {"memberId": missing, "code": "COMMUNITY_HELPER"}
        data = await api(GRANT, variables, as_=MODERATOR, roles=("moderator",))
        answer = data["grantBadge"]
        assert answer["member"] is None
        assert [(e["field"], e["code"]) for e in answer["errors"]] == [(["memberId"], "NOT_FOUND")]
    assert await BadgeAward.all().count() == 0
    assert await holders(api, "COMMUNITY_HELPER") == 0


@pytest.mark.parametrize(
    ("caller", "code"),
    [("member", "FORBIDDEN"), ("service", "FORBIDDEN"), ("anonymous", "UNAUTHENTICATED")],
)
async def test_only_moderators_grant_badges(api, caller, code):
    target = await member_id(api, "bob" if caller == "member" else "alice")
    sub, roles = CALLERS[caller]
    variables = {"memberId": target, "code": "COMMUNITY_HELPER", "reason": "Me!"}
    answer = (await api(GRANT, variables, as_=sub, roles=roles))["grantBadge"]
    assert answer["member"] is None
    assert [e["code"] for e in answer["errors"]] == [code]
    assert await BadgeAward.all().count() == 0
    assert await holders(api, "COMMUNITY_HELPER") == 0


async def test_ten_concurrent_grants_of_one_badge_to_one_member_award_it_once(api):
    variables = {"memberId": await member_id(api, "alice"), "code": "CONTEST_WINNER"}
    datas = await concurrently(
        api.post(GRANT, variables, as_=MODERATOR, roles=("moderator",)) for _ in range(10)
    )
    assert all(d["grantBadge"]["errors"] == [] for d in datas)
    assert {d["grantBadge"]["member"]["badges"]["totalCount"] for d in datas} == {1}
    assert await award_rows("CONTEST_WINNER") == 1
    assert await holders(api, "CONTEST_WINNER") == 1


async def test_concurrent_grants_to_ten_members_count_ten_holders(api):
    members = [await member_id(api, f"winner-{n}") for n in range(10)]
    datas = await concurrently(
        api.post(GRANT, {"memberId": m, "code": "CONTEST_WINNER"}, as_=ADMIN, roles=("admin",))
        for m in members
    )
    assert all(d["grantBadge"]["errors"] == [] for d in datas)
    assert await award_rows("CONTEST_WINNER") == 10
    assert await holders(api, "CONTEST_WINNER") == 10


# ---------------------------------------------------------------- the catalogue's sync


async def test_syncing_the_catalogue_again_keeps_one_row_per_code_and_its_holders(api, settings):
    board = await create_board(api)
    await create_topic(api, board["id"], author="alice")
    before = await catalogue(api)
    await Badge.filter(code="FIRST_TOPIC").update(name="Renamed by hand")
    await sync_catalogue(settings)
    await sync_catalogue(settings)
    assert await Badge.all().count() == len(SHIPPED)
    assert sorted(await Badge.all().values_list("code", flat=True)) == sorted(
        b["code"] for b in SHIPPED
    )
    assert await catalogue(api) == before  # the file's texts again, ids and holders kept
    assert await codes_of(api, "alice") == ["FIRST_TOPIC"]


BADGES_FILE = """
[[badge]]
code = "TWO_TOPICS"
name = "两帖"
description = "Published two topics."
kind = "AUTOMATIC"
rule = "topics_published"
threshold = 2

[[badge]]
code = "EVENT_HOST"
name = "活动主持"
description = "Hosted a community event."
icon_url = "https://mall.example/badges/host.png"
kind = "MANUAL"

[[badge]]
code = "FIRST_TOPIC"
name = "第一帖"
description = "Published a first topic."
kind = "AUTOMATIC"
rule = "topics_published"
threshold = 1
"""


@pytest.mark.usefixtures("no_rate_limits")
async def test_a_badges_file_adds_its_badges_and_updates_the_texts_of_known_codes(
    api, settings, tmp_path
):
    await sync_catalogue(with_badges_file(settings, tmp_path, BADGES_FILE))
    listed = await catalogue(api)
    assert set(listed) == {b["code"] for b in SHIPPED} | {"TWO_TOPICS", "EVENT_HOST"}
    assert listed["EVENT_HOST"]["kind"] == "MANUAL"
    assert listed["EVENT_HOST"]["iconUrl"] == "https://mall.example/badges/host.png"
    assert listed["TWO_TOPICS"]["kind"] == "AUTOMATIC"
    assert listed["FIRST_TOPIC"]["name"] == "第一帖"
    assert await Badge.filter(code="FIRST_TOPIC").count() == 1

    assert (await grant(api, "bob", "EVENT_HOST", "Ran the spring sale Q&A"))["errors"] == []
    board = await create_board(api)
    await create_topic(api, board["id"], author="alice")
    assert await codes_of(api, "alice") == ["FIRST_TOPIC"]
    await create_topic(api, board["id"], author="alice", title="Two", body="Second")
    assert await codes_of(api, "alice") == ["TWO_TOPICS", "FIRST_TOPIC"]
    assert await BadgeAward.filter(badge__kind=BadgeKind.AUTOMATIC).count() == 2


@pytest.mark.parametrize(
    "rule_lines",
    [
        'rule = "posts_written"\nthreshold = 3',  # a rule nobody measures
        "threshold = 3",  # no rule at all
        'rule = "topics_published"',  # no threshold
    ],
)
async def test_an_automatic_badge_without_a_known_rule_and_threshold_is_refused(
    api, settings, tmp_path, rule_lines
):
    broken = f"""
[[badge]]
code = "BROKEN"
name = "坏"
description = "Measures nothing known."
kind = "AUTOMATIC"
{rule_lines}
"""
    with pytest.raises(ValueError, match="BROKEN"):
        await sync_catalogue(with_badges_file(settings, tmp_path, BADGES_FILE + broken))
    assert set(await catalogue(api)) == {b["code"] for b in SHIPPED}  # nothing was added
