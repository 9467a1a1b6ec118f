"""Lottery draws: the witness commits to a secret, then reveals it for the first list only (over real HTTP)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.witness.lottery import Lottery
from services.witness.server import WitnessServer
from services.witness.witness import Store, Witness, load_or_create_signer
from tlog import draws, note

from .support import T0, Clock, MemoryLog, call, call_json, request

CLOSES = "2026-01-01T08:10:00Z"  # ten minutes after T0, the witness's clock at the start
ROOT = "a1" * 32
OTHER_ROOT = "b2" * 32


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def witness(tmp_path: Path, clock: Clock) -> Witness:
    signer = load_or_create_signer(tmp_path / "data", "witness.test")
    log = MemoryLog()
    return Witness(signer, Store(tmp_path / "data" / "witness.sqlite3"), log, lambda: log.verifier, clock)


@pytest.fixture
def public_key(tmp_path: Path, witness: Witness) -> Ed25519PublicKey:
    """The witness's public key as another party holds it: from the witness.vkey file it published."""
    vkey = note.Verifier.from_text((tmp_path / "data" / "witness.vkey").read_text())
    assert vkey.to_text() == witness.signer.verifier().to_text()
    return vkey.public


@pytest.fixture
def server(witness: Witness) -> Iterator[str]:
    httpd = WitnessServer(("127.0.0.1", 0), witness)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)  # quick shutdown
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _commit(server: str, draw_id: str = "draw-1", closes_at: str = CLOSES) -> tuple[int, Any]:
    return call_json(f"{server}/v1/draws/{draw_id}", "POST", {"closes_at": closes_at})


def _reveal(server: str, root: str = ROOT, count: int = 5, draw_id: str = "draw-1") -> tuple[int, Any]:
    return call_json(f"{server}/v1/draws/{draw_id}/reveal", "POST", {"root": root, "count": count})


def _stored_secret(witness: Witness, draw_id: str) -> str:
    with sqlite3.connect(witness.store.path) as db:
        return str(db.execute("SELECT secret FROM draws WHERE draw_id = ?", (draw_id,)).fetchone()[0])


def test_commit_then_get(server: str, witness: Witness, public_key: Ed25519PublicKey) -> None:
    status, answer = _commit(server, closes_at="2026-01-01T15:10:00+07:00")  # the same instant as CLOSES
    assert status == 201
    assert set(answer) == {"draw_id", "commitment", "closes_at", "committed_at", "signature"}
    assert answer["draw_id"] == "draw-1"
    assert answer["closes_at"] == CLOSES
    assert answer["committed_at"] == "2026-01-01T08:00:00Z"
    assert draws.HEX32.fullmatch(answer["commitment"])
    draws.verify(public_key, draws.commit_message("draw-1", answer["commitment"], CLOSES), answer["signature"])
    secret = _stored_secret(witness, "draw-1")
    assert len(bytes.fromhex(secret)) == 32
    assert hashlib.sha256(bytes.fromhex(secret)).hexdigest() == answer["commitment"]

    status, record = call_json(f"{server}/v1/draws/draw-1", "GET")
    assert status == 200
    assert record == {
        "draw_id": "draw-1",
        "commitment": answer["commitment"],
        "closes_at": CLOSES,
        "committed_at": "2026-01-01T08:00:00Z",
        "commit_signature": answer["signature"],
    }
    assert secret not in json.dumps(record)

    # Every draw gets its own secret.
    status, second = _commit(server, "draw-2")
    assert status == 201 and second["commitment"] != answer["commitment"]
    assert call_json(f"{server}/v1/draws/draw-3", "GET") == (404, {"error": "no draw draw-3"})


def test_commit_is_idempotent_and_keeps_its_closing_time(server: str, clock: Clock) -> None:
    status, first = _commit(server)
    assert status == 201
    clock.advance(minutes=1)
    assert _commit(server) == (200, first)
    assert _commit(server, closes_at="2026-01-01T09:10:00+01:00") == (200, first)  # same instant
    clock.advance(hours=1)  # after the close, a repeated request still gets its answer
    assert _commit(server) == (200, first)

    status, conflict = _commit(server, closes_at="2026-01-01T08:10:01Z")
    assert status == 409
    assert conflict == {"error": "draw draw-1 was committed with another closing time", "closes_at": CLOSES}
    assert call_json(f"{server}/v1/draws/draw-1", "GET")[1]["closes_at"] == CLOSES


