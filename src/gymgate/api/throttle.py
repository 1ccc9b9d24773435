"""Throttling failed authentication per client address, so guessing secrets is not free.

After `limit` wrong gate secrets or admin tokens from one address within a minute, that
address is throttled until its minute is over: a credential presented from it gets 429 with
Retry-After *without being checked*, unless it is one this server has already seen working.

Why not check every credential and refuse only the wrong ones? Because then a right guess
still answers 200 and a wrong one 429: the attacker learns the answer as fast as before, and
the throttle changes nothing but the status code. Not checking unproven credentials is what
makes guessing slow; remembering proven ones is what keeps the gates and operators behind the
same proxy as the attacker working. A credential first used during a throttle waits out the
minute, once.

An unproven credential is counted as a failure *before* it is checked, and taken back if it
works: checking a gate secret may wait on the database, and guesses sent all at once must
not all slip through while the first ones are still being checked.

Memory stays bounded: at most `capacity` addresses and `capacity` proven credentials, each
held as a keyed hash (BLAKE2b under a per-process random key), never the credential itself.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import OrderedDict
from typing import NamedTuple

from litestar.datastructures import State
from litestar.exceptions import TooManyRequestsException

from gymgate.api.windows import DEFAULT_CAPACITY, WindowCounter
from gymgate.clock import Clock

__all__ = ["Attempt", "AuthThrottle", "install_throttle", "throttle_of"]

log = logging.getLogger("gymgate.api")
WINDOW_SECONDS = 60.0
_STATE_KEY = "auth_throttle"


class Attempt(NamedTuple):
    """One credential presented from one address, as the throttle knows it."""

    address: str
    fingerprint: bytes


class AuthThrottle:
    """Failed authentications per client address, and the credentials proven to work."""

    def __init__(self, limit: int, clock: Clock, capacity: int = DEFAULT_CAPACITY) -> None:
        self.limit = limit
        self._clock = clock
        self._failures = WindowCounter(WINDOW_SECONDS, capacity)
        self._proven: OrderedDict[bytes, None] = OrderedDict()
        self._capacity = capacity
        self._key = secrets.token_bytes(32)

    @property
    def addresses_held(self) -> int:
        return len(self._failures)

    @property
    def credentials_held(self) -> int:
        return len(self._proven)

    def check(self, address: str, credential: str) -> Attempt:
        """Before checking `credential`: count it as a failure of `address` unless it is
        proven, and raise 429 if that is one failure too many this minute."""
        attempt = Attempt(address, self._fingerprint(credential))
        if attempt.fingerprint in self._proven:
            return attempt
        now = self._clock.now()
        failures = self._failures.add(address, now)
        if failures <= self.limit:
            return attempt
        if failures == self.limit + 1:
            log.warning("authentication throttled for %s: over %d failures", address, self.limit)
        wait = self._failures.retry_after(address, now)
        raise TooManyRequestsException(
            f"too many failed authentications from this address: at most {self.limit} a "
            f"minute; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )

    def succeeded(self, attempt: Attempt) -> None:
        """The credential worked: take back the failure `check` counted, and remember it as
        proven, so that it keeps working from a throttled address."""
        if attempt.fingerprint in self._proven:
            self._proven.move_to_end(attempt.fingerprint)
            return
        self._failures.take_back(attempt.address)
        if len(self._proven) >= self._capacity:
            self._proven.popitem(last=False)
        self._proven[attempt.fingerprint] = None

    def _fingerprint(self, credential: str) -> bytes:
        # Keyed BLAKE2b: a MAC like HMAC-SHA256, at a quarter of its cost on every /verify.
        raw = credential.encode("utf-8", "replace")
        return hashlib.blake2b(raw, key=self._key, digest_size=16).digest()


def install_throttle(state: State, limit: int, clock: Clock) -> None:
    """Give an app (through its state) the throttle that `throttle_of` finds."""
    state[_STATE_KEY] = AuthThrottle(limit, clock)


def throttle_of(state: State) -> AuthThrottle:
    """The app's throttle (installed at app start by `request_limits`)."""
    throttle: AuthThrottle = state[_STATE_KEY]
    return throttle
