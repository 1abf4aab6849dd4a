"""`python -m osler` runs the CLI."""

from osler.cli import app

app(prog_name="osler")
