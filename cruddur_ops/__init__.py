"""cruddur-ops: data chores for the Cruddur app (PostgreSQL, DynamoDB, RDS, Cognito)."""

__version__ = "0.1.0"
