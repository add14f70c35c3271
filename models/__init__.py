"""Tortoise models, one module per area; constraints that protect data live in the database."""

from models.boards import Board, BoardFollow, BoardKind
from models.comments import Comment
from models.contests import (
    ChallengeCheckIn,
    Contest,
    ContestEntry,
    ContestKind,
    ContestPrize,
    ContestScore,
    ContestStatus,
    ContestVote,
)
from models.growth import (
    ActivityDay,
    Badge,
    BadgeAward,
    BadgeKind,
    CheckIn,
    PointReason,
    PointTransaction,
)
from models.likes import Like, LikeSubject
from models.members import Member, MemberRole, MemberStatus
from models.moderation import (
    ModerationCase,
    ModerationCaseStatus,
    ModerationLog,
    ModerationSource,
    Report,
    ReportReason,
    WordListAction,
    WordRule,
    WordRuleRevision,
)
from models.outbox import OutboxEvent
from models.polls import Poll, PollBallot, PollOption
from models.purchases import Purchase
from models.rewards import Redemption, RedemptionStatus, RewardItem
from models.topics import ContentStatus, TagFollow, Topic, TopicKind, TopicListing

__all__ = [
    "ActivityDay",
    "Badge",
    "BadgeAward",
    "BadgeKind",
    "Board",
    "BoardFollow",
    "BoardKind",
    "ChallengeCheckIn",
    "CheckIn",
    "Comment",
    "ContentStatus",
    "Contest",
    "ContestEntry",
    "ContestKind",
    "ContestPrize",
    "ContestScore",
    "ContestStatus",
    "ContestVote",
    "Like",
    "LikeSubject",
    "Member",
    "MemberRole",
    "MemberStatus",
    "ModerationCase",
    "ModerationCaseStatus",
    "ModerationLog",
    "ModerationSource",
    "OutboxEvent",
    "PointReason",
    "PointTransaction",
    "Poll",
    "PollBallot",
    "PollOption",
    "Purchase",
    "Redemption",
    "RedemptionStatus",
    "Report",
    "ReportReason",
    "RewardItem",
    "TagFollow",
    "Topic",
    "TopicKind",
    "TopicListing",
    "WordListAction",
    "WordRule",
    "WordRuleRevision",
]
