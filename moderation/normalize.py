"""Normalisation shared by every text hook: one folded string to match on, mapped back to the raw.

`normalize(raw)` folds each character on its own, through one `str.translate` table that is
filled lazily (each distinct character is folded once per process, then it is a C lookup):

- NFKC (full-width letters and digits, circled and mathematical letters, ligatures become
  plain ones), then case folding, then accents and other combining marks are stripped;
- look-alikes: Cyrillic and Greek letters that look Latin (а, о, х, ν...) become Latin, a few
  variant characters become the common one (倣 → 仿, 妳 → 你), and '+' becomes 加, the way
  spammers write "+V", "+微";
- traditional to simplified with OpenCC (its Taiwan then Hong Kong converters, one character
  at a time). Character by character keeps the index map trivial and costs nothing per post
  once cached; phrase-level conversion would not help matching, which only needs one
  deterministic fold applied alike to the patterns and to the posts;
- only letters and digits are kept: whitespace, punctuation, symbols, emoji, zero-width and
  control characters are dropped, so 代 购, 代-购, 代*购 and 代\u200b购 all read 代购.

Then one small Aho-Corasick pass finds the spellings of the WeChat contact word (`ALIASES`)
and folds them to 微信.
The foldings are chosen so that clean text is not hurt: 薇/威/徽/维 become 微 only before
信 (威信 and 维信 are words, but rare in a mall, and nothing matches 微信 alone); 薇 and v
alone only right after 加 ("参加薇娅的直播" is spared; 加维生素 and 增加威力 are never
folded); the Latin forms (vx, wx, weixin, wechat, v) only when they are whole Latin words in
the raw text, so "new xbox" (→ newxbox) and "VIP" keep their letters. Digits and numerals are
left alone here: `contacts` reads them.

Because dropping separators joins Latin words ("push it" → pushit), matchers check Latin
word edges against the raw text with `Normalized.at_word_edge`.

The map back to the raw (`origin`) is computed only when asked for, which is when something
matched: a clean post costs one translate and one small automaton pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache
from itertools import chain, compress

import ahocorasick_rs
import opencc

#: Look-alikes folded to the letter they imitate (applied after NFKC and case folding).
LOOKALIKES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "і": "i", "ј": "j", "к": "k", "м": "m",
        "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
        # Greek
        "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x",
        # Chinese variants OpenCC leaves alone, and the plus sign read as 加
        "倣": "仿", "妳": "你", "+": "加",
    }
)  # fmt: skip

#: Spellings of the WeChat contact word folded to 微信: (pattern, characters of context
#: before the alias, characters of context after it). In 加薇 only 薇 is replaced; in v号
#: only v. See the module docstring for why each is safe.
ALIASES: tuple[tuple[str, int, int], ...] = (
    *((f"{wei}信", 0, 0) for wei in "薇威徽维"),
    ("威芯", 0, 0), ("薇芯", 0, 0), ("v信", 0, 0),
    ("vx", 0, 0), ("wx", 0, 0), ("weixin", 0, 0), ("wechat", 0, 0),
    ("v号", 0, 1), ("加薇", 1, 0), ("加v", 1, 0), ("加我v", 2, 0),
)  # fmt: skip
_ALIAS_AUTOMATON = ahocorasick_rs.AhoCorasick([pattern for pattern, _, _ in ALIASES])
_ALIAS_TARGET = "微信"
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
_CONVERTERS = ("tw2s.json", "hk2s.json")


@cache
def _converters() -> tuple[opencc.OpenCC, ...]:
    return tuple(opencc.OpenCC(config) for config in _CONVERTERS)


def _to_simplified(text: str) -> str:
    for converter in _converters():
        text = converter.convert(text)
    return text


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    if not any(unicodedata.combining(char) for char in decomposed):
        return text
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", bare)


def fold_char(char: str) -> str:
    """The folded form of one raw character: '' when it is dropped, sometimes several chars."""
    text = unicodedata.normalize("NFKC", char).casefold()
    text = _strip_marks(text).translate(LOOKALIKES)
    if not text.isascii():
        text = _to_simplified(text)
    return "".join(c for c in text if unicodedata.category(c)[0] in "LN")


class _FoldTable(dict[int, str]):
    """`str.translate` table that folds each character the first time it is seen."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = fold_char(chr(code))
        _LENGTHS[code] = chr(len(folded))
        return folded


_FOLD = _FoldTable()
#: For each character already folded, the length of its fold as a character (chr(0) when it
#: is dropped), so that one translate gives the lengths of a whole text. Latin-1 is folded
#: up front: an unknown character below 256 would pass through looking like a length.
_LENGTHS: dict[int, str] = {}
for _code in range(256):
    _FOLD[_code]


