"""Badges (勋章): the catalogue and its sync from TOML, and moderators granting manual
badges, exactly once under concurrency."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from mallforum.ids import encode_id
from models import Badge, BadgeAward, BadgeKind
from resolvers.badges import sync_catalogue
from tests.clock_steps import local, set_clock
from tests.forum import ADMIN, CALLERS, MODERATOR, concurrently, create_board, create_topic
from tests.growth.badge_steps import (
    CATALOGUE,
    GRANT,
    SHIPPED,
    award_rows,
    badges_of,
    catalogue,
    codes_of,
    grant,
    holders,
    member_id,
    with_badges_file,
)

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar


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
