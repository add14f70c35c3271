"""The text layer of moderation: normalisation and its map back to the raw text, masking,
word rules, contact details, weak signals, and the labelled corpus that measures them
together (precision and recall per category, clean posts flagged)."""

from collections import Counter
from pathlib import Path

import pytest

from moderation.classify import classify
from moderation.contacts import find_contacts
from moderation.normalize import mask, normalize
from moderation.pipeline import VerdictAction
from moderation.signals import repetition_score, shouting_score, weak_signal_score
from moderation.words import WordMatcher, WordRule, default_matcher, default_rules

CORPUS = Path(__file__).with_name("moderation_corpus.tsv")
CATEGORIES = ("spam", "contact", "abuse")


def found_words(matcher: WordMatcher, raw: str) -> list[tuple[str, str]]:
    """(pattern, raw text matched) for every match of `matcher` in `raw`."""
    return [(m.rule.pattern, raw[m.start : m.end]) for m in matcher.find(normalize(raw))]


def found_contacts(raw: str) -> list[tuple[str, str]]:
    """(kind, raw text matched) for every contact detail in `raw`."""
    return [(m.kind, raw[m.start : m.end]) for m in find_contacts(normalize(raw))]


# Normalisation


@pytest.mark.parametrize(
    "raw", ["代 购", "代-购", "代*购", "代\u200b购", "代\u200d购", "代\ufeff购", "代🌸购", "代\n购"]
)
def test_separators_symbols_and_invisible_characters_between_characters_are_ignored(raw):
    assert normalize(raw).text == "代购"


@pytest.mark.parametrize(
    ("raw", "text"),
    [("ＡＢＣ１２３", "abc123"), ("ＱＱ", "qq"), ("IDIOT", "idiot"), ("①②", "12"), ("𝐒𝐁", "sb")],
)
def test_full_width_and_styled_letters_read_as_plain_lower_case(raw, text):
    assert normalize(raw).text == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("代購", "代购"),
        ("廢物", "废物"),
        ("滾筒洗衣機", "滚筒洗衣机"),
        ("頭髮", "头发"),
        ("幹你娘", "干你娘"),
    ],
)
def test_traditional_characters_read_as_simplified(raw, text):
    assert normalize(raw).text == text


def test_accents_and_cyrillic_look_alikes_read_as_plain_latin():
    assert normalize("ìdiоt").text == "idiot"  # ì with a grave accent, Cyrillic о


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("加V：abc", "加微信abc"),
        ("+v abc", "加微信abc"),
        ("加薇 abc", "加微信abc"),
        ("vx号", "微信号"),
        ("ＶＸ", "微信"),
        ("v x", "微信"),
        ("wx: a", "微信a"),
        ("WeChat", "微信"),
        ("weixin", "微信"),
        ("薇信", "微信"),
        ("威信", "微信"),
        ("徽信", "微信"),
        ("维信", "微信"),
        ("V信", "微信"),
        ("威芯", "微信"),
        ("加我V", "加我微信"),
        ("加薇信", "加微信"),
    ],
)
def test_spellings_of_wechat_fold_to_weixin(raw, text):
    assert normalize(raw).text == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("参加薇娅的直播", "参加薇娅的直播"),
        ("增加维生素C", "增加维生素c"),
        ("增加威力", "增加威力"),
        ("new xbox", "newxbox"),
        ("VIP会员", "vip会员"),
        ("加vip", "加vip"),
        ("wxid_abc", "wxidabc"),
        ("review x", "reviewx"),
    ],
)
def test_clean_words_that_look_like_wechat_spellings_are_not_folded(raw, text):
    assert normalize(raw).text == text


def test_origin_points_each_folded_character_at_the_raw_character_it_came_from():
    normalized = normalize("Ａ 代\u200b購!™")
    assert normalized.text == "a代购tm"
    assert normalized.origin == [0, 2, 4, 6, 6]


def test_raw_span_of_a_folded_alias_covers_everything_the_member_wrote():
    raw = "add weixin abc"
    normalized = normalize(raw)
    start = normalized.text.index("微信")
    raw_start, raw_end = normalized.raw_span(start, start + 2)
    assert raw[raw_start:raw_end] == "weixin"


