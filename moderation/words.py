"""Word rules: patterns with an action and a category, matched in one Aho-Corasick pass.

Every pattern is folded with the same `normalize()` as the posts, so one rule 代购 also
catches 代 购, 代購 and 代\u200b购, and all patterns go into one Aho-Corasick automaton:
finding every rule in a post is one pass over the folded text whatever the number of rules.

The automaton is ahocorasick-rs (Python bindings of the Rust aho-corasick crate) rather
than pyahocorasick: pyahocorasick's trie looks up a node's children one by one, and a list
of Chinese words has thousands of first characters, so with 10,000 rules a 2,000-character
post took 1.5-2.8 ms there against under 0.1 ms here. Matches come back as character
offsets, overlapping ones included.

Edges: a pattern that begins or ends with a Latin letter matches only at a Latin word edge of
the raw text (so "shit" is not found in "push it", folded pushit, nor "ass" in "class"); list
the forms you mean (fuck, fucking). A pattern written between angle brackets, <滚>, matches
only where no letter at all touches it (滚！ but not 滚筒洗衣机); angle brackets are symbols,
which folding drops, so they cannot mean anything else in a pattern.

Overlapping matches are all reported (傻逼 and 你是傻逼 in the same words), each with its
rule and raw span; `mask()` merges the spans. The raw span is worked out when it is read:
knowing which rules matched (all `classify` needs) costs no pass back over the post.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

import ahocorasick_rs

from moderation.normalize import Normalized, normalize
from moderation.pipeline import VerdictAction

_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class WordRule:
    """A pattern as a moderator writes it, what to do when it matches, and its category."""

    pattern: str
    action: VerdictAction
    category: str


@dataclass(frozen=True)
class WordMatch:
    """A rule found in a post, and where: `text_start`/`text_end` in the folded text, and
    `span` (`start`, `end`) in the raw text, computed when first read, since mapping back
    to the raw costs a pass over the post that only masking needs."""

    rule: WordRule
    normalized: Normalized = field(repr=False, compare=False)
    text_start: int
    text_end: int

    @property
    def span(self) -> tuple[int, int]:
        """The raw span (end exclusive), for `mask()`."""
        return self.normalized.raw_span(self.text_start, self.text_end)

    @property
    def start(self) -> int:
        """Where the match starts in the raw text."""
        return self.span[0]

    @property
    def end(self) -> int:
        """Where the match ends in the raw text (exclusive)."""
        return self.span[1]


@dataclass(frozen=True)
class _Entry:
    """What the automaton stores for one folded pattern: the rules that share it."""

    rules: tuple[WordRule, ...]
    latin_left: bool
    latin_right: bool
    whole_word: bool

    def fits(self, normalized: Normalized, start: int, end: int) -> bool:
        if self.whole_word and not normalized.at_word_edge(start, end, latin=False):
            return False
        if not (self.latin_left or self.latin_right):
            return True
        return normalized.at_word_edge(start, end, left=self.latin_left, right=self.latin_right)


def _key(pattern: str) -> tuple[str, bool]:
    """The folded pattern, and whether it was written <between angle brackets>."""
    stripped = pattern.strip()
    whole_word = len(stripped) > 2 and stripped[0] == "<" and stripped[-1] == ">"
    return normalize(stripped).text, whole_word


def folded_pattern(pattern: str) -> str:
    """The pattern as its rule is known by: folded, kept <between angle brackets> when it
    was written so; empty when it has no letters or digits. Two patterns that fold the same
    are one rule."""
    text, whole_word = _key(pattern)
    return f"<{text}>" if whole_word and text else text


def effective_rules(defaults: Iterable[WordRule], own: Iterable[WordRule]) -> list[WordRule]:
    """The shipped defaults with the mall's own rules on top: an own rule replaces every
    default with its folded pattern (so an admin can soften or harden one), others add."""
    own = list(own)
    replaced = {folded_pattern(rule.pattern) for rule in own}
    kept = [rule for rule in defaults if folded_pattern(rule.pattern) not in replaced]
    return kept + own


class WordMatcher:
    """All the rules compiled into one automaton over folded text."""

    def __init__(self, rules: Iterable[WordRule]) -> None:
        grouped: dict[tuple[str, bool], list[WordRule]] = {}
        for rule in rules:
            key = _key(rule.pattern)
            if not key[0]:
                raise ValueError(f"word rule {rule.pattern!r} has no letters or digits")
            grouped.setdefault(key, []).append(rule)
        entries: dict[str, list[_Entry]] = {}
        for (text, whole_word), same in grouped.items():
            latin_left, latin_right = text[0] in _LATIN, text[-1] in _LATIN
            entry = _Entry(tuple(same), latin_left, latin_right, whole_word)
            entries.setdefault(text, []).append(entry)
        self._entries = list(entries.values())
        self._automaton = ahocorasick_rs.AhoCorasick(list(entries))

    def find(self, normalized: Normalized) -> list[WordMatch]:
        """Every rule found in `normalized`, in order of position, overlaps included."""
        matches: list[WordMatch] = []
        found = self._automaton.find_matches_as_indexes(normalized.text, overlapping=True)
        for index, start, end in found:
            for entry in self._entries[index]:
                if entry.fits(normalized, start, end):
                    matches.extend(WordMatch(rule, normalized, start, end) for rule in entry.rules)
        matches.sort(key=lambda match: (match.text_start, match.text_end))
        return matches


def rules_from_toml(text: str) -> list[WordRule]:
    """Rules from TOML with one table per category and one pattern list per action:
    `[abuse]` then `mask = ["白痴", ...]`, `block = [...]`."""
    rules: list[WordRule] = []
    for category, by_action in tomllib.loads(text).items():
        for action, patterns in by_action.items():
            verdict_action = VerdictAction[action.upper()]
            rules.extend(WordRule(pattern, verdict_action, category) for pattern in patterns)
    return rules


@cache
def default_rules() -> tuple[WordRule, ...]:
    """The small default list shipped in moderation/data/word_rules.toml."""
    data = files("moderation").joinpath("data", "word_rules.toml").read_text(encoding="utf-8")
    return tuple(rules_from_toml(data))


@cache
def default_matcher() -> WordMatcher:
    """A matcher over `default_rules()`, compiled once per process."""
    return WordMatcher(default_rules())
