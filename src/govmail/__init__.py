"""govmail: e-mail and official documents for Vietnamese state agencies."""

__version__ = "0.1.0"
