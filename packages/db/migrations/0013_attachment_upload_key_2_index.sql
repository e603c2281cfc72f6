-- parley:no-transaction
-- Staging upload keys, part 2: the sweeper's index, built with CREATE INDEX CONCURRENTLY so sends (chat's
-- send statement touches attachments) and uploads go on during the build; see 0007_search_2_index.sql
-- for how the runner runs such a file and rebuilds an index an interrupted build left INVALID.
--
-- The sweeper's staging pass: live direct uploads whose URL has expired (few rows have a staging key).
CREATE INDEX CONCURRENTLY IF NOT EXISTS attachments_upload_key_idx
  ON attachments (created_at) WHERE upload_key IS NOT NULL AND deleted_at IS NULL;
