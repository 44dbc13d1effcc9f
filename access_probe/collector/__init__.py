"""The central collector: receives agents' results, measures from outside for the control,
answers aggregate questions (contract section 4).

    app.py        create_app(settings) -> FastAPI
    settings.py   Settings, validated on construction
    api/          routes (thin) and their dependencies
    models_in.py / models_out.py   request and response bodies
    store/        tables, repo (all SQL), Alembic migrations run from code
    aggregate.py  grouping keys and small-cell suppression (pure)
    control.py    the SSRF-guarded control measurements
    tokens.py councils.py shared.py metrics.py ingest.py
    commands.py   `access-probe collector ...` (imports the heavy parts lazily)

Importing this package imports nothing heavy.
"""
