-- A group conversation is found by who is in it now, not by who it was opened with: otherwise
-- opening exactly the original set of people again found the old room and brought back someone who had
-- left it.
--
-- The previous release runs beside this one during a rollout (docs/deploy.md), and it knows nothing of
-- this: it inserts groups without is_group, removes leavers without re-keying, and tells a group by a
-- key of 3 or more ids. So the database keeps the rules itself (triggers), for both releases' writes.

-- 1. Whether a direct room is a group conversation was read from its key (3 or more ids). The key now
--    follows the members, so group-ness gets its own column: a group that two people left is still a
--    group (the rest may leave too), and a two-person DM is never one. A room inserted with a key of 3 or
--    more ids is a group whoever inserts it (the previous release does not set the column).
ALTER TABLE rooms ADD COLUMN is_group boolean NOT NULL DEFAULT false;
UPDATE rooms SET is_group = true WHERE kind = 'direct' AND direct_key ~ '^[0-9]+(:[0-9]+){2,}$';

CREATE FUNCTION mark_group_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kind = 'direct' AND NEW.direct_key ~ '^[0-9]+(:[0-9]+){2,}$' THEN
    NEW.is_group := true;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER rooms_mark_group_conversation BEFORE INSERT ON rooms
  FOR EACH ROW EXECUTE FUNCTION mark_group_conversation();

-- 2. A group's direct_key is its current members' ids (ascending, ':'-joined) while there are at least
--    three of them and no other conversation has that set. Otherwise it is '0:0:<room id>': nobody
--    reopens it by naming people (a pair gets its two-person DM, a set another group has gets that one),
--    because an open names distinct ascending ids and no user has id 0. Not NULL: the previous release
--    tells a group by a key of 3 or more parts, and would refuse its people leaving it. Two-person DMs
--    never change members (they cannot be left), so their keys stay.
--
--    The key changes with the members, in the same transaction, whichever release changes them: after
--    every insert into or delete from room_members, each group touched is re-keyed under the group
--    membership lock (RoomRepository.lockGroupMembership, taken first by this release's opens and
--    leaves), so a leave and an open of the old or the new set cannot interleave and two leaves that end
--    at the same set cannot both take its key. A delete takes the lock before it touches a row (the
--    previous release's leave takes no lock of its own; taking it after the row would deadlock with an
--    open that holds the lock and waits for that row); deletes are rare (leaves, removals), so all of
--    them queue on it. An insert takes it only when it changes a group's key, which this release's opens
--    never do (a group is opened, or opened again, by its members now). The previous release's open takes
--    no lock: racing a leave, it can still bring the leaver back (as that release always could); the key
--    then follows the members again, and once the rollout is done this cannot happen.
CREATE FUNCTION rekey_group_conversation(group_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  now_in text;
  n bigint;
  keyed boolean := false;
BEGIN
  SELECT string_agg(user_id::text, ':' ORDER BY user_id), count(*) INTO now_in, n FROM room_members WHERE room_id = group_id;
  IF n >= 3 AND NOT EXISTS (SELECT 1 FROM rooms WHERE direct_key = now_in AND id <> group_id) THEN
    BEGIN
      UPDATE rooms SET direct_key = now_in WHERE id = group_id AND direct_key IS DISTINCT FROM now_in;
      keyed := true;
    EXCEPTION WHEN unique_violation THEN
      -- The previous release's open (which takes no lock) created a room with this set just now.
      keyed := false;
    END;
  END IF;
  IF NOT keyed THEN
    UPDATE rooms SET direct_key = '0:0:' || group_id WHERE id = group_id AND direct_key IS DISTINCT FROM '0:0:' || group_id;
  END IF;
END $$;

CREATE FUNCTION rekey_changed_group_conversations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  g record;
BEGIN
  FOR g IN
    SELECT r.id, r.direct_key, now_in.key, now_in.n
    FROM rooms r
    CROSS JOIN LATERAL (SELECT string_agg(m.user_id::text, ':' ORDER BY m.user_id) AS key, count(*) AS n FROM room_members m WHERE m.room_id = r.id) now_in
    WHERE r.is_group AND r.id IN (SELECT room_id FROM changed)
    ORDER BY r.id
  LOOP
    CONTINUE WHEN g.n >= 3 AND g.direct_key = g.key;
    PERFORM pg_advisory_xact_lock(1885827696); -- 0x70677270, "pgrp": RoomRepository's GROUP_MEMBERSHIP_LOCK
    PERFORM rekey_group_conversation(g.id);
  END LOOP;
  RETURN NULL;
END $$;
CREATE FUNCTION lock_group_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1885827696);
  RETURN NULL;
END $$;
CREATE TRIGGER room_members_lock_groups_before_delete BEFORE DELETE ON room_members
  FOR EACH STATEMENT EXECUTE FUNCTION lock_group_membership();
CREATE TRIGGER room_members_rekey_groups_on_insert AFTER INSERT ON room_members
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION rekey_changed_group_conversations();
CREATE TRIGGER room_members_rekey_groups_on_delete AFTER DELETE ON room_members
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION rekey_changed_group_conversations();

-- 3. Existing groups are re-keyed from their members (after the triggers exist: creating them waits for
--    membership writes in flight and holds later ones until this commits, so none is missed). When
--    several have the same members now, the newest keeps the key.
UPDATE rooms SET direct_key = '0:0:' || id WHERE is_group;
UPDATE rooms r SET direct_key = k.key
FROM (
  SELECT DISTINCT ON (key) room_id, key
  FROM (
    SELECT m.room_id, string_agg(m.user_id::text, ':' ORDER BY m.user_id) AS key, count(*) AS n
    FROM room_members m JOIN rooms g ON g.id = m.room_id AND g.is_group
    GROUP BY m.room_id
  ) sets
  WHERE n >= 3
  ORDER BY key, room_id DESC
) k
WHERE r.id = k.room_id;
