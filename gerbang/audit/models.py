from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One thing that happened, recorded in the same transaction as the change.

    Events hold references (ids, codes), never copies of personal data. A
    request only inserts its event (``seq`` empty); the sealer later gives it
    the next sequence number, the previous entry's hash and its own entry
    hash (docs/audit-log.md). Database triggers refuse to change or delete a
    sealed event, and to delete any event.

    The table, its triggers and privileges are created by hand-written
    migrations (``managed = False``): Django's test flush must never try to
    empty it, and later schema changes need their own trigger-aware SQL.
    """

    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True, db_index=True)
    # References without database constraints: the log outlives the rows it
    # mentions, and must never stop an unrelated table from being emptied.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    office = models.ForeignKey(
        "organisation.Office",
        verbose_name=_("office"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # Set once, by the sealer.
    seq = models.BigIntegerField(_("sequence number"), null=True, blank=True, unique=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True, default="")
    entry_hash = models.CharField(_("entry hash"), max_length=64, blank=True, default="")
    sealed_at = models.DateTimeField(_("sealed at"), null=True, blank=True)

    class Meta:
        managed = False
        db_table = "audit_auditevent"
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class TreeNode(models.Model):
    """A perfect subtree of the RFC 6962 Merkle tree over sealed events.

    ``key = level << 56 | index``: level 0 holds the leaf hashes
    ``SHA-256(0x00 || entry)`` (key = leaf index = seq - 1); level ``l`` holds
    the hash of leaves ``[index << l, (index + 1) << l)``. Written by the
    sealer as subtrees complete, never changed (triggers): proofs and roots
    need only O(log n) lookups.
    """

    key = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    class Meta:
        managed = False
        db_table = "audit_treenode"

    def __str__(self) -> str:
        return f"node {self.key >> 56}/{self.key & ((1 << 56) - 1)}"


class Checkpoint(models.Model):
    """A signed tree head written by ``audit_checkpoint`` (append-only)."""

    tree_size = models.BigIntegerField(_("tree size"))
    root_hash = models.CharField(_("root hash"), max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    note = models.TextField(_("signed note"))

    class Meta:
        managed = False
        db_table = "audit_checkpoint"
        ordering = ["id"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size} {self.root_hash[:12]}"
