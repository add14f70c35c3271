"""Contact details and off-mall trade: phone and QQ numbers, WeChat and LINE ids, e-mail
addresses, links to other shops and 淘口令 codes, each with the raw span a MASK covers.

Numbers are read from the folded text (`normalize`), where full-width digits are already
ASCII and separators are gone, with Chinese numerals (一二三, 壹贰叁, 幺 for 1, 零 and 〇 for
0) read as digits. Because folding also joins numbers that were apart, a phone number is
judged by how its digits were grouped in the raw text:

- 11 digits 1[3-9]xxxxxxxxx (or a Taiwanese 09xxxxxxxx), not part of a longer number, so a
  12-digit or longer order or parcel number is never a phone;
- written in one piece, digit by digit (1 3 8 ...), or in at most four groups of three or more
  digits (138 1234 5678, 138-1234-5678, 13812 345678); zero-width characters do not split a
  group. Lists of numbers (139 159 179 19, 13 14 15...) and numbers separated by commas,
  colons, currency or percent signs are not phones; a +86 or 0086 in front is skipped.

QQ numbers are 5-11 digits right after QQ, 扣扣, 企鹅, Q号 or a lone Latin q (then 6 or more
digits, so "Q1 2024" stays a quarter). WeChat ids follow 微信 in any of the spellings that
`normalize` folds (vx, wx, 薇信, 加V...), 加微, or a lone "V:", and are read from the raw
text, since an id ends where the member put a space: 6-20 letters, digits, _ or -, with a
digit, _ or - in it unless a marker (号, id, 是, ':') says it is one, so "wechat account" is
not an id. LINE ids follow "LINE:" or 加LINE; e-mail addresses are contact details too.

Links: short links (m.tb.cn/..., t.cn/..., 3.cn/...) and addresses of other shops (taobao,
tmall, jd, pinduoduo, weidian, xianyu...) with a path, a scheme or a shop subdomain; a bare
"taobao.com" or "www.jd.com" is a mention, not a link. Dots may be written 。 or 点 and
spaced out. 淘口令: a code of 8-14 letters and digits between two equal currency signs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import compress
from operator import sub

import ahocorasick_rs

from moderation.normalize import Normalized

_NUMERAL = "0-9零〇一幺二三四五六七八九壹贰叁肆伍陆柒捌玖"
_NUMERALS = str.maketrans("零〇一幺二三四五六七八九壹贰叁肆伍陆柒捌玖", "001123456789123456789")
#: Full-width ASCII to ASCII, one character for one. The searches over the raw text read
#: "：" and "。" themselves, so a post needs this only for full-width letters and digits.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH = re.compile("[０-９Ａ-Ｚａ-ｚ＠．／＿－＝]")
_INVISIBLE = "\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff"
_INVISIBLES = re.compile(f"[{_INVISIBLE}]")
_GAP = f"[\\s{_INVISIBLE}]*"
_SEPARATORS = f"[\\s{_INVISIBLE}*·.~|/\\\\_-]*"

_NUMBER_RUN = re.compile(f"[{_NUMERAL}]{{10,}}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}|09[0-9]{8}")
_MOBILE_INSIDE = re.compile(r"1[3-9][0-9]{9}|09[0-9]{8}")
_LIST_GAP = re.compile(r"[,，、;；:：\n¥￥$%]")
_QQ = re.compile(
    r"(qq|扣扣|抠抠|蔻蔻|企鹅|q)(?:群号|群|号码|号|是|加|联系|id)*"
    f"([{_NUMERAL}]{{5,11}})(?![0-9])"
)
_ID_AFTER = re.compile(
    f"{_SEPARATORS}((?:(?:号码|号|是|为|吧|加我|加|搜索|搜|同号|联系|[:：=]"
    f"|(?:id|is|me|at)(?![a-z0-9_-])){_SEPARATORS})*)"
    r"([a-z0-9][a-z0-9_-]{5,19})(?![a-z0-9_-])",
    re.I,
)
_ID_MARKERS = re.compile(r"号|id|是|[:：=]", re.I)
_ID_LENGTH = 80
#: Words of the folded text that the searches below need, found in one automaton pass so
#: that a clean post, which usually has none, skips the searches.
_WECHAT_WORDS = ("微信", "加微")
_QQ_WORDS = ("qq", "扣扣", "抠抠", "蔻蔻", "企鹅", "q")
_RAW_WORDS = (
    *("wxid", "line", "taobao", "tmall", "jd", "pinduoduo", "yangkeduo", "weidian", "vdian"),
    *("goofish", "xianyu", "koudai", "1688", "cn", "suo"),
)
_LINK_WORDS = frozenset(_RAW_WORDS) - {"wxid", "line"}
_CURRENCIES = frozenset("¥￥$€£₤¢₳")
_VIEW_WORDS = frozenset(_RAW_WORDS) | _CURRENCIES | {"@", "＠", "v:"}
_HINTS = (*_WECHAT_WORDS, *_QQ_WORDS, *_RAW_WORDS)
_HINT_AUTOMATON = ahocorasick_rs.AhoCorasick(list(_HINTS))
#: Characters of the raw text that the searches over the raw text also start from. The
#: searches below open with a literal and look behind it, not the other way round, so that
#: the regex engine can skip ahead to that literal.
_RAW_HINT = re.compile(r"[@＠¥￥$€£₤¢₳]")
_LONE_V_HINT = re.compile(f"[vVｖＶ]{_GAP}[:：=＝]")
_LONE_V = re.compile(
    f"v(?<![a-z]v){_GAP}[:：=]{_GAP}([a-z0-9][a-z0-9_-]{{5,19}})(?![a-z0-9_-])", re.I
)
_WXID = re.compile(r"w(?<![a-z0-9]w)xid_[a-z0-9]{6,}", re.I)
_LINE_ID = re.compile(
    f"(?:l(?<![a-z]l)ine{_GAP}(?:id)?{_GAP}[:：=]|加{_GAP}line{_GAP}(?:id)?{_GAP}[:：]?)"
    f"{_GAP}([a-z0-9][a-z0-9._-]{{3,19}})(?![a-z0-9_-])",
    re.I,
)
_EMAIL = re.compile(r"(?<![\w.+-])[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}", re.I)
_EMAIL_REACH = 64
_DOT = f"{_GAP}(?:[.。]|点|dot){_GAP}"
#: Links are found from their domain, then widened to the left over the host and scheme.
_SHORT_LINK = re.compile(
    f"(?:tb|t|3|dwz|url|suo){_DOT}(?:cn|im){_GAP}/{_GAP}[a-z0-9][\\w./?=&%-]*", re.I
)
_SHOP_DOMAIN = re.compile(
    f"(?:taobao|tmall|jd|pinduoduo|yangkeduo|weidian|vdian|goofish|xianyu|koudai|1688)"
    f"{_DOT}(?:com|cn|hk|net)(?![a-z0-9])(?P<path>{_GAP}[/?][^\\s]*)?",
    re.I,
)
_HOST_BEFORE = re.compile(
    f"(?P<scheme>https?{_GAP}[:：]{_GAP}//{_GAP})?(?P<host>(?:[a-z0-9-]+{_DOT})*)\\Z", re.I
)
_HOST_REACH = 64
_SHOP_CODE = re.compile(r"([¥￥$€£₤¢₳])([a-z0-9]{8,14})\1", re.I)


@dataclass(frozen=True)
class ContactMatch:
    """A contact detail: its kind (phone, qq, wechat, line, email, link) and raw span."""

    kind: str
    start: int
    end: int

    @property
    def span(self) -> tuple[int, int]:
        """The raw span, for `mask()`."""
        return self.start, self.end


def find_contacts(normalized: Normalized) -> list[ContactMatch]:
    """Every contact detail in the text, in order of position (see the module docstring)."""
    hints = _HINT_AUTOMATON.find_matches_as_indexes(normalized.text, overlapping=True)
    words = {_HINTS[index] for index, _, _ in hints}
    found = set(_phones(normalized))
    if not words.isdisjoint(_QQ_WORDS):
        found.update(_qq_numbers(normalized))
    found.update(_wechat_ids(normalized, hints))
    raw = normalized.raw
    if "v" in normalized.text and _LONE_V_HINT.search(raw):
        words.add("v:")
    if _RAW_HINT.search(raw):
        words.update(_RAW_HINT.findall(raw))
    if not words.isdisjoint(_VIEW_WORDS):
        found.update(_in_raw_text(_half_width(raw), words))
    return sorted(found, key=lambda match: (match.start, match.end, match.kind))


def _half_width(raw: str) -> str:
    """`raw` with full-width ASCII made ASCII, one character for one (offsets unchanged)."""
    return raw.translate(_HALF_WIDTH) if _FULL_WIDTH.search(raw) else raw


# Phone numbers


@dataclass
class _Group:
    """Digits that were written together: text[start:end], and the raw gap before them."""

    start: int
    end: int
    gap: str

    @property
    def size(self) -> int:
        return self.end - self.start


def _phones(normalized: Normalized) -> Iterator[ContactMatch]:
    for run in _NUMBER_RUN.finditer(normalized.text):
        digits = run.group().translate(_NUMERALS)
        if _MOBILE_INSIDE.search(digits) is None:
            continue  # no mobile number in it, however its digits were grouped
        groups = _groups(normalized, run.start(), run.end())
        for first, last in _phone_windows(digits, run.start(), groups):
            yield ContactMatch("phone", *normalized.raw_span(first.start, last.end))


def _groups(normalized: Normalized, start: int, end: int) -> list[_Group]:
    """The digits of text[start:end] split where the raw text had visible separators."""
    origin, raw = normalized.origin, normalized.raw
    steps = map(sub, origin[start + 1 : end], origin[start : end - 1])
    groups = [_Group(start, start, "")]
    for index in compress(range(start + 1, end), map((1).__lt__, steps)):
        gap = _INVISIBLES.sub("", raw[origin[index - 1] + 1 : origin[index]])
        if gap:
            groups[-1].end = index
            groups.append(_Group(index, index, gap))
    groups[-1].end = end
    return groups


def _phone_windows(
    digits: str, offset: int, groups: list[_Group]
) -> Iterator[tuple[_Group, _Group]]:
    """Runs of consecutive groups holding exactly one phone number (first and last group);
    `digits` are the run's text as ASCII digits, from `offset` in the folded text."""
    if len(groups) == 1 or len(digits) == 10:
        for prefix in ("", "86", "0086"):
            if digits.startswith(prefix) and _is_phone(digits.removeprefix(prefix), groups):
                groups[0].start += len(prefix)
                yield groups[0], groups[-1]
                return
    window: list[_Group] = []
    size = 0
    for group in groups:
        window.append(group)
        size += group.size
        while size > 11:
            size -= window.pop(0).size
        if size == 11:
            text = digits[window[0].start - offset : window[-1].end - offset]
            if _is_phone(text, window):
                yield window[0], window[-1]
                window, size = [], 0


