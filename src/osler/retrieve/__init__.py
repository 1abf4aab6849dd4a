"""Retrieval: question analysis, candidate search, fusion and evidence-aware ranking."""
