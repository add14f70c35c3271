"""Leaderboards: who earned the most experience, received the most likes or published the
most, today, this week, this month or ever, in the whole community or in one board.

PostgreSQL holds the truth; each leaderboard is a Redis sorted set mirroring it:

- EXPERIENCE sums the `experience` of the ledger rows made in the period, negative ones
  (content removed) included. A board's sums the rows about its content (`board_id`, which
  the ledger sets from the row's reference); check-ins, gifts and prizes count only on the
  community's leaderboards.
- LIKES_RECEIVED counts the likes by others, made in the period, on the member's published
  topics and comments (what `Member.likes_received` counts, placed in time by each like).
- POSTS counts the member's published topics and comments created in the period.

Periods are the calendar day, the ISO week (from Monday) and the calendar month in
MALLFORUM_TIMEZONE, and all time. Banned members are on none: a ban takes them off, updates
skip them while banned, and lifting the ban puts their totals back from the rows.

Order: the higher total first; equal totals by who reached them first, that is whose latest
counted row (ledger row, like, post) is older, to the millisecond (to the second for all
time); then the lower member id. Only totals above zero are ranked.

The Redis score packs both as `-total × 2^k + ticks`: ticks are the milliseconds from the
period's start to the latest counted row (seconds from 2020-01-01 for all time) and 2^k is
above the longest period, k = 27 (a day), 30 (a week), 32 (a month), 31 (all time, until
2088). Scores are doubles, exact below 2^53, so totals are exact up to 2^26 in a day, 2^23
in a week, 2^21 in a month and 2^22 all time (67, 8.3, 2 and 4.1 million), far beyond what
a member reaches. The lowest score ranks first: `ZRANGE BYSCORE -inf (0 LIMIT 0 n` is the
top n and `1 + ZRANK` a member's rank, in O(log N + n), then one batched load of members.

Updates, once the transaction commits (`after_commit`), for every leaderboard an event
touches (kind × the periods its rows fall in × the community and the board):

- what adds rows (a ledger row, a like, content published) is an ADD per leaderboard, all
  pipelined in one round trip: total += n, latest = max(latest, the rows' time). Commutative,
  so commits may reach Redis in any order;
- what takes rows away (an unlike, content hidden or deleted) or bans or restores a member
  is a RESYNC: the member's entries are read back from the rows, in one snapshot, and
  written as they are (the latest row left is something no delta can tell), unless an
  update reached the entry or the leaderboard was rebuilt between the two reads: then it
  reads again. One round trip to read, one query, one round trip to write.

A leaderboard holds a marker member (`~built:<snapshot>`, scored +inf) once built; without it
(expired, flushed, evicted) it is cold: updates skip it, and the next read rebuilds it, that
key alone, from the rows. One reader takes its build lock (SET NX PX), the others wait for
it up to `WAIT_FOR_BUILD_SECONDS`, then answer from the rows. The rebuild reads the rows in
one PostgreSQL snapshot and writes a draft renamed over the key; updates arriving meanwhile
are queued and applied after it. Each ADD carries its transaction's id, and is skipped when
the snapshot of the rebuild (or of the member's last resync) already holds that transaction
(`pg_current_snapshot()`): nothing is counted twice or lost, whatever the order in which
commits, rebuilds and resyncs meet. When Redis does not answer, the rows answer, the same way.

Keys expire a day (`GRACE`) after their period ends, so a late update near the boundary
still lands and the closing standings stay readable for a day; all-time keys never expire.

The modules, in the order a reader meets them: `periods` (kinds, periods, windows, keys),
`scripts` (the Lua scripts and the built marker), `rows` (what PostgreSQL counts), `build`
(rebuilding a key, or all of them), `read` (the top n and a member's place), `updates`
(ADD and RESYNC after each commit).
"""
