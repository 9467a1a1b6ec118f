"""Seal the audit log: sequence and hash columns, the Merkle node store,
checkpoints, and triggers that make all three append-only.

After this migration the three tables are unmanaged: Django's test flush never
tries to empty them, and any later schema change must be written by hand with
the triggers in mind (on SQLite a table rebuild would drop them).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from gerbang.audit.schema import InstallAuditTriggers


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("organisation", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="actor",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="office",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="organisation.office",
                verbose_name="office",
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(blank=True, null=True, unique=True, verbose_name="sequence number"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="previous hash"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="entry_hash",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="entry hash"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sealed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="sealed at"),
        ),
        migrations.CreateModel(
            name="TreeNode",
            fields=[
                ("key", models.BigIntegerField(primary_key=True, serialize=False)),
                ("hash", models.BinaryField(max_length=32)),
            ],
            options={"db_table": "audit_treenode"},
        ),
        migrations.CreateModel(
            name="Checkpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tree_size", models.BigIntegerField(verbose_name="tree size")),
                ("root_hash", models.CharField(max_length=64, verbose_name="root hash")),
                ("signed_at", models.DateTimeField(verbose_name="signed at")),
                ("note", models.TextField(verbose_name="signed note")),
            ],
            options={
                "db_table": "audit_checkpoint",
                "ordering": ["id"],
                "verbose_name": "checkpoint",
                "verbose_name_plural": "checkpoints",
            },
        ),
        InstallAuditTriggers(),
        migrations.AlterModelOptions(
            name="auditevent",
            options={
                "managed": False,
                "ordering": ["id"],
                "verbose_name": "audit event",
                "verbose_name_plural": "audit events",
            },
        ),
        migrations.AlterModelTable(name="auditevent", table="audit_auditevent"),
        migrations.AlterModelOptions(name="treenode", options={"managed": False}),
        migrations.AlterModelOptions(
            name="checkpoint",
            options={
                "managed": False,
                "ordering": ["id"],
                "verbose_name": "checkpoint",
                "verbose_name_plural": "checkpoints",
            },
        ),
    ]