def test_a_closing_time_not_in_the_future_is_refused(server: str, clock: Clock) -> None:
    for closes_at in ("2026-01-01T07:59:59Z", "2026-01-01T08:00:00Z", "2026-01-01T15:00:00+07:00"):
        status, answer = _commit(server, closes_at=closes_at)
        assert status == 422, closes_at
        assert answer["error"].startswith("closes_at: ") and answer["now"] == "2026-01-01T08:00:00Z"
    assert call_json(f"{server}/v1/draws/draw-1", "GET")[0] == 404
    assert _commit(server, closes_at="2026-01-01T08:00:01Z")[0] == 201


def test_reveal_waits_for_the_close_then_reveals_for_the_first_list_only(
    server: str, witness: Witness, clock: Clock, public_key: Ed25519PublicKey
) -> None:
    assert _reveal(server)[0] == 404
    _, committed = _commit(server)
    commitment = committed["commitment"]

    clock.advance(minutes=9, seconds=59)  # one second before the close
    assert _reveal(server) == (409, {"error": "the window is still open", "closes_at": CLOSES})
    assert "secret" not in call_json(f"{server}/v1/draws/draw-1", "GET")[1]

    clock.advance(seconds=1)  # the close itself
    status, revealed = _reveal(server, count=5)
    assert status == 200
    assert revealed == {
        "draw_id": "draw-1",
        "commitment": commitment,
        "closes_at": CLOSES,
        "root": ROOT,
        "count": 5,
        "secret": _stored_secret(witness, "draw-1"),
        "revealed_at": CLOSES,
        "signature": revealed["signature"],
    }
    assert draws.commitment(bytes.fromhex(revealed["secret"])) == commitment
    message = draws.reveal_message("draw-1", commitment, ROOT, 5, revealed["secret"])
    draws.verify(public_key, message, revealed["signature"])
    other_list = draws.reveal_message("draw-1", commitment, OTHER_ROOT, 5, revealed["secret"])
    with pytest.raises(draws.DrawSignatureError):  # the signature binds the list
        draws.verify(public_key, other_list, revealed["signature"])

    clock.advance(minutes=5)
    assert _reveal(server, count=5) == (200, revealed)  # same list: same answer, same time
    different = (409, {"error": "a different list was presented before"})
    assert _reveal(server, OTHER_ROOT, 5) == different
    assert _reveal(server, ROOT, 6) == different
    assert _reveal(server, OTHER_ROOT, 6) == different

    status, record = call_json(f"{server}/v1/draws/draw-1", "GET")
    assert status == 200
    assert record == {
        "draw_id": "draw-1",
        "commitment": commitment,
        "closes_at": CLOSES,
        "committed_at": "2026-01-01T08:00:00Z",
        "commit_signature": committed["signature"],
        "root": ROOT,
        "count": 5,
        "secret": revealed["secret"],
        "revealed_at": CLOSES,
        "reveal_signature": revealed["signature"],
    }
    # Committing again does not touch the revealed draw.
    assert _commit(server) == (200, committed)


def test_an_empty_list_can_be_revealed(server: str, clock: Clock, public_key: Ed25519PublicKey) -> None:
    _, committed = _commit(server)
    clock.advance(hours=1)
    status, revealed = _reveal(server, draws.commitment(b""), 0)
    assert (status, revealed["count"]) == (200, 0)
    message = draws.reveal_message("draw-1", committed["commitment"], draws.commitment(b""), 0, revealed["secret"])
    draws.verify(public_key, message, revealed["signature"])


