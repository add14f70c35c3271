"""Shared steps of the moderation tests: report, moderate, decide, read the queue and
the log, and a hook that holds marked texts."""

from __future__ import annotations

from typing import Any

from moderation import ContentDraft, Reason, Verdict, VerdictAction
from tests.forum import MODERATOR

MOD = {"as_": MODERATOR, "roles": ("moderator",)}

REPORT = """
mutation($input: ReportContentInput!) {
  reportContent(input: $input) { reported errors { field code message } }
}"""
MODERATE = """
mutation($input: ModerateContentInput!) {
  moderateContent(input: $input) {
    target {
      ... on Topic { id status isLocked isPinned isFeatured board { topicCount } }
      ... on Comment { id status topic { commentCount } }
    }
    errors { field code message }
  }
}"""
CASE_FIELDS = """
  id source status reportCount createdAt decidedAt note
  reasons { hook code detail }
  decidedBy { id }
  target {
    ... on Topic { id status author { id } }
    ... on Comment { id status body author { id } }
    ... on Member { id }
  }
"""
QUEUE = f"""
query($status: ModerationCaseStatus, $first: Int, $after: String) {{
  moderationQueue(status: $status, first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ node {{ {CASE_FIELDS} }} }}
  }}
}}"""
DECIDE = f"""
mutation($caseId: ID!, $approve: Boolean!, $note: String) {{
  decideModerationCase(caseId: $caseId, approve: $approve, note: $note) {{
    case {{ {CASE_FIELDS} }}
    errors {{ field code message }}
  }}
}}"""
LOG = """
query($first: Int) {
  moderationLog(first: $first) {
    totalCount
    edges { node { id action targetId note createdAt actor { id } } }
  }
}"""


async def report(api, item_id: str, reporter: str, reason: str = "SPAM", note=None) -> dict:
    variables = {"input": {"id": item_id, "reason": reason, "note": note}}
    return (await api(REPORT, variables, as_=reporter))["reportContent"]


async def moderate(api, item_id: str, action: str, note=None, **caller: Any) -> dict:
    variables = {"input": {"id": item_id, "action": action, "note": note}}
    return (await api(MODERATE, variables, **(caller or MOD)))["moderateContent"]


async def queue(api, status: str = "OPEN") -> list[dict]:
    data = await api(QUEUE, {"status": status}, **MOD)
    return [edge["node"] for edge in data["moderationQueue"]["edges"]]


async def decide(api, case_id: str, approve: bool, note=None, **caller: Any) -> dict:
    variables = {"caseId": case_id, "approve": approve, "note": note}
    return (await api(DECIDE, variables, **(caller or MOD)))["decideModerationCase"]


async def log(api) -> list[tuple[str, str, str | None]]:
    """The moderation log, newest first, as (action, target ID, note)."""
    data = await api(LOG, {"first": 100}, **MOD)
    return [
        (e["node"]["action"], e["node"]["targetId"], e["node"]["note"])
        for e in data["moderationLog"]["edges"]
    ]


async def node(api, item_id: str) -> dict:
    query = """query($id: ID!) { node(id: $id) {
      ... on Topic { status isFeatured } ... on Comment { status } } }"""
    return (await api(query, {"id": item_id}, **MOD))["node"]


class HoldWord:
    """A moderation hook that holds for review any text containing `word`."""

    name = "held_words"

    def __init__(self, word: str) -> None:
        self.word = word

    async def review(self, draft: ContentDraft) -> Verdict:
        if any(self.word in text for text in draft.texts.values()):
            return Verdict(VerdictAction.REVIEW, [Reason(self.name, "suspicious", self.word)])
        return Verdict()
