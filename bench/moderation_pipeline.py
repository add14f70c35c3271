"""Moderation pipeline benchmark: how many posts a second, and the p99 per post, with
10,000 word rules.

The word rules are the shipped defaults plus generated Chinese and English patterns up to
`--rules` in all, compiled into one automaton as a rule change does. Posts are drawn from
the labelled corpus in tests/moderation/ (clean posts, adverts, contact spam, abuse): long
posts join lines up to `--chars` characters, typical posts 3 to 12 lines, one line in ten
drawn from the whole corpus and the rest from its clean posts. Runs:

- the text hooks (word rules and contact details) on long posts, and on long posts made
  of the whole corpus (more than half spam: the worst case);
- the text hooks on typical posts;
- the whole configured pipeline (rate limits and duplicates in real Redis too) on typical
  posts, each by one of many established members, as a busy community writes them.

Each post's verdict is timed on its own (`time.perf_counter`); the figures are posts per
second over the run, p50 and p99 per post. The Redis keys are removed at the end.

    .venv/bin/python bench/moderation_pipeline.py [--rules 10000] [--chars 2000] [--posts 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from mallforum.clock import now
from mallforum.redis_store import RedisStore
from mallforum.settings import HookSpec, Settings
from models import Member, MemberRole
from moderation import ContentDraft, Pipeline, Standing, VerdictAction
from moderation.hooks import HookServices, build_pipeline
from moderation.words import WordMatcher, WordRule, default_rules
from tests.stores import REDIS_URL, delete_keys, require_stores

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "moderation" / "moderation_corpus.tsv"
#: The common CJK block, where generated patterns are drawn from.
CJK = [chr(code) for code in range(0x4E00, 0x9FA6)]
LATIN = "abcdefghijklmnopqrstuvwxyz"


def corpus_texts() -> dict[str, list[str]]:
    """The corpus's texts by label (clean, spam, contact, abuse)."""
    texts: dict[str, list[str]] = {}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if "\t" in line and not line.startswith("#"):
            label, text = line.split("\t", 1)
            texts.setdefault(label, []).append(text)
    return texts


def generated_rules(count: int, rng: random.Random) -> list[WordRule]:
    """The shipped defaults and generated patterns (3-4 CJK characters, or 6-10 Latin
    letters) with every action, up to `count` rules."""
    rules = list(default_rules())
    actions = [VerdictAction.BLOCK, VerdictAction.REVIEW, VerdictAction.MASK]
    seen = {rule.pattern for rule in rules}
    while len(rules) < count:
        if rng.random() < 0.8:
            pattern = "".join(rng.choices(CJK, k=rng.randint(3, 4)))
        else:
            pattern = "".join(rng.choices(LATIN, k=rng.randint(6, 10)))
        if pattern not in seen:
            seen.add(pattern)
            rules.append(WordRule(pattern, rng.choice(actions), "generated"))
    return rules


def posts(
    texts: dict[str, list[str]],
    count: int,
    lines: tuple[int, int],
    chars: int | None,
    not_clean: float,
    rng: random.Random,
) -> list[str]:
    """Posts of `lines` corpus lines (cut to `chars`), a share `not_clean` of the lines
    drawn from the whole corpus rather than its clean posts."""
    everything = [text for group in texts.values() for text in group]
    made = []
    for _ in range(count):
        picked: list[str] = []
        while len(picked) < rng.randint(*lines) or (chars and sum(map(len, picked)) < chars):
            picked.append(rng.choice(everything if rng.random() < not_clean else texts["clean"]))
        made.append("\n".join(picked)[:chars])
    return made


def members(count: int) -> list[Member]:
    """Established members (level 3, joined a year ago), unsaved: hooks read, never write."""
    joined = now() - timedelta(days=365)
    return [
        Member(id=n, mall_user_id=f"bench-{n}", role=MemberRole.MEMBER, level=3, joined_at=joined)
        for n in range(1, count + 1)
    ]


async def timed(pipeline: Pipeline, posts: Sequence[str], authors: Sequence[Member]) -> list[float]:
    seconds = []
    for n, body in enumerate(posts):
        author = authors[n % len(authors)]
        standing = Standing.of(author, now())
        draft = ContentDraft("topic", {"body": body}, author, standing)
        started = time.perf_counter()
        await pipeline.review(draft)
        seconds.append(time.perf_counter() - started)
    return seconds


def report(label: str, seconds: Sequence[float], chars: float) -> None:
    ordered = sorted(seconds)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(
        f"{label:<44} {len(ordered) / sum(ordered):>9,.0f} posts/s"
        f"   p50 {p50:6.3f} ms   p99 {p99:6.3f} ms   ({chars:,.0f} chars/post)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=2_000)
    parser.add_argument("--posts", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    await require_stores()
    texts = corpus_texts()
    rules = generated_rules(args.rules, rng)
    started = time.perf_counter()
    matcher = WordMatcher(rules)
    compile_ms = (time.perf_counter() - started) * 1000
    print(f"{len(rules):,} word rules compiled into one automaton in {compile_ms:.0f} ms")

    settings = Settings(redis_url=REDIS_URL, redis_prefix=f"mfbench:{uuid.uuid4().hex[:10]}")
    redis = RedisStore.from_settings(settings)
    try:
        text_only = settings.model_copy(
            update={
                "moderation_hooks": [
                    HookSpec(hook="sensitive_words"),
                    HookSpec(hook="contact_info"),
                ]
            }
        )
        text_hooks = build_pipeline(HookServices(text_only, redis, lambda: matcher))
        whole = build_pipeline(HookServices(settings, redis, lambda: matcher))
        authors = members(5_000)
        long = posts(texts, args.posts, (1, 1), args.chars, 0.1, rng)
        dense = posts(texts, args.posts, (1, 1), args.chars, 1.0, rng)
        typical = posts(texts, args.posts * 5, (3, 12), None, 0.1, rng)
        await timed(text_hooks, long[:50], authors)  # warm up
        report("text hooks, long posts", await timed(text_hooks, long, authors), args.chars)
        report(
            "text hooks, long posts dense with spam",
            await timed(text_hooks, dense, authors),
            args.chars,
        )
        average = statistics.mean(len(t) for t in typical)
        report("text hooks, typical posts", await timed(text_hooks, typical, authors), average)
        hooks = ", ".join(spec.hook for spec in settings.moderation_hooks)
        print(f"whole pipeline: {hooks}")
        report("whole pipeline, typical posts", await timed(whole, typical, authors), average)
    finally:
        await redis.close()
        await delete_keys(settings)


if __name__ == "__main__":
    asyncio.run(main())
