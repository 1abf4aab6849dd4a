"""The web app and REST API (FastAPI + Jinja2), served by `osler serve`."""
