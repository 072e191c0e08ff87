"""Who exists: domains, agencies, mailboxes, aliases, groups, lifecycle."""
