"""The sandbox border-control service: entries and exits of foreigners, reported to Gerbang over signed HTTP."""
