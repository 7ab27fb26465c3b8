"""Local engines the tool starts itself: DynamoDB Local (and PostgreSQL)."""
