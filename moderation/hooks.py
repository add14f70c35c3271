"""The text hooks the pipeline ships with, over the shared normalisation.

- `WordRulesHook` ("sensitive_words"): the word rules, one automaton over the normalised
  text. BLOCK refuses, REVIEW holds, MASK masks the member's own characters.
- `ContactHook` ("contact_info"): phone and QQ numbers, WeChat ids, e-mail and off-mall shop
  links in any disguise. Held for review; refused outright from members who are new (level
  0 and joined less than `NEW_MEMBER_DAYS` ago), the accounts spammers use.
- Shouting and long runs of one character are a weak signal (`moderation.signals`): they
  never act alone, but turn a masked insult into a case a moderator sees.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from mallforum.clock import now
from moderation.contacts import find_contacts
from moderation.normalize import mask, merge_spans, normalize
from moderation.pipeline import ContentDraft, Reason, Verdict, VerdictAction
from moderation.signals import weak_signal_score
from moderation.words import WordMatcher, default_matcher

NEW_MEMBER_DAYS = 3
WEAK_SIGNAL_ESCALATES = 0.5


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

    async def review(self, draft: ContentDraft) -> Verdict:
        kinds = sorted(
            {c.kind for raw in draft.texts.values() for c in find_contacts(normalize(raw))}
        )
        if not kinds:
            return Verdict()
        author = draft.author
        new = author.level == 0 and now() - author.joined_at < timedelta(days=NEW_MEMBER_DAYS)
        action = VerdictAction.BLOCK if new else VerdictAction.REVIEW
        return Verdict(action, [Reason(self.name, kind) for kind in kinds])


def default_hooks() -> list[WordRulesHook | ContactHook]:
    return [WordRulesHook(), ContactHook()]
