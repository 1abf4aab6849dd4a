"""Compose: turn ranked passages into a cited answer (extractive offline, or an LLM with a verifier)."""
