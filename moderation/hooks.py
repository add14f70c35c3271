"""The hooks the pipeline ships with, and how the configured list becomes a pipeline.

- `WordRulesHook` ("sensitive_words"): the word rules, one automaton over the normalised
  text. BLOCK refuses, REVIEW holds, MASK masks the member's own characters.
- `ContactHook` ("contact_info"): phone and QQ numbers, WeChat ids, e-mail and off-mall shop
  links in any disguise. Held for review (`action`); refused (`strict_action`) from members
  who are new (level 0, joined less than three days ago) or had posts rejected lately.
- Shouting and long runs of one character are a weak signal (`moderation.signals`): they
  never act alone, but turn a masked insult into a case a moderator sees.

`build_pipeline` reads `MALLFORUM_MODERATION_HOOKS`: each entry names a shipped hook or the
mall's own as `package.module:factory`. A factory is called as `factory(services,
**options)` and returns an object with a `name` and `async review(draft) -> Verdict`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mallforum.redis_store import RedisStore
from mallforum.settings import HookSpec, Settings
from moderation.contacts import find_contacts
from moderation.normalize import mask, merge_spans, normalize
from moderation.pipeline import (
    ContentDraft,
    FailPolicy,
    Hook,
    Pipeline,
    Reason,
    Stage,
    Verdict,
    VerdictAction,
)
from moderation.signals import weak_signal_score
from moderation.words import WordMatcher, default_matcher

WEAK_SIGNAL_ESCALATES = 0.5


@dataclass(frozen=True)
class HookServices:
    """What a hook may use: the settings, Redis, and the current word rules."""

    settings: Settings
    redis: RedisStore
    word_matcher: Callable[[], WordMatcher] = default_matcher


class WordRulesHook:
    name = "sensitive_words"

    def __init__(self, matcher: Callable[[], WordMatcher] = default_matcher) -> None:
        self.matcher = matcher  # called on each review: a rule change swaps the automaton

    async def review(self, draft: ContentDraft) -> Verdict:
        verdict = Verdict()
        matcher = self.matcher()
        for name, raw in draft.texts.items():
            matches = matcher.find(normalize(raw))
            if not matches:
                continue
            action = max(m.rule.action for m in matches)
            reasons = [Reason(self.name, c) for c in sorted({m.rule.category for m in matches})]
            masked = {}
            if action == VerdictAction.MASK:
                masked[name] = mask(raw, merge_spans(m.span for m in matches))
                if weak_signal_score(raw) >= WEAK_SIGNAL_ESCALATES:
                    action = VerdictAction.REVIEW
                    reasons.append(Reason(self.name, "shouting", "masked words, shouted"))
            verdict = verdict.combine(Verdict(action, reasons, masked))
        return verdict


class ContactHook:
    name = "contact_info"

    def __init__(self, action: str = "review", strict_action: str = "block") -> None:
        self.action = _action_option(action, "action")
        self.strict_action = _action_option(strict_action, "strict_action")

    async def review(self, draft: ContentDraft) -> Verdict:
        kinds = sorted(
            {c.kind for raw in draft.texts.values() for c in find_contacts(normalize(raw))}
        )
        if not kinds:
            return Verdict()
        strict = draft.by_new_member or draft.standing.recent_rejections > 0
        action = max(self.action, self.strict_action) if strict else self.action
        return Verdict(action, [Reason(self.name, kind) for kind in kinds])


def _action_option(value: str, option: str) -> VerdictAction:
    if value not in ("review", "block"):
        raise ValueError(f"contact_info: {option} must be 'review' or 'block', not {value!r}")
    return VerdictAction[value.upper()]


def _word_rules(services: HookServices) -> WordRulesHook:
    return WordRulesHook(services.word_matcher)


def _contact_info(services: HookServices, **options: Any) -> ContactHook:
    return ContactHook(**options)


def _duplicates(services: HookServices, **options: Any) -> Hook:
    from moderation.duplicates import DuplicateHook

    return DuplicateHook(services.redis, **options)


def _flooding(services: HookServices, **options: Any) -> Hook:
    from moderation.flooding import FloodHook

    return FloodHook(services.redis, **options)


SHIPPED_HOOKS: dict[str, Callable[..., Hook]] = {
    "sensitive_words": _word_rules,
    "contact_info": _contact_info,
    "duplicates": _duplicates,
    "flooding": _flooding,
}


def hook_factory(name: str) -> Callable[..., Hook]:
    """A shipped hook by name, or the mall's own by `package.module:factory` (or the last
    dot instead of the colon)."""
    if name in SHIPPED_HOOKS:
        return SHIPPED_HOOKS[name]
    module_name, _, attribute = name.rpartition(":") if ":" in name else name.rpartition(".")
    if not module_name:
        raise ValueError(f"unknown moderation hook {name!r}")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot load moderation hook {name!r}: {error}") from error


def build_stage(spec: HookSpec, services: HookServices) -> Stage:
    hook = hook_factory(spec.hook)(services, **spec.options)
    timeout = spec.timeout_ms / 1000 if spec.timeout_ms else None
    return Stage(hook, timeout, FailPolicy(spec.on_failure))


def build_pipeline(services: HookServices) -> Pipeline:
    """The pipeline `MALLFORUM_MODERATION_HOOKS` describes; a bad entry stops start-up."""
    return Pipeline([build_stage(spec, services) for spec in services.settings.moderation_hooks])
