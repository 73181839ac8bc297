"""What every offline choice draws from: a hash of the document's seed and the value's place in it."""

from __future__ import annotations

import hashlib


class Entropy:
    """Draws for one document. A place is a path such as `$.address.city`, `$.tags[1]` or `$.sku/pattern#3`:
    the same seed and place always give the same draw, and a value does not shift when a sibling changes."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed

    def digest(self, place: str) -> bytes:
        """sha256(seed + UTF-8 place): 32 bytes."""
        return hashlib.sha256(self._seed + place.encode()).digest()

    def number(self, place: str) -> int:
        """The digest's first 8 bytes, big-endian: 0 <= number < 2**64."""
        return int.from_bytes(self.digest(place)[:8], "big")
