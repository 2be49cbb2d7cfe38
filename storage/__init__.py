"""Medal storage: SQLModel tables, the engine, migrations and the files derived under $MEDAL_HOME."""
