"""The web platform's database: SQLAlchemy 2 tables (``models``), Alembic migrations shipped in the package
(``migrations``), engines and transactions (``db``) and the JSONL export the lab's metrics read (``export``).
Needs the ``[web]`` extra."""
