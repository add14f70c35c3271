"""Per-request DataLoaders: every related row a query path needs is loaded in batches.

Each loader is named for what it loads and by which key; results come back in key order.
A `Loaders` is created for each request, so nothing is cached across requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import partial
from typing import TypeVar

from strawberry.dataloader import DataLoader
from tortoise.functions import Max
from tortoise.models import Model

from mallforum.redis_store import RedisStore
from mirrors import contest_ranking, views
from models import (
    Badge,
    Board,
    BoardFollow,
    ChallengeCheckIn,
    Comment,
    ContentStatus,
    Contest,
    ContestEntry,
    ContestKind,
    ContestPrize,
    ContestStatus,
    ContestVote,
    Like,
    LikeSubject,
    Member,
    Poll,
    PollBallot,
    PollOption,
    Purchase,
    RewardItem,
    Topic,
)
from models.contests import status_of

M = TypeVar("M", bound=Model)


def _by_id(model: type[M]) -> DataLoader[int, M | None]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        rows = {row.pk: row for row in await model.filter(id__in=list(set(ids)))}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


class Loaders:
    """The DataLoaders of one request."""

    def __init__(self, viewer_id: int | None, redis: RedisStore) -> None:
        self.member_by_id: DataLoader[int, Member | None] = _by_id(Member)
        self.board_by_id: DataLoader[int, Board | None] = _by_id(Board)
        self.topic_by_id: DataLoader[int, Topic | None] = _by_id(Topic)
        self.comment_by_id: DataLoader[int, Comment | None] = _by_id(Comment)
        self.badge_by_id: DataLoader[int, Badge | None] = _by_id(Badge)
        self.reward_item_by_id: DataLoader[int, RewardItem | None] = _by_id(RewardItem)
        self.liked_by_viewer = DataLoader(load_fn=self._load_liked_by_viewer)
        self.followed_by_viewer = DataLoader(load_fn=self._load_followed_by_viewer)
        self.verified_buyer = DataLoader(load_fn=_load_verified_buyer)
        self.first_replies_by_root = DataLoader(load_fn=_load_first_replies_by_root)
        self.poll_by_id: DataLoader[int, Poll | None] = _by_id(Poll)
        self.poll_by_topic_id = DataLoader(load_fn=_load_poll_by_topic_id)
        self.options_by_poll_id = DataLoader(load_fn=_load_options_by_poll_id)
        self.ballot_of_viewer_by_poll_id = DataLoader(load_fn=self._load_ballot_of_viewer)
        self.contest_by_id: DataLoader[int, Contest | None] = _by_id(Contest)
        self.contest_entry_by_id: DataLoader[int, ContestEntry | None] = _by_id(ContestEntry)
        self.contest_prize_by_id: DataLoader[int, ContestPrize | None] = _by_id(ContestPrize)
        self.prizes_by_contest_id = DataLoader(load_fn=_load_prizes_by_contest_id)
        self.most_votes_by_contest_id = DataLoader(load_fn=_load_most_votes_by_contest_id)
        self.voted_by_viewer = DataLoader(load_fn=self._load_voted_by_viewer)
        self.entry_of_viewer_by_contest_id = DataLoader(load_fn=self._load_entry_of_viewer)
        self.last_check_in_of_viewer_by_contest_id = DataLoader(
            load_fn=self._load_last_check_in_of_viewer
        )
        self.contest_rank = DataLoader(load_fn=self._load_contest_ranks)
        #: PendingViewsByTopicId: views counted in Redis, not yet added to the topics' rows.
        self.pending_views_by_topic_id: DataLoader[int, int] = DataLoader(
            load_fn=partial(views.pending_views, redis)
        )
        self._viewer_id = viewer_id
        self._redis = redis

    def prime_many(self, loader: DataLoader[int, M | None], rows: Sequence[M]) -> None:
        for row in rows:
            loader.prime(row.pk, row)

    async def _load_liked_by_viewer(self, keys: Sequence[tuple[LikeSubject, int]]) -> list[bool]:
        """LikedByViewer: (subject kind, subject id) → whether the viewer likes it."""
        if self._viewer_id is None:
            return [False] * len(keys)
        liked = set(
            await Like.filter(
                member_id=self._viewer_id, subject_id__in=list({i for _, i in keys})
            ).values_list("subject_kind", "subject_id")
        )
        return [(kind, i) in liked for kind, i in keys]

    async def _load_followed_by_viewer(self, board_ids: Sequence[int]) -> list[bool]:
        """FollowedByViewer: board id → whether the viewer follows that board."""
        if self._viewer_id is None:
            return [False] * len(board_ids)
        followed = set(
            await BoardFollow.filter(
                member_id=self._viewer_id, board_id__in=list(set(board_ids))
            ).values_list("board_id", flat=True)
        )
        return [i in followed for i in board_ids]

    async def _load_ballot_of_viewer(self, poll_ids: Sequence[int]) -> list[PollBallot | None]:
        """BallotOfViewerByPollId: poll id → the viewer's ballot in that poll, if any."""
        if self._viewer_id is None:
            return [None] * len(poll_ids)
        ballots = {
            ballot.poll_id: ballot
            for ballot in await PollBallot.filter(
                member_id=self._viewer_id, poll_id__in=list(set(poll_ids))
            )
        }
        return [ballots.get(i) for i in poll_ids]

    async def _load_voted_by_viewer(self, entry_ids: Sequence[int]) -> list[bool]:
        """VotedByViewer: contest entry id → whether the viewer voted for it."""
        if self._viewer_id is None:
            return [False] * len(entry_ids)
        voted = set(
            await ContestVote.filter(
                member_id=self._viewer_id, entry_id__in=list(set(entry_ids))
            ).values_list("entry_id", flat=True)
        )
        return [i in voted for i in entry_ids]

    async def _load_entry_of_viewer(self, contest_ids: Sequence[int]) -> list[ContestEntry | None]:
        """EntryOfViewerByContestId: contest id → the viewer's entry in it, if any."""
        if self._viewer_id is None:
            return [None] * len(contest_ids)
        entries = {
            entry.contest_id: entry
            for entry in await ContestEntry.filter(
                author_id=self._viewer_id, contest_id__in=list(set(contest_ids))
            )
        }
        return [entries.get(i) for i in contest_ids]

    async def _load_last_check_in_of_viewer(self, contest_ids: Sequence[int]) -> list[date | None]:
        """LastCheckInOfViewerByContestId: challenge id → the viewer's latest check-in day."""
        if self._viewer_id is None:
            return [None] * len(contest_ids)
        rows = (
            await ChallengeCheckIn.filter(
                member_id=self._viewer_id, contest_id__in=list(set(contest_ids))
            )
            .group_by("contest_id")
            .annotate(last=Max("day"))
            .values("contest_id", "last")
        )
        days = {row["contest_id"]: row["last"] for row in rows}
        return [days.get(i) for i in contest_ids]

    async def _load_contest_ranks(self, entry_ids: Sequence[int]) -> list[int | None]:
        """ContestRank: entry id → its rank: live while votes count (mirrors.contest_ranking),
        final once finalized, 1 for a member who completed a challenge; null otherwise."""
        entries = [e for e in await self.contest_entry_by_id.load_many(entry_ids) if e]
        ranks: dict[int, int | None] = {}
        by_contest: dict[int, list[ContestEntry]] = {}
        for entry in entries:
            by_contest.setdefault(entry.contest_id, []).append(entry)
        for contest_id, members in by_contest.items():
            contest = await self.contest_by_id.load(contest_id)
            if contest is None:
                continue
            status = status_of(contest)
            if contest.kind == ContestKind.CHALLENGE:
                ranks.update({e.pk: 1 if e.completed_at else None for e in members})
            elif status == ContestStatus.FINISHED:
                ranks.update({e.pk: e.final_rank for e in members})
            elif status in (ContestStatus.OPEN, ContestStatus.VOTING):
                live = await contest_ranking.live_ranks(
                    self._redis, contest_id, [e.pk for e in members]
                )
                ranks.update(live)
        return [ranks.get(i) for i in entry_ids]


