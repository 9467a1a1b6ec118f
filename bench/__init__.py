"""Bench scripts: speed and memory figures, each printed as one JSON object on its last line."""
