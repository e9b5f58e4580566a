"""Per-user notifications: the inbox of mentions and other things that concern someone."""