def test_mask_puts_one_star_per_raw_character_and_keeps_whitespace():
    raw = "你是傻 逼吧"
    normalized = normalize(raw)
    start = normalized.text.index("傻逼")
    assert mask(raw, [normalized.raw_span(start, start + 2)]) == "你是* *吧"
    assert mask("傻\u200b逼!", [(0, 3)]) == "***!"


def test_mask_merges_overlapping_spans():
    assert mask("abcdefg", [(4, 6), (1, 3), (2, 5)]) == "a*****g"
    assert mask("abc", []) == "abc"


# Word rules

SPAM = WordRule("代购", VerdictAction.REVIEW, "spam")


@pytest.mark.parametrize(
    ("raw", "matched"),
    [
        ("找代 购", "代 购"),
        ("代*購", "代*購"),
        ("代\u200b购正品", "代\u200b购"),
        ("ＤＡＩ代-購", "代-購"),
    ],
)
def test_a_rule_is_found_however_its_word_is_disguised(raw, matched):
    assert found_words(WordMatcher([SPAM]), raw) == [("代购", matched)]


def test_patterns_are_folded_like_posts():
    matcher = WordMatcher([WordRule("代 購", VerdictAction.BLOCK, "spam")])
    assert found_words(matcher, "专业代购") == [("代 購", "代购")]


def test_overlapping_matches_are_all_reported_in_order_with_their_raw_spans():
    matcher = WordMatcher(
        [
            WordRule("傻逼", VerdictAction.BLOCK, "abuse"),
            WordRule("你是傻逼", VerdictAction.BLOCK, "abuse"),
            WordRule("逼你", VerdictAction.MASK, "abuse"),
        ]
    )
    assert found_words(matcher, "说你是傻 逼你") == [
        ("你是傻逼", "你是傻 逼"),
        ("傻逼", "傻 逼"),
        ("逼你", "逼你"),
    ]


def test_rules_whose_patterns_fold_alike_are_all_reported():
    review = WordRule("代购", VerdictAction.REVIEW, "spam")
    block = WordRule("代購", VerdictAction.BLOCK, "spam")
    matches = WordMatcher([review, block]).find(normalize("代 购"))
    assert {match.rule for match in matches} == {review, block}
    assert {match.span for match in matches} == {(0, 3)}


def test_latin_patterns_match_whole_words_only():
    matcher = WordMatcher(
        [
            WordRule("shit", VerdictAction.MASK, "abuse"),
            WordRule("ass", VerdictAction.MASK, "abuse"),
        ]
    )
    for clean in ("push it", "this hit", "first class", "I assume"):
        assert found_words(matcher, clean) == []
    assert found_words(matcher, "shit!") == [("shit", "shit")]
    assert found_words(matcher, "ＳＨＩＴ service") == [("shit", "ＳＨＩＴ")]
    assert found_words(matcher, "s.h.i.t happens") == [("shit", "s.h.i.t")]
    assert found_words(matcher, "真shit") == [("shit", "shit")]


def test_a_pattern_between_angle_brackets_matches_only_where_no_letter_touches_it():
    matcher = WordMatcher([WordRule("<滚>", VerdictAction.BLOCK, "abuse")])
    assert found_words(matcher, "滚！别回我") == [("<滚>", "滚")]
    assert found_words(matcher, "滚筒洗衣机") == []
    assert found_words(matcher, "你给我滚") == []


def test_a_pattern_without_letters_or_digits_is_refused():
    with pytest.raises(ValueError, match="no letters or digits"):
        WordMatcher([WordRule("* *", VerdictAction.BLOCK, "spam")])


def test_a_matcher_without_rules_finds_nothing():
    assert WordMatcher([]).find(normalize("傻逼")) == []


def test_default_rules_cover_each_category_with_its_actions():
    actions: dict[str, set[VerdictAction]] = {}
    for rule in default_rules():
        actions.setdefault(rule.category, set()).add(rule.action)
    assert actions == {
        "spam": {VerdictAction.REVIEW, VerdictAction.BLOCK},
        "contact": {VerdictAction.REVIEW},
        "abuse": {VerdictAction.MASK, VerdictAction.BLOCK},
    }


