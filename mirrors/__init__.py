"""What Redis keeps for speed and can rebuild from PostgreSQL, which holds the truth: the
leaderboards, topic views, like and comment tallies, each board's HOT order, the members
active each day and the contests' live rankings, with their locks, their rebuilds and the
reconcile after Redis missed writes.

Every function takes the Redis store as an argument. Writes reach Redis once the truth has
committed (`mallforum.transactions.after_commit`); reads answer from PostgreSQL whenever
Redis cannot, and a key Redis lost is rebuilt from the rows by the first reader to miss it.
"""

#: Reads that the database can answer instead give Redis this long. Writes are bounded by
#: the client's own socket timeout (`RedisStore.connect`): a copy of committed data given up
#: early would be missed for nothing when the event loop, not Redis, is slow.
READ_TIMEOUT_SECONDS = 0.25
