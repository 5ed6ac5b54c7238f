-- SQLite has one instance per database: its read cache follows `PRAGMA data_version`, so the
-- PostgreSQL trigger of this migration has no SQLite counterpart. Kept for aligned numbering.
SELECT 1;
