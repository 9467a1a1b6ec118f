"""Standalone services that run beside Gerbang but do not import it."""
