"""Storage: SQLAlchemy models, repositories returning dataclasses, migrations."""