def _is_phone(text: str, groups: list[_Group]) -> bool:
    if _MOBILE.fullmatch(text) is None:
        return False
    if any(_LIST_GAP.search(group.gap) for group in groups[1:]):
        return False
    sizes = [group.size for group in groups]
    return len(sizes) == 1 or max(sizes) == 1 or (len(sizes) <= 4 and min(sizes) >= 3)


# QQ numbers


def _qq_numbers(normalized: Normalized) -> Iterator[ContactMatch]:
    for match in _QQ.finditer(normalized.text):
        keyword, number = match.group(1), match.group(2)
        if keyword == "q" and (
            len(number) < 6 or not normalized.at_word_edge(match.start(1), match.end(1))
        ):
            continue  # a lone q: "Q1 2024" is a quarter, "faq123456" no QQ
        yield ContactMatch("qq", *normalized.raw_span(*match.span(2)))


# WeChat and LINE ids, e-mail addresses


def _wechat_ids(
    normalized: Normalized, hints: list[tuple[int, int, int]]
) -> Iterator[ContactMatch]:
    """Ids right after the WeChat word (微信, or 加微 not followed by 信), read from the raw
    text that follows it."""
    raw, text = normalized.raw, normalized.text
    for index, start, end in hints:
        if _HINTS[index] not in _WECHAT_WORDS or text[end : end + 1] == "信":
            continue
        _, after = normalized.raw_span(start, end)
        view = _half_width(raw[after : after + _ID_LENGTH])
        found = _ID_AFTER.match(view)
        if found and _looks_like_id(found.group(1), found.group(2)):
            start, end = found.span(2)
            yield ContactMatch("wechat", after + start, after + end)


