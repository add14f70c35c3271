"""Boards (版块): where topics are posted, each with the levels needed to see and to post."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

import models
import resolvers.feeds
from mallforum.ids import encode_id
from resolvers import boards as board_resolvers
from schema.bindings import Info, context, described_enum
from schema.payloads import ERRORS, UserError, payload
from schema.relay import After, Connection, First, Node, connection

if TYPE_CHECKING:
    from schema.topics import Topic

TopicRef = Annotated["Topic", strawberry.lazy("schema.topics")]

BoardKind = described_enum(
    models.BoardKind,
    "What a board is about.",
    {
        "PRODUCT": "About a product or a product line of the mall.",
        "INTEREST": "About a hobby or interest that shoppers share.",
        "REGION": "For the members of one city or region.",
        "PRIVILEGE": "For members who hold a privilege, such as a high enough level.",
        "ANNOUNCEMENT": "News from the community's staff: only moderators post there.",
    },
)
TopicSort = described_enum(
    resolvers.feeds.TopicSort,
    "The order a list of topics comes in.",
    {
        "LATEST": "Newest first.",
        "ACTIVE": "Most recent comment first.",
        "HOT": "Likes and comments, decayed by age.",
        "TOP": "Most liked first.",
    },
)


@strawberry.type(description="A board (版块) of the community.")
class Board(Node):
    slug: str = strawberry.field(
        description="The board's unique short name, lowercase; `board(slug:)` finds it by this."
    )
    name: str = strawberry.field(description="The board's display name.")
    description: str | None = strawberry.field(
        description="What the board is for; null when the admins gave none."
    )
    kind: BoardKind = strawberry.field(  # type: ignore[valid-type]
        description="What the board is about."
    )
    min_level_to_view: int = strawberry.field(
        description="Members below this level do not see the board or its topics at all."
    )
    min_level_to_post: int = strawberry.field(
        description="Members below this level may not post here; moderators always may."
    )
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
        first: First = None,
        after: After = None,
        sort: Annotated[  # type: ignore[valid-type]
            TopicSort | None,
            strawberry.argument(description="The order of the topics (default LATEST)."),
        ] = TopicSort.LATEST,
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


BoardId = Annotated[strawberry.ID, strawberry.argument(description="The board's global ID.")]


async def load_board(info: Info, board_id: int) -> Board | None:
    board = await board_resolvers.visible_board(context(info), board_id)
    return Board.of(board) if board else None


@strawberry.input(description="A new board.")
class CreateBoardInput:
    slug: str = strawberry.field(
        description="3 to 64 lowercase letters, digits and dashes; unique among boards."
    )
    name: str = strawberry.field(description="The display name, 1 to 64 characters.")
    description: str | None = strawberry.field(
        default=None, description="What the board is for, at most 2,000 characters."
    )
    kind: BoardKind = strawberry.field(  # type: ignore[valid-type]
        description="What the board is about."
    )
    min_level_to_view: int | None = strawberry.field(
        default=0, description="Lowest member level that sees the board, 0 to 100 (0: everyone)."
    )
    min_level_to_post: int | None = strawberry.field(
        default=0,
        description="Lowest member level that may post, 0 to 100; never below minLevelToView.",
    )


@strawberry.type(description="What a board mutation answers: the board, or why not.")
class BoardPayload:
    board: Board | None = strawberry.field(
        default=None, description="The board; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class BoardQueries:
    @strawberry.field(description="Every board the viewer's level may see.")
    async def boards(self, info: Info) -> list[Board]:
        return [Board.of(b) for b in await board_resolvers.visible_boards(context(info))]

    @strawberry.field(description="A board by its slug; null when it is not there for the viewer.")
    async def board(
        self,
        info: Info,
        slug: Annotated[
            str, strawberry.argument(description="The board's slug; case does not matter.")
        ],
    ) -> Board | None:
        board = await board_resolvers.board_by_slug(context(info), slug)
        return Board.of(board) if board else None


@strawberry.type
class BoardMutations:
    @strawberry.mutation(description="Admins.")
    async def create_board(
        self,
        info: Info,
        input: Annotated[CreateBoardInput, strawberry.argument(description="The new board.")],
    ) -> BoardPayload:
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

    @strawberry.mutation(
        description="Signed-in members: follow a board, so its new topics reach their homeFeed."
    )
    async def follow_board(self, info: Info, board_id: BoardId) -> BoardPayload:
        work = board_resolvers.set_follow(context(info), board_id, True)
        return await payload(BoardPayload, work, Board.of, "board")

    @strawberry.mutation(description="Signed-in members: stop following a board.")
    async def unfollow_board(self, info: Info, board_id: BoardId) -> BoardPayload:
        work = board_resolvers.set_follow(context(info), board_id, False)
        return await payload(BoardPayload, work, Board.of, "board")