@pytest.mark.parametrize(
    "clean",
    [
        "滚筒洗衣机",
        "废物利用的小妙招",
        "节日结束后还有优惠吗",
        "买粉底液送了小样",
        "请带单号联系客服",
        "我擦了两遍桌子",
        "这个去死皮膏效果不错",
        "欢迎参加我们的活动",
        "增加微量元素",
        "Nike SB Dunk Low",
        "the assistant helped me",
        "我靠这个面霜把痘痘压下去了",
        "质量垃圾，再也不买了",
    ],
)
def test_default_rules_spare_clean_words_that_contain_a_short_bad_word(clean):
    assert found_words(default_matcher(), clean) == []


def test_default_rules_find_disguised_abuse_with_its_action():
    matches = default_matcher().find(normalize("楼上傻 逼，卧槽"))
    assert {(m.rule.pattern, m.rule.action) for m in matches} == {
        ("傻逼", VerdictAction.BLOCK),
        ("卧槽", VerdictAction.MASK),
    }


# Contact details


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("电话13812345678", "13812345678"),
        ("有意者联系 138 1234 5678 谢谢", "138 1234 5678"),
        ("电话：138-1234-5678", "138-1234-5678"),
        ("手机 1 3 8 1 2 3 4 5 6 7 8", "1 3 8 1 2 3 4 5 6 7 8"),
        ("打我电话１３９００００１１１１", "１３９００００１１１１"),
        ("联系方式：一三八一二三四五六七八", "一三八一二三四五六七八"),
        ("壹叁捌 壹贰叁肆 伍陆柒捌 随时联系", "壹叁捌 壹贰叁肆 伍陆柒捌"),
        ("幺三八 幺二三四 五六七八", "幺三八 幺二三四 五六七八"),
        ("联系我：1三9 8七6五 4三2一", "1三9 8七6五 4三2一"),
        ("需要的打 159\u200b1234\u200b5678", "159\u200b1234\u200b5678"),
        ("手機號碼 186.1234.5678", "186.1234.5678"),
        ("whatsapp +86 138 1234 5678", "138 1234 5678"),
        ("电话号码:+86-139-0000-1111", "139-0000-1111"),
        ("call 8613812345678", "13812345678"),
        ("聯繫電話：0912-345-678", "0912-345-678"),
    ],
)
def test_phone_numbers_are_found_in_every_disguise(raw, phone):
    assert found_contacts(raw) == [("phone", phone)]


def test_two_phone_numbers_in_a_row_are_two_matches():
    assert found_contacts("电话 138 1234 5678 139 0000 1111") == [
        ("phone", "138 1234 5678"),
        ("phone", "139 0000 1111"),
    ]


@pytest.mark.parametrize(
    "clean",
    [
        "¥199买的电饭煲",
        "这个价格299元还送两双袜子",
        "170cm 65kg 买的L码刚好",
        "请问这款鞋子38码偏大吗",
        "订单号 138123456789 一直显示待发货",
        "订单号 202311110012345678",
        "快递单号SF1234567890123",
        "iPhone 15 Pro 和 RTX4090",
        "预约时间 2024-06-18 14:30",
        "价格分别是 139 159 179 19 元",
        "价格139，159，179，199元",
        "13 14 15 16 17 18 19 号都有空",
        "客服电话400-800-1234一直占线",
        "取件码12-3-4567",
    ],
)
def test_numbers_that_are_not_contact_details_are_left_alone(clean):
    assert found_contacts(clean) == []


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("加QQ 123456789 详聊", "123456789"),
        ("扣扣：987654321", "987654321"),
        ("企鹅 10086123", "10086123"),
        ("Q号 2233445566", "2233445566"),
        ("ＱＱ：８８８８６６６６", "８８８８６６６６"),
        ("扣 扣 号 1 2 3 4 5 6 7 8 9", "1 2 3 4 5 6 7 8 9"),
        ("加我q 13579246 私聊", "13579246"),
        ("qq群 556677889", "556677889"),
    ],
)
def test_qq_numbers_are_found_after_their_keywords(raw, number):
    assert found_contacts(raw) == [("qq", number)]


