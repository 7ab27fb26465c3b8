-- Replies point at the activity they answer by its uuid. The app's first schema declared
-- activities.reply_to_activity_uuid as integer; on a database made from it the column becomes uuid here (an
-- integer names no activity's uuid, so such values become NULL). Made from today's schema.sql the column is
-- uuid already, and only the index the app's reply lookups use is added.

-- migrate:up
DO $$
DECLARE
  current_type text;
BEGIN
  SELECT data_type INTO current_type FROM information_schema.columns
  WHERE table_schema = 'public' AND table_name = 'activities' AND column_name = 'reply_to_activity_uuid';
  IF current_type IS NULL THEN
    ALTER TABLE public.activities ADD COLUMN reply_to_activity_uuid uuid;
  ELSIF current_type <> 'uuid' THEN
    ALTER TABLE public.activities ALTER COLUMN reply_to_activity_uuid TYPE uuid USING NULL;
  END IF;
END
$$;
CREATE INDEX IF NOT EXISTS activities_reply_to_activity_uuid_idx
  ON public.activities (reply_to_activity_uuid);

-- migrate:down
-- The column stays uuid (today's schema.sql creates it so); only the index goes.
DROP INDEX IF EXISTS public.activities_reply_to_activity_uuid_idx;
