-- The author_role trigger (0008) only for inserts that leave author_role unset. Chat's group-commit
-- statement already reads each author's row (the "author active" check and the handle for the ack) and
-- writes author_role from it in the INSERT itself, the value the trigger would have written; the trigger
-- looked the author up a second time for every row (≈4 µs per message, bench/README.md). Every other
-- writer (the one-by-one fallback, tests, tools) leaves the column out and still gets the author's role
-- at insert from the trigger, as before.
DROP TRIGGER messages_author_role ON messages;
CREATE TRIGGER messages_author_role BEFORE INSERT ON messages
  FOR EACH ROW WHEN (NEW.author_role IS NULL) EXECUTE FUNCTION messages_set_author_role();
