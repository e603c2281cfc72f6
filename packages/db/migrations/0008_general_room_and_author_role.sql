-- Three things: a fresh install's default room, @room by the author's role at the time, and closing a DM.
--
-- 1. A default public room: a fresh install has none, so a new person's chat would be empty. Rooms
--    with auto_join = true are joined by everyone at sign-up (and by the bootstrap admin). Created only
--    when no room is named "general" yet (the name index is case-insensitive), so re-running the
--    migration on a database that already has one does nothing.
ALTER TABLE rooms ADD COLUMN auto_join boolean NOT NULL DEFAULT false;
INSERT INTO rooms (name, topic, kind, auto_join)
SELECT 'general', 'Everyone is here: introductions and announcements.', 'public', true
WHERE NOT EXISTS (SELECT 1 FROM rooms WHERE lower(name) = 'general' AND kind <> 'direct');
UPDATE rooms SET auto_join = true WHERE lower(name) = 'general' AND kind = 'public';

-- 2. The author's role when the message was written: only moderators' and admins' "@room" mentions
--    everyone, and that must not change when their role changes later (a demoted moderator's old
--    @room still counted; a new moderator's old @room did not). Filled by the database at insert so
--    every writer (chat replicas, tests, tools) records it the same way. Older messages get the
--    author's present role: the best that is known.
ALTER TABLE messages ADD COLUMN author_role text;
UPDATE messages m SET author_role = u.role FROM users u WHERE u.id = m.author_id;

CREATE FUNCTION messages_set_author_role() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT role INTO NEW.author_role FROM users WHERE id = NEW.author_id;
  RETURN NEW;
END;
$$;
CREATE TRIGGER messages_author_role BEFORE INSERT ON messages
  FOR EACH ROW EXECUTE FUNCTION messages_set_author_role();

-- 3. Closing a direct conversation from one's sidebar (Slack's "close"): hidden while the room's last
--    message is at or before this seq; the next message brings it back, and so does opening it again.
ALTER TABLE room_members ADD COLUMN hidden_through_seq bigint;
