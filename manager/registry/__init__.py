"""Talking to image registries: references (pure parsing), auth (Bearer
token and Basic), credentials (Docker's config.json format) and the HTTP
client for the Distribution API (manifests and blobs)."""
__all__ = ["reference", "auth", "credentials", "client"]
