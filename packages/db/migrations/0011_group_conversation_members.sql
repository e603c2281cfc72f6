-- A group conversation is found by who is in it now, not by who it was opened with: otherwise
-- opening exactly the original set of people again found the old room and brought back someone who had
-- left it.
--
-- 1. Whether a direct room is a group conversation was read from its key (3 or more ids). The key now
--    follows the members, so group-ness gets its own column: a group that two people left is still a
--    group (the rest may leave too), and a two-person DM is never one.
ALTER TABLE rooms ADD COLUMN is_group boolean NOT NULL DEFAULT false;
UPDATE rooms SET is_group = true WHERE kind = 'direct' AND direct_key ~ '^[0-9]+(:[0-9]+){2,}$';

-- 2. A group's direct_key is its current members' ids (ascending, ':'-joined) while there are at least
--    three of them and no other conversation has that set; otherwise NULL (nobody reopens it by naming
--    people: a pair gets its two-person DM, a set another group already has gets that one). Existing
--    groups are re-keyed from their members; when several have the same members now, the newest keeps
--    the key. Two-person DMs never change members (they cannot be left), so their keys stay.
UPDATE rooms SET direct_key = NULL WHERE is_group;
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
