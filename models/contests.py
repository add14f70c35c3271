"""Campaigns: UGC contests (有奖征集) with votes and judges, and check-in challenges (打卡挑战).

A contest's status follows the clock (`status_of`); only its end states are stored:
`finalized_at` (FINISHED) and `cancelled_at` (CANCELLED).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from mallforum.clock import now


class ContestKind(StrEnum):
    SUBMISSION = "SUBMISSION"
    CHALLENGE = "CHALLENGE"


class Contest(Model):
    """A campaign in one board: its windows, voting rules and prizes."""

    id = fields.BigIntField(primary_key=True)
    board = fields.ForeignKeyField("mallforum.Board", related_name=False, on_delete=fields.RESTRICT)
    board_id: int
    title = fields.CharField(max_length=120)
    description = fields.TextField()
    rules = fields.TextField(null=True)
    kind = fields.CharEnumField(ContestKind, max_length=16)
    starts_at = fields.DatetimeField()
    submission_ends_at = fields.DatetimeField()
    voting_ends_at = fields.DatetimeField(null=True)
    votes_per_member = fields.IntField(default=1)
    required_check_ins = fields.IntField(null=True)
    #: CHALLENGE: whether the check-ins must fall on consecutive days.
    consecutive_check_ins = fields.BooleanField(default=False)
    judge_weight = fields.FloatField(default=0)
    entry_count = fields.IntField(default=0)
    created_by = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    created_by_id: int
    created_at = fields.DatetimeField()
    finalized_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "contest"
        indexes = [Index(fields=("board_id", "id"), name="contest_board_idx")]
        constraints = [
            CheckConstraint(check="submission_ends_at > starts_at", name="contest_windows_ordered"),
            CheckConstraint(
                check="voting_ends_at IS NULL OR voting_ends_at >= submission_ends_at",
                name="contest_voting_after_submission",
            ),
            CheckConstraint(check="votes_per_member >= 1", name="contest_votes_positive"),
            CheckConstraint(
                check="judge_weight >= 0 AND judge_weight <= 1", name="contest_judge_weight_range"
            ),
            CheckConstraint(check="entry_count >= 0", name="contest_entries_not_negative"),
        ]


class ContestPrize(Model):
    """A prize band: ranks `rank_from`..`rank_to` win points, a badge and a mall reward."""

    id = fields.BigIntField(primary_key=True)
    contest = fields.ForeignKeyField(
        "mallforum.Contest", related_name=False, on_delete=fields.CASCADE
    )
    contest_id: int
    rank_from = fields.IntField()
    rank_to = fields.IntField()
    title = fields.CharField(max_length=64)
    points = fields.IntField(default=0)
    badge = fields.ForeignKeyField(
        "mallforum.Badge", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    badge_id: int | None
    mall_reward_code = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "contest_prize"
        constraints = [
            CheckConstraint(
                check="rank_from >= 1 AND rank_to >= rank_from", name="contest_prize_ranks"
            ),
            CheckConstraint(check="points >= 0", name="contest_prize_points_not_negative"),
        ]


class ContestEntry(Model):
    """A member's entry (a topic of kind CONTEST_ENTRY), or their part in a challenge (its
    topic is the first check-in): one per member per contest."""

    id = fields.BigIntField(primary_key=True)
    contest = fields.ForeignKeyField(
        "mallforum.Contest", related_name=False, on_delete=fields.RESTRICT
    )
    topic = fields.ForeignKeyField(
        "mallforum.Topic", related_name=False, unique=True, on_delete=fields.RESTRICT
    )
    author = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    contest_id: int
    topic_id: int
    author_id: int
    vote_count = fields.IntField(default=0)
    #: The judges' mean score, kept with their scores.
    judge_score = fields.FloatField(null=True)
    #: Fixed by finalizeContest.
    final_score = fields.FloatField(null=True)
    final_rank = fields.IntField(null=True)
    prize = fields.ForeignKeyField(
        "mallforum.ContestPrize", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    prize_id: int | None
    #: CHALLENGE: check-ins so far, and when the required ones were reached.
    check_in_count = fields.IntField(default=0)
    completed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "contest_entry"
        unique_together = (("contest", "author"),)
        indexes = [Index(fields=("contest_id", "id"), name="contest_entry_contest_idx")]
        constraints = [
            CheckConstraint(check="vote_count >= 0", name="contest_entry_votes_not_negative"),
        ]


class ContestVote(Model):
    """A member's vote for an entry: at most one per entry, unique in the database."""

    id = fields.BigIntField(primary_key=True)
    contest = fields.ForeignKeyField(
        "mallforum.Contest", related_name=False, on_delete=fields.RESTRICT
    )
    entry = fields.ForeignKeyField(
        "mallforum.ContestEntry", related_name=False, on_delete=fields.RESTRICT
    )
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    contest_id: int
    entry_id: int
    member_id: int
    created_at = fields.DatetimeField()

    class Meta:
        table = "contest_vote"
        unique_together = (("entry", "member"),)
        indexes = [Index(fields=("contest_id", "member_id"), name="contest_vote_member_idx")]


class ContestScore(Model):
    """A judge's (moderator's) score of an entry: scoring again replaces it."""

    id = fields.BigIntField(primary_key=True)
    entry = fields.ForeignKeyField(
        "mallforum.ContestEntry", related_name=False, on_delete=fields.RESTRICT
    )
    judge = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    entry_id: int
    judge_id: int
    score = fields.FloatField()
    scored_at = fields.DatetimeField()

    class Meta:
        table = "contest_score"
        unique_together = (("entry", "judge"),)


class ChallengeCheckIn(Model):
    """One day's check-in post in a challenge: once per member per calendar day."""

    id = fields.BigIntField(primary_key=True)
    contest = fields.ForeignKeyField(
        "mallforum.Contest", related_name=False, on_delete=fields.RESTRICT
    )
    member = fields.ForeignKeyField(
        "mallforum.Member", related_name=False, on_delete=fields.RESTRICT
    )
    topic = fields.ForeignKeyField(
        "mallforum.Topic", related_name=False, unique=True, on_delete=fields.RESTRICT
    )
    contest_id: int
    member_id: int
    topic_id: int
    day = fields.DateField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "challenge_check_in"
        unique_together = (("contest", "member", "day"),)


class ContestStatus(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    OPEN = "OPEN"
    VOTING = "VOTING"
    FINISHED = "FINISHED"
    CANCELLED = "CANCELLED"


def closes_at(contest: Contest) -> datetime:
    """When the last window ends: voting for a SUBMISSION contest, check-ins for a CHALLENGE."""
    return contest.voting_ends_at or contest.submission_ends_at


def status_of(contest: Contest, at: datetime | None = None) -> ContestStatus:
    """Where the contest stands at `at` (now): SCHEDULED, OPEN, then VOTING for a SUBMISSION
    contest until finalized; FINISHED once finalized (a CHALLENGE once its window ended);
    CANCELLED. DRAFT is never used."""
    at = at or now()
    if contest.cancelled_at is not None:
        return ContestStatus.CANCELLED
    if contest.finalized_at is not None:
        return ContestStatus.FINISHED
    if at < contest.starts_at:
        return ContestStatus.SCHEDULED
    if at < contest.submission_ends_at:
        return ContestStatus.OPEN
    return ContestStatus.FINISHED if contest.kind == ContestKind.CHALLENGE else ContestStatus.VOTING