@pytest.mark.parametrize("clean", ["Q1 2024", "FAQ 123456", "QQ音乐会员12个月", "qq号：1234"])
def test_numbers_near_q_that_are_no_qq_number_are_left_alone(clean):
    assert found_contacts(clean) == []


@pytest.mark.parametrize(
    ("raw", "wechat_id"),
    [
        ("有需要的加微信 abc12345", "abc12345"),
        ("加V：shop_8899，价格私聊", "shop_8899"),
        ("vx号：mall_2023 私我", "mall_2023"),
        ("wx：huahua520 有优惠", "huahua520"),
        ("威信 tb88669", "tb88669"),
        ("微\u200b信：zhang_san88", "zhang_san88"),
        ("V信 abc_9527", "abc_9527"),
        ("ＷＸ：ｓｈｏｐ６６８８", "ｓｈｏｐ６６８８"),
        ("WeChat: tomlee_88, DM me", "tomlee_88"),
        ("Add me on wechat tomlee88", "tomlee88"),
        ("加微 tb_1234", "tb_1234"),
        ("代购正品，V：dg_8899", "dg_8899"),
        ("薇❤信：meimei_88", "meimei_88"),
        ("my id wxid_abc12345", "wxid_abc12345"),
        ("微信号是 LucyShop", "LucyShop"),
        ("微信：meimei_88", "meimei_88"),
        ("wechat id: idol_88", "idol_88"),
    ],
)
def test_wechat_ids_are_found_after_any_spelling_of_wechat(raw, wechat_id):
    assert found_contacts(raw) == [("wechat", wechat_id)]


@pytest.mark.parametrize(
    "clean",
    [
        "用微信支付的订单怎么开发票",
        "I paid with WeChat Pay",
        "wechat account",
        "微信支付 20240512",
        "加微博 abc123",
        "我的微信名叫小猫咪",
    ],
)
def test_wechat_mentions_without_an_id_are_left_alone(clean):
    assert found_contacts(clean) == []


@pytest.mark.parametrize(
    ("raw", "link"),
    [
        ("链接 https://m.tb.cn/h.5xYzAbC 同款", "https://m.tb.cn/h.5xYzAbC"),
        ("m . tb . cn / h.Abc123", "m . tb . cn / h.Abc123"),
        ("t.cn/A6abcdEF 点进去", "t.cn/A6abcdEF"),
        ("我家店 https://shop123456.taobao.com 欢迎", "https://shop123456.taobao.com"),
        ("京东 u.jd.com/aBcDeF 更便宜", "u.jd.com/aBcDeF"),
        ("weidian.com/?userid=1234567", "weidian.com/?userid=1234567"),
        ("taobao点com/shop/123", "taobao点com/shop/123"),
        ("复制这段描述￥Fy7J2Qk8ZbA￥后到淘宝", "￥Fy7J2Qk8ZbA￥"),
        ("口令 $Xy3Ab7Kp9Qw$", "$Xy3Ab7Kp9Qw$"),
    ],
)
def test_links_to_other_shops_and_shop_codes_are_found(raw, link):
    assert found_contacts(raw) == [("link", link)]


@pytest.mark.parametrize(
    "clean",
    ["淘宝上同款便宜二十块", "看 taobao.com 上", "www.jd.com", "abctb.cn/xyz", "$100 and $200"],
)
def test_mentions_of_other_shops_and_prices_are_not_links(clean):
    assert found_contacts(clean) == []


def test_email_addresses_and_line_ids_are_contact_details():
    assert found_contacts("邮箱 123456789@qq.com，@小明 看看") == [("email", "123456789@qq.com")]
    assert found_contacts("請加LINE：shop8899") == [("line", "shop8899")]
    assert found_contacts("product line abc123") == []


def test_contact_spans_mask_exactly_what_the_member_wrote():
    raw = "电话：138-1234-5678，加V：shop_8899"
    spans = [match.span for match in find_contacts(normalize(raw))]
    assert mask(raw, spans) == "电话：*************，加V：*********"


