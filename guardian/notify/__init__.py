"""Notifications: the outbox (what to send, to whom, exactly once) and its sender."""
