"""Who sees a member's points, the viewer's point history page by page, admins'
adjustments, and the database's own refusal of a negative balance."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from tortoise.exceptions import IntegrityError

from mallforum import clock
from models import Member, PointReason, PointTransaction
from tests.forum import ADMIN, CALLERS, concurrently, create_board, create_topic
from tests.growth.ledger_steps import (
    ADJUST,
    ADMIN_ROLES,
    HISTORY,
    MEMBER,
    adjust,
    assert_ledger_matches,
    earning,
    history,
    rows_of,
    viewer,
)

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_points_are_shown_to_the_member_and_to_admins_only(api, caller):
    alice = await viewer(api, "alice")
    sub, roles = CALLERS[caller]
    shown = (await api(MEMBER, {"id": alice["id"]}, as_=sub, roles=roles))["member"]
    assert shown["id"] == alice["id"] and shown["experience"] == alice["experience"]
    sees = caller in ("member", "admin")
    assert shown["points"] == (alice["points"] if sees else None)


async def test_member_levels_list_the_configured_table_with_cumulative_privileges(api):
    query = "{ memberLevels { level name minExperience privileges } }"
    shown = (await api(query))["memberLevels"]
    assert shown == [
        {
            "level": rule.level,
            "name": rule.name,
            "minExperience": rule.min_experience,
            "privileges": rule.privileges,
        }
        for rule in api.settings.levels.levels
    ]
    for lower, higher in itertools.pairwise(shown):
        assert set(lower["privileges"]) <= set(higher["privileges"])
    by_level = {row["level"]: set(row["privileges"]) for row in shown}
    assert {"POST_IMAGES", "POST_LINKS"} <= by_level[2]
    assert by_level[0] == set()


# ---------------------------------------------------------------- point history


@pytest.mark.usefixtures("no_rate_limits")
async def test_point_history_shows_only_the_viewers_own_rows_page_by_page(api):
    board = await create_board(api)
    for n in range(3):
        await create_topic(api, board["id"], author="alice", title=f"Topic {n}")
    await create_topic(api, board["id"], author="bob")

    first = await history(api, "alice", first=2)
    assert first["totalCount"] == 4 and first["pageInfo"]["hasNextPage"] is True
    second = await history(api, "alice", first=2, after=first["pageInfo"]["endCursor"])
    assert second["totalCount"] == 4 and second["pageInfo"]["hasNextPage"] is False
    nodes = [e["node"] for e in first["edges"] + second["edges"]]
    assert [n["reason"] for n in nodes] == ["TOPIC_CREATED"] * 3 + ["WELCOME_GIFT"]
    balances = [n["balanceAfter"] for n in nodes]
    assert balances == sorted(balances, reverse=True)
    assert balances[0] == (await viewer(api, "alice"))["points"]
    alice = await Member.get(mall_user_id="alice")
    stored = await PointTransaction.filter(member_id=alice.pk).count()
    assert len({n["id"] for n in nodes}) == stored == 4
    assert (await history(api, "bob"))["totalCount"] == 2


async def test_point_history_of_an_anonymous_reader_is_empty(api):
    await viewer(api, "alice")
    shown = await history(api, None)
    assert shown == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_point_history_refuses_more_than_100_items_a_page(api):
    assert (await history(api, "alice", first=100))["totalCount"] == 1
    response = await api.post(HISTORY, {"first": 101}, as_="alice")
    body = response.json()
    assert body.get("errors"), body
    assert body["errors"][0]["extensions"]["code"] == "INVALID"
    assert body["data"] is None


# ---------------------------------------------------------------- adjustPoints


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("anonymous", "UNAUTHENTICATED"),
        ("member", "FORBIDDEN"),
        ("other member", "FORBIDDEN"),
        ("moderator", "FORBIDDEN"),
        ("service", "FORBIDDEN"),
    ],
)
async def test_only_admins_may_adjust_points(api, caller, code):
    alice = await viewer(api, "alice")
    sub, roles = CALLERS[caller]
    for delta in (500, -50):
        answer = await adjust(api, alice["id"], delta, f"key-{delta}", as_=sub, roles=roles)
        assert answer["transaction"] is None
        assert [e["code"] for e in answer["errors"]] == [code]
    assert (await viewer(api, "alice"))["points"] == alice["points"]
    assert await PointTransaction.filter(reason=PointReason.ADMIN_ADJUSTMENT).count() == 0


async def test_an_admin_adds_and_takes_points_with_a_note_the_member_sees(api):
    alice = await viewer(api, "alice")
    start = alice["points"]
    added = await adjust(api, alice["id"], 40, "add-1", reason="  Contest runner-up  ")
    assert added["errors"] == []
    assert added["transaction"]["delta"] == 40
    assert added["transaction"]["reason"] == "ADMIN_ADJUSTMENT"
    assert added["transaction"]["note"] == "Contest runner-up"
    assert added["transaction"]["balanceAfter"] == start + 40
    taken = await adjust(api, alice["id"], -15, "take-1", reason="Duplicate prize")
    assert taken["errors"] == [] and taken["transaction"]["balanceAfter"] == start + 25

    assert (await viewer(api, "alice"))["points"] == start + 25
    newest = [e["node"] for e in (await history(api, "alice", first=2))["edges"]]
    assert [(n["delta"], n["note"], n["balanceAfter"]) for n in newest] == [
        (-15, "Duplicate prize", start + 25),
        (40, "Contest runner-up", start + 40),
    ]
    assert [n["id"] for n in newest] == [taken["transaction"]["id"], added["transaction"]["id"]]
    await assert_ledger_matches("alice")


async def test_taking_more_than_the_balance_is_insufficient_and_writes_nothing(api):
    alice = await viewer(api, "alice")
    answer = await adjust(api, alice["id"], -(alice["points"] + 1), "too-much")
    assert answer["transaction"] is None
    assert [e["code"] for e in answer["errors"]] == ["INSUFFICIENT_POINTS"]
    assert (await viewer(api, "alice"))["points"] == alice["points"]
    assert await PointTransaction.filter(reason=PointReason.ADMIN_ADJUSTMENT).count() == 0
    exact = await adjust(api, alice["id"], -alice["points"], "all-of-it")  # to zero is fine
    assert exact["errors"] == [] and exact["transaction"]["balanceAfter"] == 0


@pytest.mark.parametrize(
    ("delta", "reason", "key", "field"),
    [
        (0, "Goodwill", "key-1", "delta"),
        (10, "", "key-1", "reason"),
        (10, "   ", "key-1", "reason"),
        (10, "x" * 201, "key-1", "reason"),
        (10, "Goodwill", "", "idempotencyKey"),
        (10, "Goodwill", "k" * 129, "idempotencyKey"),
        (1_000_001, "Goodwill", "key-1", "delta"),
    ],
)
async def test_a_bad_delta_reason_or_key_is_invalid_and_writes_nothing(
    api, delta, reason, key, field
):
    alice = await viewer(api, "alice")
    answer = await adjust(api, alice["id"], delta, key, reason=reason)
    assert answer["transaction"] is None
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [("INVALID", [field])]
    assert (await viewer(api, "alice"))["points"] == alice["points"]
    assert await PointTransaction.filter(reason=PointReason.ADMIN_ADJUSTMENT).count() == 0


async def test_every_bad_argument_of_an_adjustment_is_reported_at_once(api):
    alice = await viewer(api, "alice")
    answer = await adjust(api, alice["id"], 0, "k" * 129, reason="")
    assert sorted((e["code"], e["field"]) for e in answer["errors"]) == [
        ("INVALID", ["delta"]),
        ("INVALID", ["idempotencyKey"]),
        ("INVALID", ["reason"]),
    ]


async def test_adjusting_an_unknown_member_is_not_found(api):
    alice = await viewer(api, "alice")
    board = await create_board(api)
    for bad_id in ("garbage", board["id"], "TWVtYmVyOjk5OTk5"):  # the last: Member:99999
        answer = await adjust(api, bad_id, 10, "key-1")
        assert answer["transaction"] is None
        assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"], bad_id
    assert (await viewer(api, "alice"))["points"] == alice["points"]


async def test_the_same_idempotency_key_twice_answers_the_same_transaction_once(api):
    alice = await viewer(api, "alice")
    first = await adjust(api, alice["id"], 30, "gift-7")
    again = await adjust(api, alice["id"], 30, "gift-7")
    assert first["errors"] == [] and again == first
    assert (await viewer(api, "alice"))["points"] == alice["points"] + 30
    assert len(await rows_of("alice", PointReason.ADMIN_ADJUSTMENT)) == 1


async def test_the_same_key_with_another_delta_is_a_conflict(api):
    alice = await viewer(api, "alice")
    assert (await adjust(api, alice["id"], 30, "gift-7"))["errors"] == []
    for delta in (31, -30):
        answer = await adjust(api, alice["id"], delta, "gift-7")
        assert answer["transaction"] is None
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [
            ("CONFLICT", ["idempotencyKey"])
        ]
    assert (await viewer(api, "alice"))["points"] == alice["points"] + 30
    assert len(await rows_of("alice", PointReason.ADMIN_ADJUSTMENT)) == 1


async def test_idempotency_keys_are_per_member(api):
    alice, bob = await viewer(api, "alice"), await viewer(api, "bob")
    for_alice = await adjust(api, alice["id"], 30, "gift-7")
    for_bob = await adjust(api, bob["id"], 30, "gift-7")
    assert for_alice["errors"] == [] and for_bob["errors"] == []
    assert for_alice["transaction"]["id"] != for_bob["transaction"]["id"]
    assert (await viewer(api, "alice"))["points"] == alice["points"] + 30
    assert (await viewer(api, "bob"))["points"] == bob["points"] + 30


async def test_ten_concurrent_adjustments_with_one_key_change_the_balance_once(api):
    alice = await viewer(api, "alice")
    variables = {"memberId": alice["id"], "delta": 25, "reason": "Retry", "key": "once"}
    answers = await concurrently(
        api.post(ADJUST, variables, as_=ADMIN, roles=ADMIN_ROLES) for _ in range(10)
    )
    payloads = [a["adjustPoints"] for a in answers]
    assert all(p["errors"] == [] for p in payloads), payloads
    assert len({p["transaction"]["id"] for p in payloads}) == 1
    assert (await viewer(api, "alice"))["points"] == alice["points"] + 25
    assert len(await rows_of("alice", PointReason.ADMIN_ADJUSTMENT)) == 1
    await assert_ledger_matches("alice")


async def test_concurrent_takes_never_make_the_balance_negative(api):
    alice = await viewer(api, "alice")
    assert (await adjust(api, alice["id"], 100, "top-up"))["errors"] == []
    balance = alice["points"] + 100
    answers = await concurrently(
        api.post(
            ADJUST,
            {"memberId": alice["id"], "delta": -30, "reason": "Spend", "key": f"take-{n}"},
            as_=ADMIN,
            roles=ADMIN_ROLES,
        )
        for n in range(20)
    )
    payloads = [a["adjustPoints"] for a in answers]
    succeeded = [p for p in payloads if p["errors"] == []]
    refused = [p for p in payloads if p["errors"]]
    assert len(succeeded) == balance // 30
    assert {e["code"] for p in refused for e in p["errors"]} == {"INSUFFICIENT_POINTS"}
    assert sorted(p["transaction"]["balanceAfter"] for p in succeeded) == [
        balance - 30 * n for n in range(len(succeeded), 0, -1)
    ]
    member = await assert_ledger_matches("alice")
    assert member.points == balance % 30
    assert (await viewer(api, "alice"))["points"] == balance % 30


# ---------------------------------------------------------------- the database itself


async def test_the_database_refuses_a_negative_balance(api):
    await viewer(api, "alice")
    with pytest.raises(IntegrityError):
        await Member.filter(mall_user_id="alice").update(points=-1)
    member = await Member.get(mall_user_id="alice")
    assert member.points == earning(api, PointReason.WELCOME_GIFT).points


async def test_the_database_refuses_a_ledger_row_with_a_negative_balance_after(api):
    await viewer(api, "alice")
    member = await Member.get(mall_user_id="alice")
    with pytest.raises(IntegrityError):
        await PointTransaction.create(
            member_id=member.pk,
            delta=-(member.points + 1),
            reason=PointReason.ADMIN_ADJUSTMENT,
            idempotency_key="forged",
            balance_after=-1,
            day=date.today(),
            created_at=clock.now(),
        )
    assert await PointTransaction.filter(idempotency_key="forged").count() == 0