# Weak signals


def test_long_runs_of_one_character_are_a_weak_signal_and_short_ones_are_not():
    for normal in ("哈哈哈", "!!!", "太好看了吧！！！", "100000000", "......", "666"):
        assert repetition_score(normal) == 0.0
    assert repetition_score("哈哈哈哈哈哈哈哈") == 0.5
    assert repetition_score("!!!!!!!") == pytest.approx(0.7)
    assert repetition_score("hahahahahaha") == pytest.approx(0.6)
    assert repetition_score("啊" * 40) == 1.0


def test_shouting_is_a_weak_signal_only_for_long_capitalised_words():
    for normal in ("LOVE IT", "USB-C HDMI VGA DP", "iPhone 15 Pro Max", "Thanks a lot, great shop"):
        assert shouting_score(normal) == 0.0
    assert shouting_score("THIS IS THE WORST SELLER EVER") == 1.0
    assert shouting_score("STUPID SELLER, STUPID refund") == pytest.approx(18 / 24)


def test_the_weak_signal_is_the_stronger_of_shouting_and_repetition():
    assert weak_signal_score("STUPID STUPID SELLER") == 1.0
    assert weak_signal_score("好看！！！！！！") == pytest.approx(0.6)
    assert weak_signal_score("质量很好，推荐") == 0.0


# Classification and the corpus


def test_classify_names_each_category_found_and_nothing_for_clean_text():
    assert classify("代 購日本藥妝") == {"spam"}
    assert classify("加V：shop_8899") == {"contact"}
    assert classify("你是傻逼") == {"abuse"}
    assert classify("刷单日结，加QQ 123456789，傻逼别举报") == {"spam", "contact", "abuse"}
    assert classify("滚筒洗衣机299元，38码，iPhone 15 Pro") == set()


def read_corpus() -> list[tuple[set[str], str]]:
    """(labels, text) per line: labels are clean, or some of spam, contact, abuse."""
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        labels, text = line.split("\t", 1)
        rows.append((set(labels.split(",")), text))
    return rows


def test_corpus_has_enough_texts_of_every_label():
    counts = Counter(label for labels, _ in read_corpus() for label in labels)
    assert len(read_corpus()) >= 320
    assert counts["clean"] >= 150
    assert min(counts[category] for category in CATEGORIES) >= 50


def corpus_table(rows: list[tuple[set[str], str]]) -> tuple[str, dict[str, float], float]:
    """A printable table of precision and recall per category, the recalls, and the share
    of clean texts that got any category."""
    hits, wrong, missed = Counter(), Counter(), Counter()
    clean_flagged = clean = 0
    for labels, text in rows:
        found = classify(text)
        clean += "clean" in labels
        clean_flagged += "clean" in labels and bool(found)
        for category in CATEGORIES:
            hits[category] += category in found and category in labels
            wrong[category] += category in found and category not in labels
            missed[category] += category not in found and category in labels
    lines = [f"{'category':<9}{'texts':>7}{'found':>7}{'wrong':>7}{'precision':>11}{'recall':>8}"]
    recalls = {}
    for category in CATEGORIES:
        labelled, flagged = hits[category] + missed[category], hits[category] + wrong[category]
        precision = hits[category] / flagged if flagged else 1.0
        recalls[category] = hits[category] / labelled
        lines.append(
            f"{category:<9}{labelled:>7}{hits[category]:>7}{wrong[category]:>7}"
            f"{precision:>11.3f}{recalls[category]:>8.3f}"
        )
    flagged_share = clean_flagged / clean
    lines.append(f"clean texts flagged: {clean_flagged}/{clean} ({flagged_share:.1%})")
    return "\n".join(lines), recalls, flagged_share


def test_corpus_recall_of_spam_and_contacts_is_high_and_clean_posts_are_rarely_flagged():
    table, recalls, clean_flagged = corpus_table(read_corpus())
    print(f"\n{table}")
    assert recalls["spam"] >= 0.95, table
    assert recalls["contact"] >= 0.95, table
    assert clean_flagged <= 0.02, table
