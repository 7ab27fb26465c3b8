-- The app's profile page reads and updates users.bio (its later users/show.sql and users/update.sql).

-- migrate:up
ALTER TABLE public.users ADD COLUMN IF NOT EXISTS bio text;

-- migrate:down
ALTER TABLE public.users DROP COLUMN IF EXISTS bio;
