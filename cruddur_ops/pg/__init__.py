"""PostgreSQL: connections and masking (database), schema.sql (schema), seed data (seed), sessions, users."""