def test_concurrent_reveals_reveal_for_one_list(server: str, clock: Clock) -> None:
    _commit(server)
    clock.advance(hours=1)
    roots = [f"{i:02x}" * 32 for i in range(12)]
    answers: dict[str, tuple[int, Any]] = {}
    start = threading.Barrier(len(roots))

    def reveal(root: str) -> None:
        start.wait()
        answers[root] = _reveal(server, root, 7)

    threads = [threading.Thread(target=reveal, args=(root,)) for root in roots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [root for root, (status, _) in answers.items() if status == 200]
    assert len(winners) == 1
    assert sorted(status for status, _ in answers.values()) == [200] + [409] * (len(roots) - 1)
    record = call_json(f"{server}/v1/draws/draw-1", "GET")[1]
    assert record["root"] == winners[0] == answers[winners[0]][1]["root"]


def test_concurrent_reveals_in_one_process_without_http(witness: Witness, clock: Clock) -> None:
    """The same race straight on :class:`Lottery`, with more contenders than the HTTP test."""
    lottery = Lottery(witness.signer, witness.store, clock)
    lottery.commit("race", {"closes_at": CLOSES})
    clock.advance(hours=1)
    outcomes: list[int] = []
    start = threading.Barrier(24)

    def reveal(i: int) -> None:
        start.wait()
        try:
            outcomes.append(lottery.reveal("race", {"root": f"{i:02x}" * 32, "count": i})[0])
        except Exception as exc:  # Refusal
            outcomes.append(getattr(exc, "status", 0))

    threads = [threading.Thread(target=reveal, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [200] + [409] * 23


BAD_COMMITS: list[tuple[str, bytes | None, int, str]] = [
    ("/v1/draws/a%20b", b'{"closes_at": "2026-01-01T09:00:00Z"}', 400, "draw_id: "),
    ("/v1/draws/" + "x" * 65, b'{"closes_at": "2026-01-01T09:00:00Z"}', 400, "draw_id: "),
    ("/v1/draws/", b'{"closes_at": "2026-01-01T09:00:00Z"}', 400, "draw_id: "),
    ("/v1/draws/d", None, 400, "not JSON"),
    ("/v1/draws/d", b"", 400, "not JSON"),
    ("/v1/draws/d", b"closes_at=2026", 400, "not JSON"),
    ("/v1/draws/d", b'{"closes_at": "2026-01-01T09:00:00Z"', 400, "not JSON"),
    ("/v1/draws/d", b"\xff\xfe{}", 400, "not JSON"),
    ("/v1/draws/d", b"[" * 5000 + b"]" * 5000, 400, "not JSON"),
    ("/v1/draws/d", b"[]", 400, "JSON object"),
    ("/v1/draws/d", b'"2026-01-01T09:00:00Z"', 400, "JSON object"),
    ("/v1/draws/d", b"{}", 400, "closes_at: required"),
    ("/v1/draws/d", b'{"closes_at": "2026-01-01T09:00:00Z", "x": 1}', 400, "unknown field(s): x"),
    ("/v1/draws/d", b'{"closes_at": null}', 400, "closes_at: "),
    ("/v1/draws/d", b'{"closes_at": 1767258000}', 400, "closes_at: "),
    ("/v1/draws/d", b'{"closes_at": "tomorrow"}', 400, "closes_at: "),
    ("/v1/draws/d", b'{"closes_at": "2026-01-01T09:00:00"}', 400, "no offset"),
    ("/v1/draws/d", b'{"closes_at": "2026-01-02"}', 400, "no offset"),
    ("/v1/draws/d", b'{"closes_at": "2026-01-01T09:00:00.5Z"}', 400, "whole seconds"),
    ("/v1/draws/d", b'{"closes_at": "2026-02-30T09:00:00Z"}', 400, "closes_at: "),
    ("/v1/draws/d", b'{"closes_at": "9999-12-31T23:59:59-05:00"}', 400, "out of range"),
    ("/v1/draws/d", b'{"closes_at": "' + b"9" * 100 + b'"}', 400, "closes_at: "),
]

BAD_REVEALS: list[tuple[bytes, str]] = [
    (b"{}", "root: required"),
    (b'{"root": "' + ROOT.encode() + b'"}', "count: required"),
    (b'{"root": "' + ROOT.upper().encode() + b'", "count": 1}', "root: "),
    (b'{"root": "' + ROOT[:-2].encode() + b'", "count": 1}', "root: "),
    (b'{"root": 1, "count": 1}', "root: "),
    (b'{"root": "' + ROOT.encode() + b'", "count": -1}', "count: "),
    (b'{"root": "' + ROOT.encode() + b'", "count": 1.0}', "count: "),
    (b'{"root": "' + ROOT.encode() + b'", "count": "1"}', "count: "),
    (b'{"root": "' + ROOT.encode() + b'", "count": true}', "count: "),
    (b'{"root": "' + ROOT.encode() + b'", "count": NaN}', "count: "),
    (b'{"root": "' + ROOT.encode() + b'", "count": 9223372036854775808}', "count: "),
    (b'{"root": "' + ROOT.encode() + b'", "count": ' + b"9" * 5000 + b"}", "not JSON"),
    (b'{"root": "' + ROOT.encode() + b'", "count": 1, "secret": "x"}', "unknown field(s): secret"),
]


def _assert_json_error(status: int, headers: dict[str, str], body: bytes, expected: int, error: str) -> None:
    assert status == expected, body
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    answer = json.loads(body)
    assert set(answer) >= {"error"} and error in answer["error"], answer


@pytest.mark.parametrize(("path", "body", "expected", "error"), BAD_COMMITS)
def test_bad_commits_are_4xx_with_a_message(
    server: str, path: str, body: bytes | None, expected: int, error: str
) -> None:
    _assert_json_error(*request(server + path, "POST", body), expected, error)


@pytest.mark.parametrize(("body", "error"), BAD_REVEALS)
def test_bad_reveals_are_400_with_a_message(server: str, clock: Clock, body: bytes, error: str) -> None:
    _commit(server, "d")
    clock.advance(hours=1)
    _assert_json_error(*request(server + "/v1/draws/d/reveal", "POST", body), 400, error)
    assert "root" not in call_json(server + "/v1/draws/d", "GET")[1]


def test_bad_requests_at_the_http_level(server: str) -> None:
    commit = server + "/v1/draws/d"
    _assert_json_error(*request(commit, "POST", None, {"Content-Length": "10001"}), 413, "over 10000 bytes")
    _assert_json_error(*request(commit, "POST", None, {"Content-Length": "12abc"}), 400, "Content-Length")
    _assert_json_error(*request(commit, "POST", None, {"Content-Length": "-1"}), 400, "Content-Length")
    _assert_json_error(*request(commit, "POST", None, {"Transfer-Encoding": "chunked"}), 411, "Content-Length")
    short = request(commit, "POST", b'{"closes_at"', {"Content-Length": "100"}, half_close=True)
    _assert_json_error(*short, 400, "shorter than its Content-Length")
    exactly_the_limit = b'{"closes_at": "2026-01-01T09:00:00Z"}'.ljust(10_000)
    assert request(commit, "POST", exactly_the_limit)[0] == 201

    status, headers, body = request(commit, "PUT", b"{}")
    _assert_json_error(status, headers, body, 405, "method not allowed")
    assert headers["Allow"] == "GET, POST"
    status, headers, body = request(commit + "/reveal", "GET")
    _assert_json_error(status, headers, body, 405, "method not allowed")
    assert headers["Allow"] == "POST"
    _assert_json_error(*request(server + "/v1/draws/" + "x" * 65, "GET"), 400, "draw_id: ")
    assert call(server + "/v1/draws/d/reveal/again")[0] == 404
    assert call(server + "/v1/draws")[0] == 404


def test_no_bad_input_gets_a_500(server: str, clock: Clock) -> None:
    """A sweep of odd bodies on every draw endpoint, before and after the close: always a 4xx JSON answer."""
    _commit(server, "d")
    bodies = [body for path, body, _, _ in BAD_COMMITS if path == "/v1/draws/d" and body is not None]
    bodies += [body for body, _ in BAD_REVEALS]
    arabic_digits = '{"closes_at": "\u0662\u0660\u0662\u0666-01-01T09:00:00Z"}'.encode()
    bodies += [b"null", b"0", b"{" + b'"a": 1, ' * 1000 + b'"b": 2}', arabic_digits]
    for moment in (T0, datetime(2026, 1, 2, tzinfo=UTC)):
        clock.now = moment
        for path in ("/v1/draws/d", "/v1/draws/d/reveal", "/v1/draws/new", "/v1/draws/new/reveal"):
            for body in bodies:
                status, _, answer = request(server + path, "POST", body)
                assert 400 <= status < 500, (path, body[:80], answer)
                assert "error" in json.loads(answer)


def test_existing_data_folders_gain_the_draws_table(tmp_path: Path) -> None:
    path = tmp_path / "witness.sqlite3"
    with sqlite3.connect(path) as db:  # the schema before draws existed, with a cosigned head
        db.executescript(
            """
            CREATE TABLE cosigned (id INTEGER PRIMARY KEY, size INTEGER NOT NULL, root TEXT NOT NULL,
                note TEXT NOT NULL, cosigned_at TEXT NOT NULL);
            CREATE TABLE refusals (id INTEGER PRIMARY KEY, time TEXT NOT NULL, size INTEGER, reason TEXT NOT NULL);
            """
        )
    log = MemoryLog()
    log.append(2)
    Store(path).add_cosigned(log.head(), log.sign(), T0)
    store = Store(path)
    latest = store.latest()
    assert latest is not None and latest.checkpoint == log.head()
    lottery = Lottery(load_or_create_signer(tmp_path / "data", "witness.test"), store, Clock(T0))
    assert lottery.commit("d", {"closes_at": CLOSES})[0] == 201


def test_a_new_database_is_private(tmp_path: Path) -> None:
    Store(tmp_path / "witness.sqlite3")
    assert stat.S_IMODE((tmp_path / "witness.sqlite3").stat().st_mode) == 0o600
