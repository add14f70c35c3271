"""Word rules: admins add to the shipped list or write over its entries; moderators read them.

A rule is known by its folded pattern (`moderation.words.folded_pattern`): writing a pattern
that folds like a stored rule's changes that rule, and one that folds like a shipped default
replaces the default until the rule is deleted. Each change is written to the moderation
log in its transaction and reaches every process within a second (`moderation.rule_store`).
"""

from __future__ import annotations

import re
from functools import cache

from mallforum.clock import now
from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.ids import decode_id, encode_id
from mallforum.transactions import atomic
from models import Member, WordListAction, WordRule
from moderation.rule_store import next_revision
from moderation.words import default_rules, folded_pattern
from resolvers.context import Context
from resolvers.moderation_cases import require_moderator_to_read, write_log

PATTERN_MAX = 100
FOLDED_MAX = 400  # the column's width: folding may lengthen a pattern (① → 1, + → 加)
CATEGORY_PATTERN = re.compile(r"[a-z][a-z_]{0,31}")
#: The database's rules at most: the list is read whole, and every process compiles it.
MAX_RULES = 20_000


@cache
def shipped_rules() -> dict[str, str]:
    """The shipped defaults by folded pattern, each as the log describes it."""
    shipped: dict[str, list[str]] = {}
    for rule in default_rules():
        shipped.setdefault(folded_pattern(rule.pattern), []).append(
            _describe(rule.pattern, rule.action.name, rule.category)
        )
    return {folded: "; ".join(described) for folded, described in shipped.items()}


def overrides_default(rule: WordRule) -> bool:
    return rule.folded in shipped_rules()


def require_unbanned_admin(ctx: Context) -> Member:
    """The signed-in, unbanned admin: UNAUTHENTICATED or FORBIDDEN otherwise."""
    ctx.require_admin()
    return ctx.require_unbanned_member()


async def word_rules(ctx: Context) -> list[WordRule]:
    """The database's rules by category, then pattern: moderators only."""
    require_moderator_to_read(ctx)
    return await WordRule.all().order_by("category", "folded")


async def word_rule_by_id(ctx: Context, rule_id: int) -> WordRule | None:
    if not ctx.is_moderator:
        return None
    return await WordRule.get_or_none(id=rule_id)


def clean_rule(pattern: str, category: str) -> tuple[str, str, str]:
    """The pattern and category trimmed, and the folded pattern; INVALID for each fault."""
    problems = Problems()
    pattern, category = pattern.strip(), category.strip()
    folded = folded_pattern(pattern)
    if not 1 <= len(pattern) <= PATTERN_MAX:
        problems.invalid(f"A pattern is 1 to {PATTERN_MAX} characters.", "input", "pattern")
    elif not folded:
        problems.invalid(
            "A pattern needs letters or digits: spaces and symbols are ignored in matching.",
            "input",
            "pattern",
        )
    elif len(folded) > FOLDED_MAX:
        problems.invalid("This pattern is too long once folded.", "input", "pattern")
    if not CATEGORY_PATTERN.fullmatch(category):
        problems.invalid(
            "A category is 1 to 32 lowercase letters and underscores, e.g. spam.",
            "input",
            "category",
        )
    problems.raise_any()
    return pattern, folded, category


async def upsert_word_rule(
    ctx: Context, pattern: str, action: WordListAction, category: str
) -> WordRule:
    """Add a rule, or change the one with the same folded pattern; over a shipped default
    it replaces it. INVALID past `MAX_RULES` rules."""
    admin = require_unbanned_admin(ctx)
    pattern, folded, category = clean_rule(pattern, category)
    async with atomic():
        revision = await next_revision()  # changes queue here, so the count below holds
        rule = await WordRule.get_or_none(folded=folded)
        at = now()
        if rule is None:
            if await WordRule.all().count() >= MAX_RULES:
                raise UserFailure.of(
                    ErrorCode.INVALID, f"There are {MAX_RULES} word rules already: the most."
                )
            rule = await WordRule.create(
                pattern=pattern,
                folded=folded,
                action=action,
                category=category,
                created_by_id=admin.pk,
                created_at=at,
                updated_by_id=admin.pk,
                updated_at=at,
            )
            note = _describe(pattern, action, category)
            if folded in shipped_rules():
                note += f", over the shipped {shipped_rules()[folded]}"
            await write_log(admin, "CREATE_WORD_RULE", rule_gid(rule), note)
        else:
            was = _describe(rule.pattern, rule.action, rule.category)
            rule.pattern, rule.action, rule.category = pattern, action, category
            rule.updated_by_id, rule.updated_at = admin.pk, at
            await rule.save(
                update_fields=["pattern", "action", "category", "updated_by_id", "updated_at"]
            )
            note = f"{_describe(pattern, action, category)}, was {was}"
            await write_log(admin, "UPDATE_WORD_RULE", rule_gid(rule), note)
    await ctx.word_rules.changed(revision)
    return rule


async def delete_word_rule(ctx: Context, gid: str) -> str:
    """Delete a rule: a shipped default it replaced applies again."""
    admin = require_unbanned_admin(ctx)
    rule_id = decode_id(gid, "WordRule", field=["id"])
    async with atomic():
        revision = await next_revision()
        rule = await WordRule.get_or_none(id=rule_id)
        if rule is None:
            raise UserFailure.of(ErrorCode.NOT_FOUND, "No word rule has that id.", ["id"])
        deleted = rule_gid(rule)
        await rule.delete()
        note = _describe(rule.pattern, rule.action, rule.category)
        await write_log(admin, "DELETE_WORD_RULE", deleted, note)
    await ctx.word_rules.changed(revision)
    return deleted


def rule_gid(rule: WordRule) -> str:
    return encode_id("WordRule", rule.pk)


def _describe(pattern: str, action: str, category: str) -> str:
    return f"{pattern}: {action} ({category})"
