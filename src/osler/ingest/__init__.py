"""Ingest: source formats -> documents and passages in the store."""