async def _load_verified_buyer(keys: Sequence[tuple[str, str]]) -> list[bool]:
    """VerifiedBuyer: (mall user id, sku) → whether the mall reported that purchase."""
    bought = set(
        await Purchase.filter(
            mall_user_id__in=list({u for u, _ in keys}), sku__in=list({s for _, s in keys})
        )
        .distinct()
        .values_list("mall_user_id", "sku")
    )
    return [key in bought for key in keys]


async def _load_poll_by_topic_id(topic_ids: Sequence[int]) -> list[Poll | None]:
    """PollByTopicId: topic id → the topic's poll, if it has one."""
    polls = {poll.topic_id: poll for poll in await Poll.filter(topic_id__in=list(set(topic_ids)))}
    return [polls.get(i) for i in topic_ids]


async def _load_options_by_poll_id(poll_ids: Sequence[int]) -> list[list[PollOption]]:
    """OptionsByPollId: poll id → its options in the order the author wrote them."""
    options: dict[int, list[PollOption]] = {i: [] for i in poll_ids}
    rows = await PollOption.filter(poll_id__in=list(options)).order_by("poll_id", "position")
    for option in rows:
        options[option.poll_id].append(option)
    return [options[i] for i in poll_ids]


async def _load_prizes_by_contest_id(contest_ids: Sequence[int]) -> list[list[ContestPrize]]:
    """PrizesByContestId: contest id → its prize bands, from rank 1 down."""
    prizes: dict[int, list[ContestPrize]] = {i: [] for i in contest_ids}
    bands = ContestPrize.filter(contest_id__in=list(prizes))
    for prize in await bands.order_by("contest_id", "rank_from"):
        prizes[prize.contest_id].append(prize)
    return [prizes[i] for i in contest_ids]


