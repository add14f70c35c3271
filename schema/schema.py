"""The schema: every area's queries and mutations, assembled, with the operation limits."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import strawberry
from graphql import DocumentNode, GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import ExecutionContext

from mallforum import metrics
from mallforum.errors import QueryError
from schema.answers import AnswerMutations
from schema.boards import BoardMutations, BoardQueries
from schema.comments import Comment, CommentMutations
from schema.contest_entries import ContestEntry, ContestEntryMutations
from schema.contests import Contest, ContestMutations, ContestQueries
from schema.growth import Badge, GrowthMutations, GrowthQueries, PointTransaction
from schema.leaderboards import LeaderboardQueries
from schema.likes import LikeMutations
from schema.lottery import LotteryMutations
from schema.members import Member, MemberMutations, MemberQueries
from schema.moderation import (
    ModerationCase,
    ModerationLogEntry,
    ModerationMutations,
    ModerationQueries,
)
from schema.nodes import NodeQueries
from schema.polls import Poll, PollMutations
from schema.rewards import Redemption, RewardItem, RewardMutations, RewardQueries
from schema.subscriptions import Subscription
from schema.topics import Topic, TopicMutations, TopicQueries
from schema.word_rules import WordRule, WordRuleMutations, WordRuleQueries

log = logging.getLogger("mallforum.graphql")

SDL_PATH = Path(__file__).with_name("schema.graphql")
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4000


@strawberry.type(description="What can be read: entities by ID, members, boards, topics and feeds.")
class Query(
    NodeQueries,
    MemberQueries,
    BoardQueries,
    TopicQueries,
    ContestQueries,
    GrowthQueries,
    LeaderboardQueries,
    RewardQueries,
    ModerationQueries,
    WordRuleQueries,
):
    """Every area's queries, merged."""


@strawberry.type(
    description="What can be written; expected failures come back in each payload's errors."
)
class Mutation(
    TopicMutations,
    CommentMutations,
    LikeMutations,
    PollMutations,
    AnswerMutations,
    BoardMutations,
    ContestMutations,
    ContestEntryMutations,
    MemberMutations,
    GrowthMutations,
    RewardMutations,
    ModerationMutations,
    WordRuleMutations,
    LotteryMutations,
):
    """Every area's mutations, merged."""


def _is_unexpected(error: GraphQLError) -> bool:
    """Errors of the operation itself (syntax, validation, limits) and QueryErrors are shown;
    anything a resolver raised by surprise is masked."""
    original = error.original_error
    return original is not None and not isinstance(original, QueryError | GraphQLError)


class DocumentCache:
    """Each distinct query text parsed and validated once per process, not per request.

    The apps send a few dozen fixed operations, and parsing and validating one costs a few
    milliseconds of CPU; both depend only on the text (and the schema, fixed per process).
    An LRU of `size` texts bounds the memory that unique texts sent by anyone can take.
    Texts that fail to parse are not kept."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.documents: OrderedDict[str, tuple[DocumentNode, list[GraphQLError] | None]] = (
            OrderedDict()
        )

    def extension(self) -> SchemaExtension:
        cache = self

        class CachedDocuments(SchemaExtension):
            def on_parse(self) -> Iterator[None]:
                context = self.execution_context
                if context.query is not None and context.query in cache.documents:
                    cache.documents.move_to_end(context.query)
                    context.graphql_document = cache.documents[context.query][0]
                yield

            def on_validate(self) -> Iterator[None]:
                context = self.execution_context
                query, document = context.query, context.graphql_document
                if query is None or document is None:
                    yield
                    return
                known = cache.documents.get(query)
                if known is not None and known[1] is not None:
                    context.pre_execution_errors = known[1]
                yield
                cache.documents[query] = (document, context.pre_execution_errors)
                cache.documents.move_to_end(query)
                while len(cache.documents) > cache.size:
                    cache.documents.popitem(last=False)

        return CachedDocuments()


class MallforumSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        request_id = getattr(getattr(execution_context, "context", None), "request_id", "-")
        for error in errors:
            if _is_unexpected(error):
                log.error("request %s: %s", request_id, error, exc_info=error.original_error)
            if error.path is not None:  # raised while executing, not parsing or validating
                code = (error.extensions or {}).get("code")
                unexpected = "UNEXPECTED" if _is_unexpected(error) else "GRAPHQL"
                metrics.RESOLVER_ERRORS.labels(str(code or unexpected)).inc()


def build_schema(mask_errors: bool = True) -> strawberry.Schema:
    documents = DocumentCache()
    extensions: list = [
        documents.extension,
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if mask_errors:
        extensions.append(lambda: MaskErrors(should_mask_error=_is_unexpected))
    return MallforumSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            Topic,
            Comment,
            Member,
            Badge,
            PointTransaction,
            RewardItem,
            Redemption,
            ModerationCase,
            ModerationLogEntry,
            WordRule,
            Contest,
            ContestEntry,
            Poll,
        ],
        extensions=extensions,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
