"""Values an answer needs to be unique, not secret: request ids and token nonces.

They come from a generator seeded once from the system (and again in a forked child), not from
``os.urandom``, which releases the GIL around its system call: inside a test's server each such draw cost
~14 µs instead of 0.5 µs (docs/benchmarks.md). Whatever grants access (client secrets, codes, the token
key) still comes from :mod:`secrets`.
"""

from __future__ import annotations

import os
import random
from typing import Final

__all__ = ["request_id", "unique_bytes"]

#: the bits of a UUID that name its version and variant, and their values for a random (version 4) one
_UUID_FIXED: Final = ~(0xF000 << 64 | 0xC000 << 48)
_UUID_4: Final = 0x4000 << 64 | 0x8000 << 48

_generator = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=_generator.seed)


def unique_bytes(length: int) -> bytes:
    """``length`` random bytes."""
    return _generator.randbytes(length)


def request_id() -> str:
    """A random (version 4) UUID, as Amazon's ``x-amzn-RequestId``."""
    bits = _generator.getrandbits(128) & _UUID_FIXED | _UUID_4
    digits = f"{bits:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
