-- Direct uploads go to a staging object (upload_key), never to the final key: the presigned PUT URL
-- stays usable for ATTACHMENT_URL_TTL_SECONDS, so a PUT replayed after admin checked and re-encoded
-- the file only ever rewrites the staging object, which nothing serves. upload_key stays set while a
-- staging object may still appear (until created_at + the URL lifetime); the sweeper then deletes it.
ALTER TABLE attachments ADD COLUMN upload_key text UNIQUE;
-- The sweeper's staging pass: live direct uploads whose URL has expired.
CREATE INDEX attachments_upload_key_idx ON attachments (created_at) WHERE upload_key IS NOT NULL AND deleted_at IS NULL;
