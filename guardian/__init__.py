"""Guardian: a moderation and staff-wellbeing guard between a public feed and town staff."""

__version__ = "0.1.0"
