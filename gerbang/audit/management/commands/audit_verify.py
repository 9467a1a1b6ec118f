from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from gerbang.audit import checkpoints, witness_client
from gerbang.audit.verify import Reference, verify_log
from tlog import note

EXIT_TAMPERED = 1
EXIT_CANNOT_VERIFY = 2


class Command(BaseCommand):
    help = (
        "Recompute the audit log's hash chain and Merkle tree and compare them with the latest head "
        "the witness cosigned (or with --checkpoint FILE). Exits 0 when intact, 1 when the log was "
        "altered (naming the first wrong sequence number), 2 when it cannot be verified."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checkpoint", type=Path, help="a signed head (note file) to verify against")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            references = self._references(options["checkpoint"])
        except (witness_client.WitnessUnavailable, checkpoints.KeyMissing, note.NoteError, OSError) as exc:
            self.stderr.write(f"cannot verify: {exc}")
            sys.exit(EXIT_CANNOT_VERIFY)
        report = verify_log(references)
        self.stdout.write(f"sealed events: {report.sealed}; waiting to be sealed: {report.unsealed}")
        if report.intact:
            for ref in report.matched:
                self.stdout.write(f"matches {ref.source}: size {ref.checkpoint.size}")
            self.stdout.write(f"intact; root {base64.b64encode(report.root).decode()}")
            return
        for problem in report.problems:
            self.stderr.write(f"TAMPERED: {problem.message}")
        first = report.first_wrong_seq
        if first is not None:
            self.stderr.write(f"first wrong sequence number: {first}")
        sys.exit(EXIT_TAMPERED)

    def _references(self, checkpoint_file: Path | None) -> list[Reference]:
        log_key = checkpoints.log_verifier()
        references: list[Reference] = []
        if checkpoint_file is not None:
            text = checkpoint_file.read_text()
            head = log_key.verify_note(text)
            source = f"the checkpoint in {checkpoint_file}"
            try:
                witness = witness_client.witness_verifier()
                head, when = witness.verify_cosignature(text)
                source += f", cosigned by {witness.name} at {when:%Y-%m-%d %H:%M:%S} UTC"
            except (witness_client.WitnessUnavailable, note.NoteError):
                pass
            references.append(Reference(head, source))
        else:
            witness = witness_client.witness_verifier()
            text = witness_client.latest_cosigned()
            try:
                head, when = witness.verify_cosignature(text)
                log_key.verify_note(text)
            except note.NoteError as exc:
                raise witness_client.WitnessUnavailable(f"the witness's head does not verify: {exc}") from exc
            references.append(Reference(head, f"the head {witness.name} cosigned at {when:%Y-%m-%d %H:%M:%S} UTC"))
        latest = checkpoints.latest()
        if latest is not None:
            try:
                own = log_key.verify_note(latest.note)
            except note.NoteError as exc:
                raise note.NoteError(f"the latest stored checkpoint's signature does not verify: {exc}") from exc
            references.append(Reference(own, "the latest checkpoint Gerbang signed"))
        return references