class Normalized:
    """A raw text, its folded form `text` for matching, and the way back to the raw."""

    __slots__ = ("_origin", "raw", "text")

    def __init__(self, raw: str, text: str, origin: list[int] | None = None) -> None:
        self.raw = raw
        self.text = text
        self._origin = origin

    def __repr__(self) -> str:
        return f"Normalized(raw={self.raw!r}, text={self.text!r})"

    @property
    def origin(self) -> list[int]:
        """For each character of `text`, the index in `raw` of the character it came from."""
        if self._origin is None:
            self._origin = _fold_origin(self.raw)
        return self._origin

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of `raw` that `text[start:end]` was folded from (end exclusive)."""
        origin = self.origin
        return origin[start], origin[end - 1] + 1

    def at_word_edge(
        self, start: int, end: int, *, left: bool = True, right: bool = True, latin: bool = True
    ) -> bool:
        """Whether `text[start:end]` stands alone in the raw text: no letter right before it
        (when `left`) nor right after it (when `right`). With `latin` only Latin letters count,
        so the sb of 你是sb stands alone but the shit of "push it" does not."""
        raw_start, raw_end = self.raw_span(start, end)
        if left and raw_start > 0 and _is_letter(_FOLD[ord(self.raw[raw_start - 1])][-1:], latin):
            return False
        if right and raw_end < len(self.raw):
            return not _is_letter(_FOLD[ord(self.raw[raw_end])][:1], latin)
        return True


def _is_letter(char: str, latin: bool) -> bool:
    if not char:
        return False
    return char in _LATIN if latin else unicodedata.category(char)[0] == "L"


def _fold_origin(raw: str) -> list[int]:
    """Index map of `raw.translate(_FOLD)` (every char of `raw` folded already), built
    without a Python-level loop: a raw index is kept once per character of its fold."""
    try:
        lengths = raw.translate(_LENGTHS).encode("latin-1")
    except UnicodeEncodeError:  # a character never folded yet: fold it, then measure
        raw.translate(_FOLD)
        lengths = raw.translate(_LENGTHS).encode("latin-1")
    if not lengths.translate(None, b"\x00\x01"):
        return list(compress(range(len(raw)), lengths))
    longest = max(lengths)
    # A few characters fold to several (™ → tm): keep index i once for each k <= length.
    masks = (lengths.translate(_AT_LEAST[k]) for k in range(1, longest + 1))
    return sorted(chain.from_iterable(compress(range(len(raw)), mask) for mask in masks))


#: bytes.translate tables: length -> 1 when it is at least k, else 0.
_AT_LEAST = [bytes(int(length >= k) for length in range(256)) for k in range(256)]


@lru_cache(maxsize=32)
def normalize(raw: str) -> Normalized:
    """Fold `raw` for matching (see the module docstring); `origin` maps it back. The last
    few results are kept, so the hooks reviewing one draft fold each text once."""
    folded = Normalized(raw, raw.translate(_FOLD))
    spans = _alias_spans(folded)
    return _replace_aliases(folded, spans) if spans else folded


def _alias_spans(folded: Normalized) -> list[tuple[int, int]]:
    """Spans of the folded text to read as 微信, without overlaps."""
    text = folded.text
    found = _ALIAS_AUTOMATON.find_matches_as_indexes(text, overlapping=True)
    own_starts = {start for index, start, _ in found if ALIASES[index][1] == 0}
    spans = []
    for index, start, end in found:
        _, before, after = ALIASES[index]
        start, end = start + before, end - after
        if before and (start in own_starts or text[end : end + 1] == "娅"):
            continue  # 加薇信 is 加 + 薇信, 加vx is 加 + vx; 参加薇娅的直播 is no alias
        left, right = text[start] in _LATIN, text[end - 1] in _LATIN
        if (left or right) and not folded.at_word_edge(start, end, left=left, right=right):
            continue
        spans.append((start, end))
    return _without_overlaps(spans)


def _without_overlaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    for start, end in sorted(set(spans), key=lambda span: (span[0], -span[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _replace_aliases(folded: Normalized, spans: list[tuple[int, int]]) -> Normalized:
    text, origin = folded.text, folded.origin
    pieces: list[str] = []
    new_origin: list[int] = []
    done = 0
    for start, end in spans:
        pieces.append(text[done:start])
        new_origin.extend(origin[done:start])
        pieces.append(_ALIAS_TARGET)
        # The first folded character points at the alias's first raw character, the last at
        # its last one, so a span covering the alias covers all of what the member wrote.
        new_origin.extend((origin[start], origin[end - 1]))
        done = end
    pieces.append(text[done:])
    new_origin.extend(origin[done:])
    return Normalized(folded.raw, "".join(pieces), new_origin)


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans covering the same characters as `spans`."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


_NOT_SPACE = re.compile(r"\S")


def mask(raw: str, spans: Iterable[tuple[int, int]]) -> str:
    """`raw` with the characters of the raw `spans` replaced by '*', one per character.

    Whitespace inside a span stays as written (代 购 → * *), so line breaks and the layout of
    the post survive; every other character, invisible ones included, becomes one '*'.
    """
    pieces: list[str] = []
    done = 0
    for start, end in merge_spans(spans):
        pieces.append(raw[done:start])
        pieces.append(_NOT_SPACE.sub("*", raw[start:end]))
        done = end
    pieces.append(raw[done:])
    return "".join(pieces)
