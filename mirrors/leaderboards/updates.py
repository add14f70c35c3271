"""Updates of the leaderboards after a change commits (see the package's docstring).

A change that adds to a member's totals (a ledger row, a like, content published) is an
ADD per leaderboard: commutative, so the order in which commits reach Redis does not
matter, and skipped when a rebuild or resync already read it. A change that takes rows
away (an unlike, content taken down) or a ban or its lifting is a RESYNC: after the
commit, the member's entries are read back from the rows and written as they are, unless
an update reached the member meanwhile (then read again), so the time of the latest row
left, which no delta can tell, is exact too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import Tortoise

from mallforum import missed_writes
from mallforum.clock import now
from mallforum.database import on_postgres
from mallforum.redis_store import REDIS_FAILURES, RedisStore
from mallforum.settings import Settings
from mallforum.transactions import after_commit
from mirrors.leaderboards.periods import (
    Leaderboard,
    LeaderboardKind,
    LeaderboardPeriod,
    live_windows,
    ranked_member,
    window_of,
)
from mirrors.leaderboards.rows import member_state
from mirrors.leaderboards.scripts import (
    ADD,
    REDIS_TIMEOUT_SECONDS,
    RESYNC,
    built_marker,
    run_scripts,
)
from mirrors.postgres import as_utc
from models import Board, Comment, ContentStatus, Like, LikeSubject, MemberStatus, Topic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """A row counting `amount` for a member on `kind`'s leaderboards, made at `at`."""

    member_id: int
    board_id: int | None
    at: datetime
    amount: int


@dataclass
class _Move:
    total: int = 0
    latest: datetime | None = None


def _moves(
    kind: LeaderboardKind, changes: Iterable[Change], moment: datetime, zone: ZoneInfo
) -> dict[Leaderboard, _Move]:
    """What the changes add to each leaderboard whose period holds them and may be in Redis."""
    moves: dict[Leaderboard, _Move] = {}
    for change in changes:
        for period in LeaderboardPeriod:
            window = window_of(period, change.at, zone)
            if not window.live(moment):
                continue
            for board_id in dict.fromkeys([None, change.board_id]):
                move = moves.setdefault(Leaderboard(kind, window, board_id), _Move())
                move.total += change.amount
                move.latest = change.at if move.latest is None else max(move.latest, change.at)
    return moves


async def _member_in_turn(member_id: int) -> tuple[bool, str]:
    """Lock the member's row, so that changes of their totals are made one at a time (the
    ledger, likes and publishing lock it too), and answer whether they are banned and the
    id of this transaction ('-' on SQLite)."""
    connection = Tortoise.get_connection("default")
    if on_postgres():
        _, rows = await connection.execute_query(
            'SELECT "status", pg_current_xact_id()::text AS "xid" FROM "member"'
            ' WHERE "id" = $1 FOR NO KEY UPDATE',
            [member_id],
        )
    else:
        _, rows = await connection.execute_query(
            'SELECT "status", \'-\' AS "xid" FROM "member" WHERE "id" = ?', [member_id]
        )
    return rows[0]["status"] == MemberStatus.BANNED.value, str(rows[0]["xid"])


async def _add(
    settings: Settings,
    store: RedisStore,
    kind: LeaderboardKind,
    xid: str,
    member_id: int,
    changes: list[Change],
) -> None:
    """Add the rows to the member's totals in Redis, in one round trip, once committed."""
    moves = _moves(kind, changes, now(), settings.zone)
    if not moves:
        return
    member = ranked_member(member_id)
    calls = [
        (
            board.member_keys(store.keys, member),
            [board.window.unit, xid, member, move.total, board.window.ticks(move.latest)],
        )
        for board, move in moves.items()
        if move.latest is not None
    ]

    async def add() -> None:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await run_scripts(store.client, ADD, calls)

    await after_commit(add)


async def _resync_later(store: RedisStore, member_id: int, boards: Iterable[Leaderboard]) -> None:
    """Rewrite the member's entries on those leaderboards from the rows, once committed."""
    chosen = list(dict.fromkeys(boards))
    if not chosen:
        return

    async def resync_committed() -> None:
        try:
            await resync(store, member_id, chosen)
        except REDIS_FAILURES:
            raise  # noted as missed by after_commit
        except Exception:  # the write has committed: it must not fail now
            log.exception("member %s not resynced: reconcile the leaderboards", member_id)
            missed_writes.note()

    await after_commit(resync_committed)


#: How many times a resync reads the rows again when updates keep reaching the member.
RESYNC_ATTEMPTS = 5
#: How long a resync's snapshot is kept for the member: far longer than an update can take
#: between its commit and Redis.
SYNCED_MS = 600_000


