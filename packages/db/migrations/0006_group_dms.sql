-- Group direct messages: a 'direct' room now holds 2 to 8 people. It stays kind 'direct' (members
-- only, no name, never listed or renamed), so chat's access rule for non-public rooms applies
-- unchanged and RoomInfo.kind needs no new value. direct_key is the members' ids, ascending and joined
-- by ':' ("minId:maxId" for two people), so the same set of people always reopens the same room.
ALTER TABLE rooms ADD CONSTRAINT rooms_direct_key_shape
  CHECK (direct_key IS NULL OR direct_key ~ '^[0-9]+(:[0-9]+){1,7}$');
