"""The growth rules a mall tunes: levels and their privileges, what each action earns with
its daily cap, and the check-in bonus. Defaults are here; each can be replaced through
configuration (`MALLFORUM_LEVELS`, `MALLFORUM_EARNINGS`, `MALLFORUM_CHECK_IN`, as JSON).
"""

from __future__ import annotations

import itertools

from pydantic import BaseModel, Field, model_validator

from models import PointReason


class Privilege:
    """Privilege codes a level can grant; moderators and admins hold them all."""

    POST_IMAGES = "POST_IMAGES"
    POST_LINKS = "POST_LINKS"
    CREATE_POLL = "CREATE_POLL"
    PRODUCT_TRIALS = "PRODUCT_TRIALS"


#: What a privilege lets a member do, for the LEVEL_TOO_LOW message.
PRIVILEGE_ACTIONS = {
    Privilege.POST_IMAGES: "Posting images",
    Privilege.POST_LINKS: "Posting links to other sites",
    Privilege.CREATE_POLL: "Creating polls",
    Privilege.PRODUCT_TRIALS: "Product trials",
}


class LevelRule(BaseModel):
    """One member level; a level keeps every privilege of the levels below it."""

    level: int = Field(ge=0)
    name: str = Field(min_length=1, max_length=32)
    min_experience: int = Field(ge=0)
    privileges: list[str] = []


class Levels(BaseModel):
    """The level table: level 0 from 0 experience, then rising thresholds."""

    levels: list[LevelRule]

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        numbers = [rule.level for rule in self.levels]
        if numbers != list(range(len(numbers))) or not numbers:
            raise ValueError("levels must be numbered 0, 1, 2, ... in order")
        if self.levels[0].min_experience != 0:
            raise ValueError("level 0 must start at 0 experience")
        thresholds = [rule.min_experience for rule in self.levels]
        if any(a >= b for a, b in itertools.pairwise(thresholds)):
            raise ValueError("each level needs more experience than the one below")
        granted: list[str] = []  # privileges accumulate upwards
        for rule in self.levels:
            granted = list(dict.fromkeys([*granted, *rule.privileges]))
            rule.privileges = granted
        return self

    def of(self, level: int) -> LevelRule:
        """The rule of a stored level, clamped to the table."""
        return self.levels[max(0, min(level, len(self.levels) - 1))]

    def for_experience(self, experience: int) -> int:
        return max(rule.level for rule in self.levels if rule.min_experience <= experience)

    def lowest_granting(self, privilege: str) -> LevelRule | None:
        return next((rule for rule in self.levels if privilege in rule.privileges), None)


DEFAULT_LEVELS = [
    LevelRule(level=0, name="新人", min_experience=0),
    LevelRule(level=1, name="见习买家", min_experience=30, privileges=[Privilege.POST_IMAGES]),
    LevelRule(level=2, name="活跃买家", min_experience=150, privileges=[Privilege.POST_LINKS]),
    LevelRule(level=3, name="资深买家", min_experience=500, privileges=[Privilege.CREATE_POLL]),
    LevelRule(level=4, name="种草达人", min_experience=1200, privileges=[Privilege.PRODUCT_TRIALS]),
    LevelRule(level=5, name="优质达人", min_experience=3000),
    LevelRule(level=6, name="购物专家", min_experience=6000),
    LevelRule(level=7, name="社区明星", min_experience=12000),
    LevelRule(level=8, name="传奇会员", min_experience=25000),
]


class Earning(BaseModel):
    """What one action earns, and how many times a day it earns at most (null: no cap)."""

    experience: int = Field(default=0, ge=0)
    points: int = Field(default=0, ge=0)
    daily_cap: int | None = Field(default=None, ge=0)


DEFAULT_EARNINGS: dict[PointReason, Earning] = {
    PointReason.WELCOME_GIFT: Earning(experience=10, points=100),
    PointReason.TOPIC_CREATED: Earning(experience=10, points=5, daily_cap=5),
    PointReason.COMMENT_CREATED: Earning(experience=2, points=1, daily_cap=20),
    PointReason.LIKE_RECEIVED: Earning(experience=2, points=1, daily_cap=50),
    PointReason.ANSWER_ACCEPTED: Earning(experience=20, points=20, daily_cap=10),
    PointReason.TOPIC_FEATURED: Earning(experience=50, points=50, daily_cap=3),
    PointReason.CHECK_IN: Earning(experience=5),  # points: see CheckInRule
}

#: The actions whose amounts configuration may set (the others are amounts given per call).
EARNED_REASONS = frozenset(DEFAULT_EARNINGS)


class CheckInRule(BaseModel):
    """Check-in points: `base + min(streak − 1, bonus_days) × bonus_per_day`, plus
    `weekly_bonus` on every 7th consecutive day."""

    base: int = Field(default=5, ge=0)
    bonus_per_day: int = Field(default=1, ge=0)
    bonus_days: int = Field(default=5, ge=0)
    weekly_bonus: int = Field(default=20, ge=0)

    def points(self, streak: int) -> int:
        bonus = min(streak - 1, self.bonus_days) * self.bonus_per_day
        return self.base + bonus + (self.weekly_bonus if streak % 7 == 0 else 0)
