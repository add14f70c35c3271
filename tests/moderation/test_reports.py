"""Members report topics and comments: once each, weighted by the reporter's level and past
accuracy, adding up on one open case; enough weight hides the item until a moderator decides.
Concurrent reports add up exactly."""

from __future__ import annotations

from models import Comment, Member, MemberStatus, ModerationCase, Report, Topic
from tests.forum import concurrently, create_board, create_comment, create_topic, pk_of, promote
from tests.moderation.steps import (
    REPORT,
    decide,
    moderate,
    node,
    queue,
    report,
)

COMMENT_COUNT = "query($id: ID!) { topic(id: $id) { commentCount } }"


def codes(answer: dict) -> list[str]:
    return [e["code"] for e in answer["errors"]]


async def _published_topic(api) -> dict:
    board = await create_board(api)
    return await create_topic(api, board["id"])


async def test_reports_add_up_on_one_case_and_enough_of_them_hide_the_topic(api):
    topic = await _published_topic(api)
    weight = api.settings.report_weight(0, 0)
    needed = int(-(-api.settings.report_hide_threshold // weight))  # level-0 reporters
    reporters = [f"reporter-{n}" for n in range(needed)]
    for reporter in reporters[:-1]:
        assert await report(api, topic["id"], reporter, "SPAM", f"by {reporter}") == {
            "reported": True,
            "errors": [],
        }
    assert (await node(api, topic["id"]))["status"] == "PUBLISHED"
    await report(api, topic["id"], reporters[-1], "ABUSE")
    assert (await node(api, topic["id"]))["status"] == "HIDDEN"
    [case] = await queue(api)
    assert case["source"] == "REPORT" and case["reportCount"] == needed
    assert case["reasons"][0] == {"hook": "report", "code": "SPAM", "detail": "by reporter-0"}
    assert case["reasons"][-1] == {"hook": "report", "code": "ABUSE", "detail": None}
    board = await api("query($id: ID!) { topic(id: $id) { board { topicCount } } }", topic)
    assert board["topic"] is None  # readers no longer see it
    assert (await Topic.get(id=pk_of(topic["id"]))).status == "HIDDEN"


async def test_approving_a_hidden_reported_topic_restores_it(api):
    topic = await _published_topic(api)
    for n in range(3):
        await report(api, topic["id"], f"r{n}")
    [case] = await queue(api)
    decided = await decide(api, case["id"], True, "it is fine")
    assert decided["case"]["status"] == "APPROVED"
    assert (await node(api, topic["id"]))["status"] == "PUBLISHED"


async def test_rejecting_a_reported_topic_below_the_threshold_hides_it(api):
    topic = await _published_topic(api)
    await report(api, topic["id"], "r0")
    [case] = await queue(api)
    assert (await decide(api, case["id"], False, "spam"))["case"]["status"] == "REJECTED"
    assert (await node(api, topic["id"]))["status"] == "HIDDEN"


async def test_a_member_reports_an_item_once(api):
    topic = await _published_topic(api)
    await report(api, topic["id"], "bob")
    again = await report(api, topic["id"], "bob", "OTHER")
    assert again["reported"] is False and codes(again) == ["DUPLICATE"]
    assert (await ModerationCase.get()).report_count == 1


async def test_reports_are_refused_to_anonymous_banned_and_own_authors_and_for_unseen_items(api):
    topic = await _published_topic(api)
    variables = {"input": {"id": topic["id"], "reason": "SPAM"}}
    anonymous = (await api(REPORT, variables))["reportContent"]
    assert codes(anonymous) == ["UNAUTHENTICATED"]
    assert codes(await report(api, topic["id"], "alice")) == ["FORBIDDEN"]  # the author
    await api("{ viewer { id } }", as_="banned")
    await Member.filter(mall_user_id="banned").update(status=MemberStatus.BANNED)
    assert codes(await report(api, topic["id"], "banned")) == ["FORBIDDEN"]
    await moderate(api, topic["id"], "HIDE")
    assert codes(await report(api, topic["id"], "bob")) == ["NOT_FOUND"]
    assert codes(await report(api, "Ym9ndXM", "bob")) == ["NOT_FOUND"]
    assert await Report.all().count() == 0


async def test_a_reported_comment_is_hidden_and_leaves_its_topics_count(api):
    topic = await _published_topic(api)
    comment = await create_comment(api, topic["id"])
    for n in range(3):
        await report(api, comment["id"], f"r{n}", "OFF_TOPIC")
    assert (await Comment.get(id=pk_of(comment["id"]))).status == "HIDDEN"
    assert (await api(COMMENT_COUNT, {"id": topic["id"]}))["topic"]["commentCount"] == 0
    [case] = await queue(api)
    assert case["target"]["id"] == comment["id"] and case["reportCount"] == 3


async def test_promoted_reporters_weigh_more(api):
    topic = await _published_topic(api)
    level = 2
    weight = api.settings.report_weight(level, 0)
    assert weight == api.settings.report_weight_base + level * api.settings.report_weight_per_level
    assert 2 * weight >= api.settings.report_hide_threshold > weight
    for reporter in ("senior-1", "senior-2"):
        await promote(api, reporter, level)
    await report(api, topic["id"], "senior-1")
    assert (await node(api, topic["id"]))["status"] == "PUBLISHED"
    await report(api, topic["id"], "senior-2")
    assert (await node(api, topic["id"]))["status"] == "HIDDEN"
    assert [r.weight for r in await Report.all().order_by("id")] == [weight, weight]


async def test_a_reporter_whose_reports_were_found_wrong_weighs_less(api):
    board = await create_board(api)
    fine = await create_topic(api, board["id"])
    await report(api, fine["id"], "hasty")
    [case] = await queue(api)
    await decide(api, case["id"], True, "nothing wrong")  # the report was wrong
    target = await create_topic(api, board["id"], author="carol", title="Another")
    await report(api, target["id"], "hasty")
    await report(api, target["id"], "r1")
    await report(api, target["id"], "r2")
    settings = api.settings
    weights = [r.weight for r in await Report.filter(target_id=pk_of(target["id"])).order_by("id")]
    assert weights == [settings.report_weight(0, 1), 1.0, 1.0]
    assert weights[0] == settings.report_weight_base * settings.report_rejected_factor
    assert sum(weights) < settings.report_hide_threshold
    assert (await node(api, target["id"]))["status"] == "PUBLISHED"
    await report(api, target["id"], "r3")
    assert (await node(api, target["id"]))["status"] == "HIDDEN"


async def test_a_reports_weight_never_falls_below_the_floor(api):
    settings = api.settings
    assert settings.report_weight(0, 50) == settings.report_weight_floor


async def test_rejected_reports_keep_their_reporters_full_weight(api):
    board = await create_board(api)
    bad = await create_topic(api, board["id"])
    await report(api, bad["id"], "careful")
    [case] = await queue(api)
    await decide(api, case["id"], False, "spam indeed")
    other = await create_topic(api, board["id"], author="carol", title="Other")
    await report(api, other["id"], "careful")
    latest = await Report.filter(target_id=pk_of(other["id"])).get()
    assert latest.weight == api.settings.report_weight(0, 0)


async def test_concurrent_reports_of_one_comment_add_up_exactly_and_stop_at_the_hide(api):
    topic = await _published_topic(api)
    comment = await create_comment(api, topic["id"])
    reporters = [f"crowd-{n}" for n in range(8)]
    for reporter in reporters:
        await api("{ viewer { id } }", as_=reporter)
    variables = {"input": {"id": comment["id"], "reason": "SPAM"}}
    answers = await concurrently(api.post(REPORT, variables, as_=r) for r in reporters)
    needed = 3  # level-0 reporters, by default
    assert sorted(codes(a["reportContent"]) for a in answers) == [[]] * needed + [
        ["NOT_FOUND"]  # the comment was hidden by then
    ] * (len(reporters) - needed)
    [case] = await ModerationCase.all()
    assert case.report_count == needed == len(case.reasons) == await Report.all().count()
    assert case.report_weight == needed * api.settings.report_weight(0, 0)
    assert (await Comment.get(id=pk_of(comment["id"]))).status == "HIDDEN"
    assert (await Topic.get(id=pk_of(topic["id"]))).comment_count == 0


async def test_one_members_concurrent_reports_count_once(api):
    topic = await _published_topic(api)
    await api("{ viewer { id } }", as_="eager")
    variables = {"input": {"id": topic["id"], "reason": "SPAM"}}
    answers = await concurrently(api.post(REPORT, variables, as_="eager") for _ in range(5))
    outcomes = sorted(
        (a["reportContent"]["reported"], tuple(codes(a["reportContent"]))) for a in answers
    )
    assert outcomes == [(False, ("DUPLICATE",))] * 4 + [(True, ())]
    assert (await ModerationCase.get()).report_count == 1
