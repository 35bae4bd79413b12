"""The wellbeing report (pure): what a week did to the people who work for the town."""