def _in_raw_text(view: str, words: set[str]) -> Iterator[ContactMatch]:
    """The details read from the half-width raw text, each search only if its hint is in
    `words`: lone "V:" ids, wxid_ ids, LINE ids, e-mail addresses, links and 淘口令."""
    if "v:" in words:
        yield from (ContactMatch("wechat", *m.span(1)) for m in _LONE_V.finditer(view))
    if "wxid" in words:
        yield from (ContactMatch("wechat", *m.span()) for m in _WXID.finditer(view))
    if "line" in words:
        yield from (ContactMatch("line", *m.span(1)) for m in _LINE_ID.finditer(view))
    if not words.isdisjoint("@＠"):
        yield from _emails(view)
    if not words.isdisjoint(_LINK_WORDS):
        yield from _links(view)
    if not words.isdisjoint(_CURRENCIES):
        yield from _shop_codes(view)


def _emails(view: str) -> Iterator[ContactMatch]:
    at = view.find("@")
    while at != -1:
        found = _EMAIL.search(view, max(0, at - _EMAIL_REACH), at + _EMAIL_REACH)
        if found and found.start() < at < found.end():
            yield ContactMatch("email", *found.span())
        at = view.find("@", at + 1)


def _looks_like_id(markers: str, candidate: str) -> bool:
    return bool(_ID_MARKERS.search(markers)) or any(c.isdigit() or c in "_-" for c in candidate)


