"""The version of Osler (read by the package, the web app and /healthz)."""

__version__ = "0.1.0"
