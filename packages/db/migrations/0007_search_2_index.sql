-- parley:no-transaction
-- Full-text search over messages, part 2: the indexes, built with CREATE INDEX CONCURRENTLY, which
-- takes no lock that blocks inserts, edits or deletes (a plain CREATE INDEX would stop every write to
-- messages for the whole build). It cannot run inside a transaction, hence the header above: the runner
-- runs these statements one by one, and after a crash runs the file again from the top; it drops an
-- INVALID index left by an interrupted concurrent build before building it again.
--
-- Only live messages are indexed: search never returns deleted ones (their body is emptied anyway).
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_search_idx
  ON messages USING gin (parley_search_vector(body)) WHERE deleted_at IS NULL;

-- `from:@handle` without words (or with very common ones): that author's messages, newest first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_author_created_idx
  ON messages (author_id, created_at DESC) WHERE deleted_at IS NULL;
