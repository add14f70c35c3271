"""Boards (版块): where topics are posted, each with the levels needed to see and to post."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

import models
import resolvers.topics
from mallforum.ids import encode_id
from resolvers import boards as board_resolvers
from schema.common import Connection, Info, Node, UserError, connection, context, payload

if TYPE_CHECKING:
    from schema.topics import Topic

TopicRef = Annotated["Topic", strawberry.lazy("schema.topics")]

BoardKind = strawberry.enum(models.BoardKind, description="What a board is about.")
TopicSort = strawberry.enum(
    resolvers.topics.TopicSort,
    description="LATEST: newest first. ACTIVE: most recent comment first. "
    "HOT: likes and comments, decayed by age. TOP: most liked first.",
)


@strawberry.type(description="A board (版块) of the community.")
class Board(Node):
    slug: str
    name: str
    description: str | None
    kind: BoardKind  # type: ignore[valid-type]
    min_level_to_view: int = strawberry.field(
        description="Members below this level do not see the board or its topics at all."
    )
    min_level_to_post: int
    topic_count: int = strawberry.field(description="Published topics in the board.")
    model: strawberry.Private[models.Board]

    @classmethod
    def of(cls, board: models.Board) -> Board:
        return cls(
            id=strawberry.ID(encode_id("Board", board.pk)),
            slug=board.slug,
            name=board.name,
            description=board.description,
            kind=board.kind,
            min_level_to_view=board.min_level_to_view,
            min_level_to_post=board.min_level_to_post,
            topic_count=board.topic_count,
            model=board,
        )

    @strawberry.field(description="Published topics of the board, in the order asked for.")
    async def topics(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        sort: TopicSort | None = TopicSort.LATEST,  # type: ignore[valid-type]
        tag: Annotated[
            str | None, strawberry.argument(description="Only topics with this tag.")
        ] = None,
    ) -> Connection[TopicRef]:
        from schema.topics import Topic  # import here: schema.topics imports this module

        page = await board_resolvers.board_topics(
            context(info), self.model, sort or TopicSort.LATEST, tag, first, after
        )
        return connection(page, Topic.of)

    @strawberry.field(
        description="Whether the viewer follows this board (its topics reach homeFeed)."
    )
    async def viewer_follows(self, info: Info) -> bool:
        return await context(info).loaders.followed_by_viewer.load(self.model.pk)


async def load_board(info: Info, board_id: int) -> Board | None:
    board = await board_resolvers.visible_board(context(info), board_id)
    return Board.of(board) if board else None


@strawberry.input(description="A new board.")
class CreateBoardInput:
    slug: str = strawberry.field(description="3 to 64 lowercase letters, digits and dashes.")
    name: str
    description: str | None = None
    kind: BoardKind  # type: ignore[valid-type]
    min_level_to_view: int | None = 0
    min_level_to_post: int | None = 0


@strawberry.type
class BoardPayload:
    board: Board | None = None
    errors: list[UserError]


@strawberry.type
class BoardQueries:
    @strawberry.field(description="Every board the viewer's level may see.")
    async def boards(self, info: Info) -> list[Board]:
        return [Board.of(b) for b in await board_resolvers.visible_boards(context(info))]

    @strawberry.field(description="A board by its slug; null when it is not there for the viewer.")
    async def board(self, info: Info, slug: str) -> Board | None:
        board = await board_resolvers.board_by_slug(context(info), slug)
        return Board.of(board) if board else None


@strawberry.type
class BoardMutations:
    @strawberry.mutation(description="Admins: a new board.")
    async def create_board(self, info: Info, input: CreateBoardInput) -> BoardPayload:
        work = board_resolvers.create_board(
            context(info),
            input.slug,
            input.name,
            input.description,
            input.kind,
            input.min_level_to_view or 0,
            input.min_level_to_post or 0,
        )
        return await payload(BoardPayload, work, Board.of, "board")

    @strawberry.mutation(description="Follow a board: its new topics reach the viewer's homeFeed.")
    async def follow_board(self, info: Info, board_id: strawberry.ID) -> BoardPayload:
        work = board_resolvers.set_follow(context(info), board_id, True)
        return await payload(BoardPayload, work, Board.of, "board")

    @strawberry.mutation(description="Stop following a board.")
    async def unfollow_board(self, info: Info, board_id: strawberry.ID) -> BoardPayload:
        work = board_resolvers.set_follow(context(info), board_id, False)
        return await payload(BoardPayload, work, Board.of, "board")
