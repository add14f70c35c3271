"""Hooks a mall might plug into the pipeline by dotted path, for the configuration tests."""

from __future__ import annotations

import asyncio

from moderation import ContentDraft, Reason, Verdict, VerdictAction


class SlowScanner:
    """Answers after `seconds`: a remote scanner that is slow today."""

    name = "slow_scanner"

    def __init__(self, services, seconds: float = 1.0) -> None:
        self.seconds = seconds

    async def review(self, draft: ContentDraft) -> Verdict:
        await asyncio.sleep(self.seconds)
        return Verdict()


class BrokenScanner:
    """Fails on every draft: a plug-in with a bug."""

    name = "broken_scanner"

    def __init__(self, services) -> None:
        pass

    async def review(self, draft: ContentDraft) -> Verdict:
        raise RuntimeError("scanner crashed")


class Recorder:
    """Allows everything, and keeps every draft it was shown."""

    name = "recorder"
    drafts: list[ContentDraft] = []

    def __init__(self, services) -> None:
        Recorder.drafts = []

    async def review(self, draft: ContentDraft) -> Verdict:
        Recorder.drafts.append(draft)
        return Verdict()


def brand_guard(services, words: list[str]):
    """A factory function: refuses texts naming a competitor's shop."""

    class BrandGuard:
        name = "brand_guard"

        async def review(self, draft: ContentDraft) -> Verdict:
            text = " ".join(draft.texts.values())
            found = [w for w in words if w in text]
            if found:
                return Verdict(VerdictAction.BLOCK, [Reason(self.name, "competitor", found[0])])
            return Verdict()

    return BrandGuard()
