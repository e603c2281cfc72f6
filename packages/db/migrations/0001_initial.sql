-- Parley schema, version 1: people, rooms, membership, messages, sessions (embedded mode), audit log.

CREATE TABLE users (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email          text        NOT NULL,
  handle         text        NOT NULL,
  display_name   text        NOT NULL,
  password_hash  text        NOT NULL, -- argon2id, PHC string
  role           text        NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'moderator', 'admin')),
  status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated', 'banned')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_handle_format CHECK (handle ~ '^[a-z0-9_]{3,32}$')
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_handle_key ON users (handle);

CREATE TABLE rooms (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
  topic        text        NOT NULL DEFAULT '',
  kind         text        NOT NULL DEFAULT 'public' CHECK (kind IN ('public', 'private', 'direct')),
  -- The room's sequence counter: incremented in the same transaction that inserts a message, so the
  -- row lock serializes writers per room and seq order equals commit order, with no gaps.
  last_seq     bigint      NOT NULL DEFAULT 0,
  created_by   bigint      REFERENCES users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  archived_at  timestamptz,
  -- Direct rooms: "minUserId:maxUserId", so each pair of people has exactly one.
  direct_key   text UNIQUE
);
CREATE UNIQUE INDEX rooms_name_key ON rooms (lower(name)) WHERE kind <> 'direct';

CREATE TABLE room_members (
  room_id      bigint      NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role         text        NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
  joined_at    timestamptz NOT NULL DEFAULT now(),
  muted_until  timestamptz,
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user_idx ON room_members (user_id);

CREATE TABLE messages (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  room_id        bigint      NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  seq            bigint      NOT NULL,
  author_id      bigint      NOT NULL REFERENCES users (id),
  client_msg_id  text        NOT NULL,
  body           text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  edited_at      timestamptz,
  deleted_at     timestamptz,
  deleted_by     bigint      REFERENCES users (id),
  -- "messages of room R after seq S" and backwards paging both use this index.
  CONSTRAINT messages_room_seq_key UNIQUE (room_id, seq),
  -- Idempotent resends: one message per (author, client id).
  CONSTRAINT messages_author_client_key UNIQUE (author_id, client_msg_id)
);
CREATE INDEX messages_created_at_idx ON messages (created_at);

-- Sessions for the embedded single-machine mode; with REDIS_URL set they live in Redis instead.
CREATE TABLE sessions (
  id            text        PRIMARY KEY, -- sha256 of the cookie's session id, never the id itself
  user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  data          jsonb       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE audit_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor_id     bigint      REFERENCES users (id) ON DELETE SET NULL,
  action       text        NOT NULL,
  target_type  text        NOT NULL,
  target_id    text,
  details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  ip           text,
  request_id   text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, created_at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, created_at DESC);
