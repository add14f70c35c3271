"""A small demo community, written through the same resolvers the API uses."""

from __future__ import annotations

from mallforum.auth import Principal
from mallforum.ids import encode_id
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from models import Board, BoardKind, TopicKind
from moderation import Pipeline
from moderation.hooks import HookServices, build_stage
from moderation.rule_store import WordRuleStore
from resolvers import badges, boards, comments, growth, likes, members, rewards, topics
from resolvers.context import Context
from resolvers.loaders import Loaders

BOARDS = [
    ("beauty", "美妆护肤", "Skin care, make-up and what worked for you.", BoardKind.PRODUCT, 0),
    ("digital", "数码家电", "Phones, headphones and kitchen gadgets.", BoardKind.PRODUCT, 0),
    ("outfits", "穿搭分享", "Show your outfit of the day.", BoardKind.INTEREST, 0),
    ("vip-lounge", "会员专区", "For members of level 3 and up.", BoardKind.PRIVILEGE, 3),
]
MEMBERS = [
    ("demo-alice", "小艾"),
    ("demo-bob", "阿博"),
    ("demo-chen", "陈晨"),
    ("demo-dan", "丹丹"),
]
TOPICS = [
    (
        "beauty",
        "这款精华真的温和吗？",
        "敏感肌用了**两周**，没有泛红。",
        ["精华", "敏感肌"],
        ["SKU-SERUM-01"],
    ),
    (
        "beauty",
        "防晒霜横评",
        "| 品牌 | 质地 |\n|---|---|\n| A | 清爽 |\n| B | 滋润 |",
        ["防晒"],
        ["SKU-SUN-02", "SKU-SUN-03"],
    ),
    ("digital", "降噪耳机开箱", "地铁里基本听不到报站了。", ["耳机"], ["SKU-ANC-100"]),
    ("digital", "Air fryer recipes?", "Share what you cook in yours.", ["厨房"], ["SKU-FRY-7"]),
    ("outfits", "秋季通勤穿搭", "风衣 + 乐福鞋，舒服又好看。", ["通勤", "秋季"], []),
]
COMMENTS = ["同款！", "谢谢分享 👍", "请问在哪个店买的？", "Mine arrived yesterday, agree."]
REWARDS = [
    ("满99减10优惠券", "全场通用，7天内有效。", 100, None, 0, None, "COUPON-99-10"),
    ("新品试用装", "申请试用，收到后请发帖分享体验。", 0, 20, 4, "PRODUCT_TRIALS", "TRIAL-SERUM"),
    ("品牌帆布袋", "限量周边，兑完即止。", 300, 50, 2, None, "GIFT-TOTE"),
]


def _context(
    settings: Settings,
    redis: RedisStore,
    pipeline: Pipeline,
    word_rules: WordRuleStore,
    principal: Principal,
    member,
) -> Context:
    return Context(
        settings=settings,
        redis=redis,
        principal=principal,
        viewer=member,
        loaders=Loaders(member.pk if member else None, redis),
        moderation=pipeline,
        word_rules=word_rules,
    )


def _pipeline(settings: Settings, redis: RedisStore, word_rules: WordRuleStore) -> Pipeline:
    """The configured hooks but the rate limits: the seed writes faster than any member may."""
    services = HookServices(settings, redis, word_matcher=word_rules.matcher)
    specs = [spec for spec in settings.moderation_hooks if spec.hook != "flooding"]
    return Pipeline([build_stage(spec, services) for spec in specs])


async def seed_demo(settings: Settings, redis: RedisStore) -> bool:
    """Fill an empty database with boards, members, topics, comments, likes, reward items
    and a day's check-ins.

    Returns False, and writes nothing, when the database already has boards.
    """
    if await Board.exists():
        return False
    await badges.sync_catalogue(settings)  # so the demo's members earn badges
    word_rules = WordRuleStore(redis)
    await word_rules.refresh()  # the database's rules too, as the server would apply them
    pipeline = _pipeline(settings, redis, word_rules)
    admin = Principal("demo-admin", "社区管理员", None, frozenset({"admin"}))
    admin_member = await members.provision_member(settings, redis, admin, pipeline)
    admin_ctx = _context(settings, redis, pipeline, word_rules, admin, admin_member)
    board_ids = {}
    for slug, name, description, kind, level in BOARDS:
        board = await boards.create_board(admin_ctx, slug, name, description, kind, level, level)
        board_ids[slug] = board.pk
    people = []
    for sub, nickname in MEMBERS:
        principal = Principal(sub, nickname, None, frozenset())
        member = await members.provision_member(settings, redis, principal, pipeline)
        people.append(
            lambda m=member, p=principal: _context(settings, redis, pipeline, word_rules, p, m)
        )
    for n, (slug, title, body, tags, skus) in enumerate(TOPICS):
        author = people[n % len(people)]
        topic = await topics.create_topic(
            author(),
            encode_id("Board", board_ids[slug]),
            TopicKind.DISCUSSION,
            topics.TopicInput(title=title, body=body, tags=tags, product_skus=skus),
        )
        topic_gid = encode_id("Topic", topic.pk)
        for k, text in enumerate(COMMENTS[: 1 + n % len(COMMENTS)]):
            await comments.create_comment(
                people[(n + k + 1) % len(people)](), topic_gid, text, None
            )
        for liker in people[: 1 + (n * 3) % len(people)]:
            await likes.set_like(liker(), topic_gid, True)
    for name, description, cost, stock, level, privilege, code in REWARDS:
        item = rewards.RewardItemInput(name, description, cost, stock, level, code, privilege)
        await rewards.create_reward_item(admin_ctx, item)
    for person in people:
        await growth.check_in(person())
    return True
