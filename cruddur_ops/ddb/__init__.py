"""DynamoDB: schemas, seeding, scans and the app's access patterns."""