async def _load_most_votes_by_contest_id(contest_ids: Sequence[int]) -> list[int]:
    """MostVotesByContestId: contest id → the most votes any published entry of it has."""
    rows = (
        await ContestEntry.filter(
            contest_id__in=list(set(contest_ids)), topic__status=ContentStatus.PUBLISHED
        )
        .group_by("contest_id")
        .annotate(most=Max("vote_count"))
        .values("contest_id", "most")
    )
    most = {row["contest_id"]: int(row["most"] or 0) for row in rows}
    return [most.get(i, 0) for i in contest_ids]


async def _load_first_replies_by_root(keys: Sequence[tuple[int, int]]) -> list[list[Comment]]:
    """FirstRepliesByRoot: (root comment id, n) → the thread's first n published replies,
    oldest first: one statement per distinct n, numbering the replies within each thread.

    Raw SQL because the ORM has no window functions; it holds only integers and a constant,
    and runs on PostgreSQL and SQLite alike."""
    threads: dict[tuple[int, int], list[Comment]] = {key: [] for key in keys}
    for n in {n for _, n in keys}:
        roots = ",".join(str(int(root_id)) for root_id, size in threads if size == n)
        replies: list[Comment] = await Comment.raw(
            'SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "root_id" ORDER BY "id")'
            f' AS "reply_number" FROM "comment" WHERE "root_id" IN ({roots})'
            f' AND "status" = \'{ContentStatus.PUBLISHED.value}\') AS "numbered"'
            f' WHERE "reply_number" <= {int(n)} ORDER BY "root_id", "id"'
        )
        for reply in replies:
            threads[(reply.root_id, n)].append(reply)
    return [threads[key] for key in keys]
