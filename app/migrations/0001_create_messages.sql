-- The guestbook's messages. The constraints repeat the API's rules, so no path into the table (a
-- script, psql, a future endpoint) can store what the API would refuse.
CREATE TABLE messages (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  author text NOT NULL CHECK (char_length(author) BETWEEN 1 AND 64 AND author = btrim(author)),
  body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 2000 AND body = btrim(body)),
  created_at timestamptz NOT NULL DEFAULT now()
);
