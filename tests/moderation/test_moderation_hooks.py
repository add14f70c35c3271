"""The shipped text hooks on real writes: word rules refuse, hold or mask; contact details
are held for review, and refused outright from new members."""

from __future__ import annotations

from datetime import timedelta

from mallforum import clock
from models import ModerationCase, Topic
from tests.forum import CREATE_COMMENT, CREATE_TOPIC, create_board, create_topic


async def attempt(api, board_id, body, author="alice"):
    topic_input = {"boardId": board_id, "title": "A question", "body": body}
    return (await api(CREATE_TOPIC, {"input": topic_input}, as_=author))["createTopic"]


async def test_a_block_rule_refuses_the_topic_and_stores_nothing(api):
    board = await create_board(api)
    answer = await attempt(api, board["id"], "专业 刷 单，信誉保证")
    assert [e["code"] for e in answer["errors"]] == ["REJECTED_BY_MODERATION"]
    assert "spam" in answer["errors"][0]["message"]
    assert answer["topic"] is None and await Topic.all().count() == 0


async def test_a_mask_rule_masks_what_the_member_wrote_and_publishes(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    comment_input = {"topicId": topic["id"], "body": "客服真是 白 痴，退款拖了一周"}
    answer = (await api(CREATE_COMMENT, {"input": comment_input}, as_="bob"))["createComment"]
    assert answer["errors"] == []
    assert answer["comment"]["status"] == "PUBLISHED"
    assert answer["comment"]["body"] == "客服真是 * *，退款拖了一周"


async def test_contact_details_from_a_new_member_are_refused(api):
    board = await create_board(api)
    answer = await attempt(api, board["id"], "想要的加薇 abc12345 私聊")
    assert [e["code"] for e in answer["errors"]] == ["REJECTED_BY_MODERATION"]
    assert await Topic.all().count() == 0


async def test_contact_details_from_an_older_member_are_held_with_a_case(api):
    board = await create_board(api)
    await api("{ viewer { id } }", as_="alice")  # joins now ...
    clock.travel(timedelta(days=4))  # ... and is no longer new
    answer = await attempt(api, board["id"], "电话 138 1234 5678 联系我")
    assert answer["errors"] == []
    assert answer["topic"]["status"] == "PENDING_REVIEW"
    case = await ModerationCase.get()
    assert any(r["hook"] == "contact_info" and r["code"] == "phone" for r in case.reasons)


async def test_clean_shopper_posts_pass(api):
    board = await create_board(api)
    body = "170cm 65kg 穿L码刚好，¥299 入手，订单号 202611230001234 已收货"
    answer = await attempt(api, board["id"], body)
    assert answer["errors"] == [] and answer["topic"]["status"] == "PUBLISHED"
