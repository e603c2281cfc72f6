-- Mutes, apart from membership: muting someone must never make them a member (a moderator could
-- otherwise put an outsider into a private room or a direct conversation). A mute in a public room
-- may name someone who has not joined it (chat lets anyone send to a public room it has joined);
-- in private and direct rooms admin only mutes members.
CREATE TABLE room_mutes (
  room_id      bigint      NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  muted_until  timestamptz NOT NULL,
  muted_by     bigint      REFERENCES users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_mutes_user_idx ON room_mutes (user_id);

-- Carry over the mutes in force. room_members.muted_until stays as a mirror for members (admin keeps it
-- in step in the same transaction) until chat reads room_mutes at join; then it can be dropped.
INSERT INTO room_mutes (room_id, user_id, muted_until)
SELECT room_id, user_id, muted_until FROM room_members WHERE muted_until > now();
