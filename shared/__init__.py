"""Plumbing shared by every Reciprocal service: the event contract, broker and database setup,
the outbox, the processed-event ledger, the dead-letter middleware, logging, settings and health."""
