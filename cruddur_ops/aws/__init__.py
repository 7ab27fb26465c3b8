"""AWS chores around the database: Cognito user ids (cognito), the RDS instance and its security group (rds)."""
