"""`node(id:)`: any entity by its global ID, as the viewer may see it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from mallforum.ids import parse_id
from schema.bindings import Info
from schema.boards import load_board
from schema.comments import load_comment
from schema.contest_entries import load_contest_entry
from schema.contests import load_contest
from schema.members import load_member
from schema.moderation import load_case, load_log_entry
from schema.polls import load_poll
from schema.relay import Node
from schema.rewards import load_redemption, load_reward_item
from schema.topics import load_topic
from schema.word_rules import load_word_rule

LOADERS: dict[str, Callable[[Info, int], Awaitable[Node | None]]] = {
    "Board": load_board,
    "Comment": load_comment,
    "Contest": load_contest,
    "ContestEntry": load_contest_entry,
    "Member": load_member,
    "ModerationCase": load_case,
    "ModerationLogEntry": load_log_entry,
    "Poll": load_poll,
    "Redemption": load_redemption,
    "RewardItem": load_reward_item,
    "Topic": load_topic,
    "WordRule": load_word_rule,
}


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="Any entity by its global ID; null when the viewer may not see it."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The global ID of an entity of any type."),
        ],
    ) -> Node | None:
        parsed = parse_id(id)
        if parsed is None or parsed[0] not in LOADERS:
            return None
        return await LOADERS[parsed[0]](info, parsed[1])
