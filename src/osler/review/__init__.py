"""The editorial workflow: articles, people and permissions, transitions, audit, staleness."""
