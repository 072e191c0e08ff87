"""The administration console (/admin): for installation administrators, and for agency
administrators within their subtree. Every change goes through ``DirectoryOps`` (or the
queue's admin operations) as the logged-in administrator, so it lands in the audit log."""
