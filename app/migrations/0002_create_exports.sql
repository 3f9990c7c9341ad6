-- Exports of the guestbook, made by the job workers (gantry run): the row is created with its job in
-- one transaction, and holds the result, so any replica can serve it.
CREATE TABLE exports (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'active', 'completed', 'failed')),
  progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  attempts integer NOT NULL DEFAULT 0,
  rows_written integer,
  error text,
  csv text,
  job_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  CHECK ((status = 'completed') = (csv IS NOT NULL))
);
