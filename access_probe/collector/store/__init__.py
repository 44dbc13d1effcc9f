"""The collector's storage: table definitions (`tables`), every SQL statement (`repo`), and the
Alembic migrations that create and upgrade the schema from code (`migrate`)."""
