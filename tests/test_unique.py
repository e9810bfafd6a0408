"""Request ids and nonces: well formed, never repeated, and different in a forked child."""

from __future__ import annotations

import subprocess
import sys
import uuid

from pytest_lwa.unique import request_id, unique_bytes


def test_request_ids_are_random_uuids() -> None:
    ids = [request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
    # every hex digit that is not fixed takes every value
    assert {text[0] for text in ids} == set("0123456789abcdef")
    assert {text[19] for text in ids} == set("89ab")


def test_unique_bytes() -> None:
    draws = [unique_bytes(16) for _ in range(1000)]
    assert {len(draw) for draw in draws} == {16}
    assert len(set(draws)) == len(draws)
    assert unique_bytes(0) == b""


def test_a_forked_child_draws_its_own() -> None:
    script = """
import os
from pytest_lwa.unique import request_id
read, write = os.pipe()
if os.fork() == 0:
    os.write(write, request_id().encode())
    os._exit(0)
os.wait()
print(os.read(read, 100).decode(), request_id())
"""
    child, parent = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert child != parent
