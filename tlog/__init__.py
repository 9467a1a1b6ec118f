"""Transparency-log primitives shared by Gerbang and its witness.

Pure Python, no Django: RFC 6962 Merkle hashing, proof construction and
verification (``rfc6962``) and C2SP signed notes for checkpoints and witness
cosignatures (``note``). docs/audit-log.md describes the formats.
"""
