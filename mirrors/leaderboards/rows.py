"""The rows each leaderboard counts, in PostgreSQL (or the embedded SQLite file): the
totals a rebuild writes, a member's totals a resync writes, and the answers given from
the rows when Redis cannot give them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import Tortoise

from mallforum.database import on_postgres
from mirrors.leaderboards.periods import Leaderboard, LeaderboardKind, Window
from mirrors.postgres import SNAPSHOT, as_utc, one_snapshot
from models import ContentStatus, LikeSubject, MemberStatus


class Sql:
    """Parameters of a statement being written, numbered for the database's dialect: each
    `param` call must come in the order its placeholder appears in the text."""

    def __init__(self) -> None:
        self.postgres = on_postgres()
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def tick(self, column: str, window: Window) -> str:
        """`column` (a time) cut to the score's precision, for ordering ties."""
        all_time = window.start is None
        if self.postgres:
            return f"date_trunc('{'second' if all_time else 'milliseconds'}', {column})"
        return f"substr({column}, 1, {19 if all_time else 23})"

    def within(self, column: str, window: Window) -> str:
        if window.start is None or window.end is None:
            return "TRUE" if self.postgres else "1"
        return f"({column} >= {self.param(window.start)} AND {column} < {self.param(window.end)})"


@dataclass(frozen=True)
class _Source:
    """One kind of row that counts: who it counts for, in which board, when, how much."""

    member: str
    board: str
    at: str
    amount: str
    tables: str
    where: str


PUBLISHED = f"'{ContentStatus.PUBLISHED.value}'"
SOURCES = {
    LeaderboardKind.EXPERIENCE: [
        _Source(
            "p.member_id",
            "p.board_id",
            "p.created_at",
            "p.experience",
            '"point_transaction" p',
            "p.experience <> 0",
        ),
    ],
    LeaderboardKind.POSTS: [
        _Source(
            "t.author_id", "t.board_id", "t.created_at", "1", '"topic" t', f"t.status = {PUBLISHED}"
        ),
        _Source(
            "c.author_id",
            "t.board_id",
            "c.created_at",
            "1",
            '"comment" c JOIN "topic" t ON t.id = c.topic_id',
            f"c.status = {PUBLISHED}",
        ),
    ],
    LeaderboardKind.LIKES_RECEIVED: [
        _Source(
            "t.author_id",
            "t.board_id",
            "l.created_at",
            "1",
            '"like" l JOIN "topic" t ON t.id = l.subject_id',
            f"l.subject_kind = '{LikeSubject.TOPIC.value}' AND t.status = {PUBLISHED}"
            " AND l.member_id <> t.author_id",
        ),
        _Source(
            "c.author_id",
            "t.board_id",
            "l.created_at",
            "1",
            '"like" l JOIN "comment" c ON c.id = l.subject_id JOIN "topic" t ON t.id = c.topic_id',
            f"l.subject_kind = '{LikeSubject.COMMENT.value}' AND c.status = {PUBLISHED}"
            " AND l.member_id <> c.author_id",
        ),
    ],
}


def counted_rows(
    kind: LeaderboardKind,
    sql: Sql,
    *,
    member_id: int | None = None,
    window: Window | None = None,
    board_id: int | None = None,
) -> str:
    """SELECT member_id, board_id, at, v: the rows counting for `kind`, optionally of one
    member, within one period, in one board."""
    parts = []
    for source in SOURCES[kind]:
        where = [source.where]
        if member_id is not None:
            where.append(f"{source.member} = {sql.param(member_id)}")
        if window is not None and window.start is not None:
            where.append(sql.within(source.at, window))
        if board_id is not None:
            where.append(f"{source.board} = {sql.param(board_id)}")
        parts.append(
            f"SELECT {source.member} AS member_id, {source.board} AS board_id,"
            f" {source.at} AS at, {source.amount} AS v FROM {source.tables}"
            f" WHERE {' AND '.join(where)}"
        )
    return " UNION ALL ".join(parts)


def totals_sql(board: Leaderboard, sql: Sql) -> str:
    """SELECT member_id, v (the total), at (the latest counted row): every member with rows
    on the leaderboard but the banned ones."""
    rows = counted_rows(board.kind, sql, window=board.window, board_id=board.board_id)
    return (
        f"SELECT x.member_id, SUM(x.v) AS v, MAX(x.at) AS at FROM ({rows}) x"
        ' JOIN "member" m ON m.id = x.member_id'
        f" WHERE m.status <> '{MemberStatus.BANNED.value}' GROUP BY x.member_id"
    )


async def query(sql: Sql, text: str) -> list[dict[str, Any]]:
    _, rows = await Tortoise.get_connection("default").execute_query(text, sql.params)
    return [dict(row) for row in rows]


