"""Repositories: every query of the application, grouped by subject."""
