-- Reactions and replies (issue 10).
--
-- Reactions: one row per (message, user, emoji). A toggle changes the row, bumps the message's
-- `version` and records a `message_updated` control event in one transaction, so every replica sends
-- the message's new state (with its reactions summary) as `updated`, and a resume by `sinceVersion`
-- re-sends it: reactions ride the same durable path as edits and deletes.
CREATE TABLE message_reactions (
  room_id     bigint      NOT NULL,
  seq         bigint      NOT NULL,
  user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- One emoji (a short grapheme cluster); validated by the server, bounded here as a last line.
  emoji       text        NOT NULL CHECK (char_length(emoji) BETWEEN 1 AND 16 AND octet_length(emoji) <= 64),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, seq, user_id, emoji),
  FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);

-- Replies: the seq of the message replied to, in the same room (NULL: not a reply). Kept when the
-- original is deleted (the client shows "original deleted").
ALTER TABLE messages ADD COLUMN reply_to_seq bigint;
-- "Replies to my messages" for the mention counts: find replies by (room, original seq).
CREATE INDEX messages_room_reply_idx ON messages (room_id, reply_to_seq) WHERE reply_to_seq IS NOT NULL;
