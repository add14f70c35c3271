"""Weak signals: shouting and long runs of one character. Scores from 0 to 1, never verdicts.

A shouted or stretched post is not bad by itself (a happy shopper writes 太好看了！！！ or
LOVE IT), so these scores only add weight to what the word rules and contact finders found,
for example to hold a post for review rather than only masking an insult in it.

- Shouting: at least `SHOUT_MIN_LETTERS` Latin letters in words of `SHOUT_WORD` letters or
  more (after NFKC, so full-width letters count), `SHOUT_RATIO` or more of them capitals;
  the score is that share of capitals. Acronyms and model names (RTX4090, USB-C HDMI VGA)
  are short words and do not count.
- Repetition: one letter or character `CHAR_RUN` times or more in a row (哈哈哈 is normal,
  哈哈哈哈哈哈哈哈 is not), a two-character unit five times (hahahahaha), or `MARK_RUN` or more
  exclamation and question marks. Digits (100000000), ellipses (......) and rules (-----)
  do not count. The score is 0.5 at the threshold and reaches 1 at twice its length.
"""

from __future__ import annotations

import re
import unicodedata

SHOUT_MIN_LETTERS = 10
SHOUT_WORD = 5
SHOUT_RATIO = 0.7
CHAR_RUN = 8
PAIR_REPEATS = 5
MARK_RUN = 5

_LONG_WORDS = re.compile(rf"(?<![A-Za-z])[A-Za-z]{{{SHOUT_WORD},}}")
_CAPITALS = re.compile(r"[A-Z]")
_CHAR_RUNS = re.compile(rf"([^\W\d_])\1{{{CHAR_RUN - 1},}}")
_PAIR_RUNS = re.compile(rf"([^\W\d_]{{2}})\1{{{PAIR_REPEATS - 1},}}")
_MARK_RUNS = re.compile(rf"[!?！？]{{{MARK_RUN},}}")


def shouting_score(raw: str) -> float:
    """The share of capitals among the letters of long Latin words when the text shouts,
    else 0."""
    words = "".join(_LONG_WORDS.findall(unicodedata.normalize("NFKC", raw)))
    if len(words) < SHOUT_MIN_LETTERS:
        return 0.0
    ratio = len(_CAPITALS.findall(words)) / len(words)
    return ratio if ratio >= SHOUT_RATIO else 0.0


def repetition_score(raw: str) -> float:
    """How far the longest run of one character (or pair, or !?) goes past its threshold."""
    text = unicodedata.normalize("NFKC", raw)
    ratios = [len(m.group()) / CHAR_RUN for m in _CHAR_RUNS.finditer(text)]
    ratios += [len(m.group()) / (2 * PAIR_REPEATS) for m in _PAIR_RUNS.finditer(text)]
    ratios += [len(m.group()) / MARK_RUN for m in _MARK_RUNS.finditer(text)]
    return min(1.0, max(ratios) / 2) if ratios else 0.0


def weak_signal_score(raw: str) -> float:
    """The stronger of the two signals: a weight to add to other findings, never alone."""
    return max(shouting_score(raw), repetition_score(raw))
