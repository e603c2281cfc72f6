-- The durable control plane. Every change that affects open chat connections (ban, revoke, role,
-- mute, membership, archive, edit, delete, read state) is recorded here in the same transaction as
-- the change itself. Ids come from one counter row updated in that transaction, so (like rooms.last_seq
-- for messages) id order is commit order and ids have no gaps: a chat replica that has applied every
-- event up to N has seen everything up to N, and catches up by id after any outage.

CREATE TABLE control_event_counter (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_id    bigint  NOT NULL
);
INSERT INTO control_event_counter (singleton, last_id) VALUES (true, 0);

CREATE TABLE control_events (
  id          bigint      PRIMARY KEY,
  kind        text        NOT NULL,
  user_id     bigint,
  session_id  text,
  room_id     bigint,
  seq         bigint,
  payload     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- Pruning by age, and "was this session revoked?" at upgrade and on the re-validation timer.
CREATE INDEX control_events_created_idx ON control_events (created_at);
CREATE INDEX control_events_session_idx ON control_events (session_id) WHERE session_id IS NOT NULL;

-- Record one event; returns its id. NOTIFY is only a doorbell (delivered at COMMIT, lost when nobody
-- listens): replicas also poll by id, so a lost notification delays an event but never loses it.
CREATE FUNCTION parley_control_event(p_kind text, p_user_id bigint, p_session_id text, p_room_id bigint, p_seq bigint, p_payload jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  new_id bigint;
BEGIN
  UPDATE control_event_counter SET last_id = last_id + 1 RETURNING last_id INTO new_id;
  INSERT INTO control_events (id, kind, user_id, session_id, room_id, seq, payload)
  VALUES (new_id, p_kind, p_user_id, p_session_id, p_room_id, p_seq, coalesce(p_payload, '{}'::jsonb));
  PERFORM pg_notify('parley_control', new_id::text);
  RETURN new_id;
END;
$$;

-- Edits and deletes: `version` is the id of the control event of the message's latest change, so a
-- resuming client that knows version V of a room is sent every message changed after V.
ALTER TABLE messages ADD COLUMN version bigint;
CREATE INDEX messages_room_version_idx ON messages (room_id, version) WHERE version IS NOT NULL;

-- Read state: the highest seq each member has seen, moved by the `read` frame (never backwards) and
-- synced to the member's other tabs and devices by a `read` control event.
ALTER TABLE room_members ADD COLUMN last_read_seq bigint NOT NULL DEFAULT 0;
