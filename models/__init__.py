"""Tortoise models, one module per area; constraints that protect data live in the database."""

from models.boards import Board, BoardFollow, BoardKind
from models.comments import Comment
from models.likes import Like, LikeSubject
from models.members import Member, MemberRole, MemberStatus
from models.purchases import Purchase
from models.topics import ContentStatus, TagFollow, Topic, TopicKind, TopicListing

__all__ = [
    "Board",
    "BoardFollow",
    "BoardKind",
    "Comment",
    "ContentStatus",
    "Like",
    "LikeSubject",
    "Member",
    "MemberRole",
    "MemberStatus",
    "Purchase",
    "TagFollow",
    "Topic",
    "TopicKind",
    "TopicListing",
]
