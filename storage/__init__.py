"""Storage adapters: SQLAlchemy models, repositories, migrations and the gazetteer."""
