"""DuckDB: one connection on one worker thread, forward migrations, transactions, the batch
writer, repositories (users, conversations, messages, usage, keys, presets, sessions), analytics
queries and exports. The only package that speaks SQL; it imports nothing above it."""
