"""The REST API under /api/v1: bearer tokens, problem+json errors, OpenAPI document."""