async def resync(store: RedisStore, member_id: int, boards: list[Leaderboard]) -> None:
    """Write the member's entries as the rows are now, on each leaderboard that is built.

    Reads each entry (and the leaderboard's built marker), then the rows, then writes them
    unless either changed meanwhile, in which case it reads again: the last write is always
    from rows read after every update that reached the entry before it."""
    client, keys, member = store.client, store.keys, ranked_member(member_id)
    pending = boards
    for _ in range(RESYNC_ATTEMPTS):
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            async with client.pipeline(transaction=False) as pipe:
                for board in pending:
                    built_marker(pipe, board, keys)
                    pipe.zscore(board.key(keys), member)
                seen = await pipe.execute()
        snapshot, rows = await member_state(member_id, pending)
        calls = []
        for n, board in enumerate(pending):
            marker, score = seen[2 * n], seen[2 * n + 1]
            total, latest = rows.get(board, (0, None))
            calls.append(
                (
                    board.member_keys(keys, member),
                    [
                        board.window.unit,
                        member,
                        marker[0] if marker else "",
                        "" if score is None else repr(score),
                        total,
                        "" if latest is None else board.window.ticks(latest),
                        snapshot,
                        SYNCED_MS,
                    ],
                )
            )
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            done = await run_scripts(client, RESYNC, calls)
        pending = [board for board, result in zip(pending, done, strict=True) if result == -1]
        if not pending:
            return
    log.warning(
        "member %s not resynced on %d leaderboards: reconcile them", member_id, len(pending)
    )
    missed_writes.note()


async def board_of(reference: str | None) -> int | None:
    """The board of the content a ledger row's reference names: "Topic:1", "Comment:2", or
    "Answer:2" (an accepted answer, a comment); None for anything else."""
    kind, _, pk = (reference or "").partition(":")
    if not pk.isdigit():
        return None
    if kind == "Topic":
        rows = Topic.filter(id=int(pk)).values_list("board_id", flat=True)
    elif kind in ("Comment", "Answer"):
        rows = Comment.filter(id=int(pk)).values_list("topic__board_id", flat=True)
    else:
        return None
    found: list[Any] = await rows
    return int(found[0]) if found else None


async def _board_of_subject(subject: Topic | Comment) -> int:
    if isinstance(subject, Topic):
        return subject.board_id
    found: list[Any] = await Topic.filter(id=subject.topic_id).values_list("board_id", flat=True)
    return int(found[0])


async def experience_posted(
    settings: Settings,
    store: RedisStore,
    member_id: int,
    experience: int,
    board_id: int | None,
    at: datetime,
) -> None:
    """The ledger wrote a row changing the member's experience; in its transaction. The
    ledger only grows (taking back is a negative row), so this is always an ADD."""
    if not experience:
        return
    banned, xid = await _member_in_turn(member_id)
    if not banned:
        change = Change(member_id, board_id, at, experience)
        await _add(settings, store, LeaderboardKind.EXPERIENCE, xid, member_id, [change])


async def like_changed(
    settings: Settings,
    store: RedisStore,
    subject: Topic | Comment,
    liker_id: int,
    at: datetime,
    liked: bool,
) -> None:
    """A like made at `at` was added to (or taken from) the locked subject; in its
    transaction. Counts for the author when by someone else on published content."""
    author_id = subject.author_id
    if liker_id == author_id or subject.status != ContentStatus.PUBLISHED:
        return
    banned, xid = await _member_in_turn(author_id)
    if banned:
        return
    change = Change(author_id, await _board_of_subject(subject), at, 1)
    kind = LeaderboardKind.LIKES_RECEIVED
    if liked:
        await _add(settings, store, kind, xid, author_id, [change])
    else:
        await _resync_later(store, author_id, _moves(kind, [change], now(), settings.zone))


async def content_shown(
    settings: Settings, store: RedisStore, subject: Topic | Comment, shown: bool
) -> None:
    """A topic or comment was published (or taken down: hidden, deleted, held): its post and
    the likes by others on it start (or stop) counting for its author. Call in the
    transaction that changed its status, after the change."""
    author_id = subject.author_id
    banned, xid = await _member_in_turn(author_id)
    if banned:
        return
    board_id = await _board_of_subject(subject)
    posts = [Change(author_id, board_id, subject.created_at, 1)]
    likes: list[Change] = []
    if subject.like_count:
        kind = LikeSubject.TOPIC if isinstance(subject, Topic) else LikeSubject.COMMENT
        times = await (
            Like.filter(subject_kind=kind, subject_id=subject.pk)
            .exclude(member_id=author_id)
            .values_list("created_at", flat=True)
        )
        likes = [Change(author_id, board_id, as_utc(at), 1) for at in times]
    if shown:
        await _add(settings, store, LeaderboardKind.POSTS, xid, author_id, posts)
        if likes:
            await _add(settings, store, LeaderboardKind.LIKES_RECEIVED, xid, author_id, likes)
    else:
        moment = now()
        await _resync_later(
            store,
            author_id,
            [
                *_moves(LeaderboardKind.POSTS, posts, moment, settings.zone),
                *_moves(LeaderboardKind.LIKES_RECEIVED, likes, moment, settings.zone),
            ],
        )


async def _everywhere(settings: Settings) -> list[Leaderboard]:
    """Every leaderboard that may be in Redis now: each kind, live period and board."""
    boards: list[Any] = await Board.all().values_list("id", flat=True)
    return [
        Leaderboard(kind, window, board_id)
        for kind in LeaderboardKind
        for window in live_windows(now(), settings.zone)
        for board_id in [None, *(int(i) for i in boards)]
    ]


async def ban_changed(settings: Settings, store: RedisStore, member_id: int) -> None:
    """The member was banned (off every leaderboard: a resync finds them banned) or their
    ban was lifted (back on them with their totals from the rows, which updates skipped
    while banned). In the transaction that banned or restored them."""
    await _resync_later(store, member_id, await _everywhere(settings))
