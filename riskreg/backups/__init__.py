"""Backup and restore of a whole installation's database (`riskreg backup OUT`, `riskreg restore IN`).

SQLite: the online backup API (a consistent copy while the app serves and writes). PostgreSQL: pg_dump's custom
format, restored with pg_restore. A restore goes into an empty database only and reports success only after
checking integrity, foreign keys, the migration head and the search index (README "Backup and restore").
"""
