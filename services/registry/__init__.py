"""A sandbox population registry (Dukcapil-like identity verification) with synthetic residents (see README.md)."""
