-- Attachments: files and images uploaded into a room. The bytes live in the object store (the local
-- filesystem or an S3-compatible bucket) under storage_key; this row says who may read them (the
-- room's readers) and what they are. A row is linked to its message (room_id, message_seq) when the
-- message is sent; until then it is pending and only its uploader may use it.
CREATE TABLE attachments (
  id              uuid        PRIMARY KEY,
  room_id         bigint      NOT NULL REFERENCES rooms (id),
  uploader_id     bigint      REFERENCES users (id) ON DELETE SET NULL,
  message_seq     bigint,
  storage_key     text        NOT NULL UNIQUE,
  name            text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
  content_type    text        NOT NULL,
  size_bytes      bigint      NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
  -- Images decoded by the server (EXIF orientation applied): their size and thumbnail.
  image_width     integer,
  image_height    integer,
  thumbnail_key   text UNIQUE,
  thumbnail_bytes bigint      NOT NULL DEFAULT 0,
  -- 'pending': upload URL handed out, bytes not confirmed; 'ready': stored and checked.
  state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- Set when the message (or the upload) is deleted; the sweeper removes the objects, then the row,
  -- so a crash between the database and the store loses nothing and leaks nothing.
  deleted_at      timestamptz,
  -- No cascades: a row removed with its room or message would leave its objects behind in the store.
  FOREIGN KEY (room_id, message_seq) REFERENCES messages (room_id, seq)
);
-- Storage used per person and per room (live rows only).
CREATE INDEX attachments_uploader_idx ON attachments (uploader_id) WHERE deleted_at IS NULL;
CREATE INDEX attachments_room_idx ON attachments (room_id, message_seq) WHERE deleted_at IS NULL;
-- The sweeper's work: deleted rows, and pending uploads never sent.
CREATE INDEX attachments_deleted_idx ON attachments (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX attachments_unsent_idx ON attachments (created_at) WHERE message_seq IS NULL AND deleted_at IS NULL;
