"""Badges (勋章): the catalogue, automatic rules evaluated on events, and manual grants.

A rule is evaluated only when an event that can change what it measures happens (a topic
published, a like received, a check-in...), with the measured value passed in; nobody is
scanned. Awarding happens under the member's row lock and is unique per member and badge
in the database, so it is idempotent, and `holder_count` counts each holder once.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from tortoise.expressions import F

from mallforum.clock import now
from mallforum.errors import ErrorCode, UserFailure
from mallforum.ids import decode_id
from mallforum.settings import Settings
from mallforum.transactions import atomic
from models import Badge, BadgeAward, BadgeKind, Member
from resolvers.context import Context
from resolvers.pagination import Page, SortKey, queryset_page

RULES = frozenset(
    {
        "topics_published",
        "answers_accepted",
        "check_in_streak",
        "active_days_in_month",
        "topics_featured",
        "likes_received",
        "verified_buyer",
    }
)
AWARD_ORDER = SortKey("awards", ("id",))
REASON_MAX = 200


def load_catalogue(settings: Settings) -> list[dict[str, Any]]:
    """The badge definitions: MALLFORUM_BADGES_FILE, else the catalogue shipped with us."""
    if settings.badges_file is not None:
        text = settings.badges_file.read_text(encoding="utf-8")
    else:
        text = resources.files("mallforum").joinpath("data/badges.toml").read_text("utf-8")
    entries = tomllib.loads(text).get("badge", [])
    for entry in entries:
        kind = BadgeKind(entry["kind"])
        rule = entry.get("rule")
        if kind == BadgeKind.AUTOMATIC and (rule not in RULES or "threshold" not in entry):
            raise ValueError(f"badge {entry['code']}: an AUTOMATIC badge needs a known rule")
    return entries


async def sync_catalogue(settings: Settings) -> None:
    """Create the catalogue's badges that are missing and update the others' texts."""
    existing = {badge.code: badge for badge in await Badge.all()}
    for entry in load_catalogue(settings):
        values = {
            "name": entry["name"],
            "description": entry["description"],
            "icon_url": entry.get("icon_url"),
            "kind": BadgeKind(entry["kind"]),
            "rule": entry.get("rule"),
            "threshold": entry.get("threshold"),
        }
        badge = existing.get(entry["code"])
        if badge is None:
            await Badge.create(code=entry["code"], **values)
        elif any(getattr(badge, name) != value for name, value in values.items()):
            await Badge.filter(id=badge.pk).update(**values)


async def award(member_id: int, badge: Badge, reason: str | None = None) -> bool:
    """Give the badge unless the member holds it; call with the member's row locked."""
    if await BadgeAward.exists(member_id=member_id, badge_id=badge.pk):
        return False
    await BadgeAward.create(member_id=member_id, badge_id=badge.pk, reason=reason, awarded_at=now())
    await Badge.filter(id=badge.pk).update(holder_count=F("holder_count") + 1)
    return True


async def evaluate(member_id: int, rule: str, value: int) -> None:
    """Award every automatic badge of `rule` whose threshold `value` reaches; call with the
    member's row locked."""
    reached = await Badge.filter(kind=BadgeKind.AUTOMATIC, rule=rule, threshold__lte=value)
    for badge in reached:
        await award(member_id, badge)


async def grant_badge(ctx: Context, member_gid: str, code: str, reason: str | None) -> Member:
    """A moderator grants a MANUAL badge; granting one the member holds changes nothing."""
    if ctx.principal is None:
        raise UserFailure.of(ErrorCode.UNAUTHENTICATED, "Sign in to do that.")
    if not ctx.is_moderator:
        raise UserFailure.of(ErrorCode.FORBIDDEN, "Only moderators grant badges.")
    member_id = decode_id(member_gid, "Member", field=["memberId"])
    reason = reason.strip() if reason else None
    if reason is not None and len(reason) > REASON_MAX:
        raise UserFailure.of(
            ErrorCode.INVALID, f"The reason is at most {REASON_MAX} characters.", ["reason"]
        )
    badge = await Badge.get_or_none(code=code.strip())
    if badge is None:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No badge has that code.", ["badgeCode"])
    if badge.kind != BadgeKind.MANUAL:
        raise UserFailure.of(
            ErrorCode.INVALID, "That badge is awarded by its rule, not by hand.", ["badgeCode"]
        )
    async with atomic():
        member = await Member.select_for_update(no_key=True).get_or_none(id=member_id)
        if member is None:
            raise UserFailure.of(ErrorCode.NOT_FOUND, "No member has that id.", ["memberId"])
        await award(member.pk, badge, reason or None)
    return member


async def badge_catalogue() -> list[Badge]:
    return await Badge.all().order_by("id")


async def awards_of(member_id: int, first: int | None, after: str | None) -> Page[BadgeAward]:
    """The member's badges, the latest awarded first."""
    return await queryset_page(BadgeAward.filter(member_id=member_id), AWARD_ORDER, first, after)