# Links to other shops and 淘口令


def _links(view: str) -> Iterator[ContactMatch]:
    for match in _SHORT_LINK.finditer(view):
        start = _link_start(view, match.start())
        if start is not None:
            yield ContactMatch("link", start, match.end())
    for match in _SHOP_DOMAIN.finditer(view):
        before = _HOST_BEFORE.search(view, max(0, match.start() - _HOST_REACH), match.start())
        start = _link_start(view, match.start())
        if before and start is not None and _is_shop_link(before, match):
            yield ContactMatch("link", start, match.end())


def _link_start(view: str, domain_start: int) -> int | None:
    """Where a link whose domain starts at `domain_start` starts (scheme and subdomains
    included), or None when the domain is the tail of a longer word (abctb.cn)."""
    before = _HOST_BEFORE.search(view, max(0, domain_start - _HOST_REACH), domain_start)
    start = before.start() if before else domain_start
    if start > 0 and (view[start - 1].isalnum() or view[start - 1] in "-_"):
        return None
    return start


def _shop_codes(view: str) -> Iterator[ContactMatch]:
    for match in _SHOP_CODE.finditer(view):
        if _looks_like_code(match.group(2)):
            yield ContactMatch("link", *match.span())


def _looks_like_code(code: str) -> bool:
    """Letters with digits or in mixed case: ￥Fy7J2Qk8ZbA￥, not $12345678$ nor $DOLLARS$."""
    has_digit = any(char.isdigit() for char in code)
    mixed_case = not (code.islower() or code.isupper())
    return any(char.isalpha() for char in code) and (has_digit or mixed_case)


def _is_shop_link(before: re.Match[str], domain: re.Match[str]) -> bool:
    """A scheme, a path or a subdomain other than www: a bare taobao.com is a mention."""
    host = re.sub(r"\W|点|dot", "", before.group("host"), flags=re.I).lower()
    return bool(before.group("scheme") or domain.group("path") or host not in ("", "www"))
