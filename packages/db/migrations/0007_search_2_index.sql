-- parley:no-transaction
-- Full-text search over messages, part 2: the indexes, built with CREATE INDEX CONCURRENTLY, which
-- takes no lock that blocks inserts, edits or deletes (a plain CREATE INDEX would stop every write to
-- messages for the whole build). It cannot run inside a transaction, hence the header above: the runner
-- runs these statements one by one, and after a crash runs the file again from the top; it drops an
-- INVALID index left by an interrupted concurrent build before building it again.
--
-- Every message is indexed, deleted ones too (queries filter them out): the planner ignores the
-- statistics of a partial index, and without them it guesses that any word matches 0.5% of messages;
-- on 1,000,000 messages it then walked the created_at index backwards for a rare word (12 s instead of
-- 1 ms, bench/README.md). ANALYZE keeps word frequencies for this expression index.
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_search_idx
  ON messages USING gin (parley_search_vector(body));

-- `from:@handle` without words (or with very common ones): that author's messages, newest first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_author_created_idx
  ON messages (author_id, created_at DESC) WHERE deleted_at IS NULL;
