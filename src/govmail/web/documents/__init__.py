"""Official documents on the web: the clerk's registers and actions (routes.py)."""
