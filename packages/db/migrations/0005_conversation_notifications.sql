-- Per-conversation notification mute (the web client's bell): the member still gets unread counts and
-- badges, but no browser notification and no title badge for that conversation.
ALTER TABLE room_members ADD COLUMN notifications_muted boolean NOT NULL DEFAULT false;