async def top_from_rows(board: Leaderboard, size: int) -> list[tuple[int, int]]:
    sql = Sql()
    totals = totals_sql(board, sql)
    rows = await query(
        sql,
        f"SELECT a.member_id, a.v FROM ({totals}) a WHERE a.v > 0"
        f" ORDER BY a.v DESC, {sql.tick('a.at', board.window)} ASC, a.member_id ASC"
        f" LIMIT {int(size)}",
    )
    return [(int(row["member_id"]), int(row["v"])) for row in rows]


async def rank_from_rows(board: Leaderboard, member_id: int) -> tuple[int, int] | None:
    sql = Sql()
    totals = totals_sql(board, sql)
    me = sql.param(member_id)
    mine, theirs = sql.tick("me.at", board.window), sql.tick("a.at", board.window)
    rows = await query(
        sql,
        f"WITH a AS ({totals}), me AS (SELECT a.v, a.at FROM a WHERE a.member_id = {me}"
        " AND a.v > 0) SELECT me.v AS v, (SELECT COUNT(*) FROM a WHERE a.v > 0 AND"
        f" (a.v > me.v OR (a.v = me.v AND ({theirs} < {mine} OR ({theirs} = {mine}"
        f" AND a.member_id < {sql.param(member_id)}))))) AS ahead FROM me",
    )
    if not rows:
        return None
    return int(rows[0]["ahead"]) + 1, int(rows[0]["v"])


async def read_for_build(
    kind: LeaderboardKind, window: Window, board_id: int | None, by_board: bool
) -> tuple[str, list[Any]]:
    """The rows' totals (per member, or per board and member) and the PostgreSQL snapshot
    they were read in ('' on SQLite), in one repeatable-read transaction."""
    async with one_snapshot() as connection:
        snapshot = ""
        if on_postgres():
            _, found = await connection.execute_query(f"SELECT {SNAPSHOT} AS snapshot")
            snapshot = str(found[0]["snapshot"])
        sql = Sql()
        if by_board:
            rows = counted_rows(kind, sql, window=window)
            text = (
                f"SELECT x.board_id, x.member_id, SUM(x.v) AS v, MAX(x.at) AS at FROM ({rows}) x"
                ' JOIN "member" m ON m.id = x.member_id'
                f" WHERE m.status <> '{MemberStatus.BANNED.value}'"
                " GROUP BY x.board_id, x.member_id"
            )
        else:
            text = totals_sql(Leaderboard(kind, window, board_id), sql)
        _, rows_found = await connection.execute_query(text, sql.params)
    return snapshot, list(rows_found)


async def member_state(
    member_id: int, boards: Sequence[Leaderboard]
) -> tuple[str, dict[Leaderboard, tuple[int, datetime]]]:
    """The member's total and latest row on each of the leaderboards (missing: no rows, or
    banned), with the snapshot they were read in, in one repeatable-read transaction."""
    found: dict[Leaderboard, tuple[int, datetime]] = {}
    async with one_snapshot() as connection:
        snapshot = ""
        if on_postgres():
            _, rows = await connection.execute_query(
                f'SELECT "status", {SNAPSHOT} AS "snapshot" FROM "member" WHERE "id" = $1',
                [member_id],
            )
            snapshot = str(rows[0]["snapshot"])
        else:
            _, rows = await connection.execute_query(
                'SELECT "status" FROM "member" WHERE "id" = ?', [member_id]
            )
        if rows[0]["status"] == MemberStatus.BANNED.value:
            return snapshot, found
        for kind in dict.fromkeys(board.kind for board in boards):
            windows = list(dict.fromkeys(b.window for b in boards if b.kind == kind))
            found.update(await member_totals(kind, member_id, windows))
    return snapshot, found


async def member_totals(
    kind: LeaderboardKind, member_id: int, windows: Sequence[Window]
) -> dict[Leaderboard, tuple[int, datetime]]:
    """The member's total and latest row on each of `kind`'s leaderboards of the periods,
    in the community and in every board they have rows in."""
    sql = Sql()
    columns = []
    for n, window in enumerate(windows):
        inside = sql.within("x.at", window)
        # The same condition twice: each placeholder takes its own parameters.
        inside_again = sql.within("x.at", window)
        columns.append(
            f"SUM(CASE WHEN {inside} THEN x.v END) AS t{n},"
            f" MAX(CASE WHEN {inside_again} THEN x.at END) AS l{n}"
        )
    rows = counted_rows(kind, sql, member_id=member_id)
    found = await query(
        sql, f"SELECT x.board_id, {', '.join(columns)} FROM ({rows}) x GROUP BY x.board_id"
    )
    totals: dict[Leaderboard, tuple[int, datetime]] = {}
    for row in found:
        board_id = None if row["board_id"] is None else int(row["board_id"])
        for n, window in enumerate(windows):
            if row[f"l{n}"] is None:
                continue
            total, latest = int(row[f"t{n}"]), as_utc(row[f"l{n}"])
            for scope in dict.fromkeys([None, board_id]):
                board = Leaderboard(kind, window, scope)
                was_total, was_latest = totals.get(board, (0, latest))
                totals[board] = (was_total + total, max(was_latest, latest))
    return totals
