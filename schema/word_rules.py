"""Word rules: the admins' own on top of the shipped list, read by moderators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

import models
from resolvers import word_rules as resolvers
from schema.bindings import Info, context, described_enum
from schema.members import Member
from schema.payloads import ERRORS, DeletePayload, UserError, payload
from schema.relay import Node

WordListAction = described_enum(
    models.WordListAction,
    "What a word rule does to content it matches.",
    {
        "BLOCK": "Refuse the write with REJECTED_BY_MODERATION.",
        "MASK": "Publish with the word masked.",
        "REVIEW": "Hold the content as PENDING_REVIEW until a moderator decides.",
    },
)


@strawberry.type(
    description="A word rule an admin added, or wrote over a shipped one with the same folded "
    f"pattern. wordRules lists these, at most {resolvers.MAX_RULES:,}; the shipped defaults "
    "apply beneath them and are not listed. Patterns match folded text: case, width, spaces, "
    "symbols and traditional characters do not matter; one that starts or ends with a Latin "
    "letter matches whole Latin words only, and one written <between angle brackets> only "
    "where no letter touches it. Every server process applies a change within a second."
)
class WordRule(Node):
    pattern: str = strawberry.field(description="The pattern as the admin wrote it.")
    action: WordListAction = strawberry.field(  # type: ignore[valid-type]
        description="What it does to content it matches."
    )
    category: str = strawberry.field(
        description="What kind of word it is, e.g. spam, contact or abuse: the reason "
        "moderators see on cases it opens."
    )
    overrides_default: bool = strawberry.field(
        description="True when it replaces a shipped rule with the same folded pattern; "
        "deleting it brings that rule back."
    )
    created_at: datetime = strawberry.field(description="When it was added.")
    updated_at: datetime = strawberry.field(description="When it was last written.")
    model: strawberry.Private[models.WordRule]

    @classmethod
    def of(cls, rule: models.WordRule) -> WordRule:
        return cls(
            id=strawberry.ID(resolvers.rule_gid(rule)),
            pattern=rule.pattern,
            action=rule.action,
            category=rule.category,
            overrides_default=resolvers.overrides_default(rule),
            created_at=rule.created_at,
            updated_at=rule.updated_at,
            model=rule,
        )

    @strawberry.field(description="The admin who last wrote it.")
    async def updated_by(self, info: Info) -> Member | None:
        member = await context(info).loaders.member_by_id.load(self.model.updated_by_id)
        return Member.of(member) if member else None


async def load_word_rule(info: Info, rule_id: int) -> WordRule | None:
    rule = await resolvers.word_rule_by_id(context(info), rule_id)
    return WordRule.of(rule) if rule else None


@strawberry.input(
    description="A word rule to add, or to write over the rule (an admin's or a shipped one) "
    f"whose pattern folds the same. Past {resolvers.MAX_RULES:,} rules a new one is INVALID."
)
class WordRuleInput:
    pattern: str = strawberry.field(
        description=f"1 to {resolvers.PATTERN_MAX} characters with letters or digits, written "
        "once in simplified Chinese: it is folded like posts are."
    )
    action: WordListAction = strawberry.field(  # type: ignore[valid-type]
        description="What to do with content it matches."
    )
    category: str = strawberry.field(
        description="1 to 32 lowercase letters and underscores, e.g. spam, contact, abuse."
    )


@strawberry.type(description="What upsertWordRule answers: the rule as stored, or why not.")
class WordRulePayload:
    rule: WordRule | None = strawberry.field(
        default=None, description="The rule as stored; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class WordRuleQueries:
    @strawberry.field(description="Moderators only.")
    async def word_rules(self, info: Info) -> list[WordRule]:
        return [WordRule.of(rule) for rule in await resolvers.word_rules(context(info))]


@strawberry.type
class WordRuleMutations:
    @strawberry.mutation(description="Admins.")
    async def upsert_word_rule(
        self,
        info: Info,
        input: Annotated[WordRuleInput, strawberry.argument(description="The rule.")],
    ) -> WordRulePayload:
        work = resolvers.upsert_word_rule(
            context(info), input.pattern, input.action, input.category
        )
        return await payload(WordRulePayload, work, WordRule.of, "rule")

    @strawberry.mutation(description="Admins.")
    async def delete_word_rule(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The rule's global ID; a shipped rule it replaced applies again."
            ),
        ],
    ) -> DeletePayload:
        work = resolvers.delete_word_rule(context(info), id)
        return await payload(DeletePayload, work, name="deleted_id")
