"""Notifications: what goes in the outbox (`compose`, pure), when it may go (`timing`,
pure), how it reads (`render`), and the adapters that queue, compose digests and send
through apprise. The outbox table itself is `guardian.storage.outbox`."""
