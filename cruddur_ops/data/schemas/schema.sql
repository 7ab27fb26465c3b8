-- The Cruddur app's PostgreSQL schema, loaded by `cruddur db schema-load` in one transaction.
-- Idempotent: tables and indexes that exist are kept as they are (`schema-load --reset` drops and
-- recreates the tables created here). The app's own SQL runs against these tables: keep the column names.
-- gen_random_uuid() is built into PostgreSQL 13 and later.

CREATE TABLE IF NOT EXISTS public.users (
  uuid            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  display_name    text        NOT NULL,
  handle          text        NOT NULL UNIQUE,
  email           text,
  cognito_user_id text,       -- Cognito's `sub`; set by `cruddur cognito update-user-ids`
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.activities (
  uuid                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  user_uuid              uuid        NOT NULL REFERENCES public.users (uuid) ON DELETE CASCADE,
  message                text        NOT NULL,
  replies_count          integer     NOT NULL DEFAULT 0,
  reposts_count          integer     NOT NULL DEFAULT 0,
  likes_count            integer     NOT NULL DEFAULT 0,
  reply_to_activity_uuid uuid,
  expires_at             timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now()
);

-- The home feed reads newest first; a user's page reads one user's activities.
CREATE INDEX IF NOT EXISTS activities_created_at_idx ON public.activities (created_at DESC);
CREATE INDEX IF NOT EXISTS activities_user_uuid_idx ON public.activities (user_uuid);
