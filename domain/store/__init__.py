"""The only code that talks to MongoDB: one repository module per collection."""
