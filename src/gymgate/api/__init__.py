"""The HTTP API (Litestar)."""

from gymgate.api.app import create_app, create_app_from_env

__all__ = ["create_app", "create_app_from_env"]
