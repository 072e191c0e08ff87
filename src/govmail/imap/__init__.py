"""IMAP4rev1/rev2 server door."""
