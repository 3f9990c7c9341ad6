-- Live updates: every new message, and every change of an export's status or progress, is announced
-- on a channel (LISTEN/NOTIFY) with the row's id, at commit. Each web worker listens and pushes the
-- rows to its WebSockets and event streams, so a message posted on any worker of any replica reaches
-- them all, without a second datastore. The payload is only the id (NOTIFY takes at most 8000 bytes; a
-- message may be longer): listeners read what is new since the last id they saw.
-- One function for both: the channel is the trigger's argument.
CREATE FUNCTION notify_row_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], NEW.id::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER messages_notify AFTER INSERT ON messages
  FOR EACH ROW EXECUTE FUNCTION notify_row_id('guestbook_messages');

CREATE TRIGGER exports_notify AFTER UPDATE ON exports
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress)
  EXECUTE FUNCTION notify_row_id('guestbook_exports');
