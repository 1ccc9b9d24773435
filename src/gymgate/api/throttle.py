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

Checking a gate secret may wait on the database, so guesses sent all at once must not all
slip through while the first ones are being checked: distinct unproven credentials still
being checked from an address count as failures already (the same credential many times over
counts once, so a new gate's first burst of scans is not refused).

Memory stays bounded: at most `capacity` addresses and `capacity` proven credentials, each
held as a keyed hash (BLAKE2b under a per-process random key), never the credential itself.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import Counter, OrderedDict
from collections.abc import Mapping

from litestar.datastructures import State
from litestar.exceptions import TooManyRequestsException

from gymgate.api.windows import DEFAULT_CAPACITY, WindowCounter
from gymgate.clock import Clock

__all__ = ["Attempt", "AuthThrottle", "install_throttle", "throttle_of"]

log = logging.getLogger("gymgate.api")
WINDOW_SECONDS = 60.0
_STATE_KEY = "auth_throttle"


class Attempt:
    """One credential presented from one address; the caller sets `worked` once checked.

    Used as `with throttle.attempt(address, credential) as attempt:`. A class rather than a
    generator-based context manager: it is entered on every /verify, and a generator's
    setup and teardown cost more than the throttle's own bookkeeping.
    """

    __slots__ = ("_proven", "_throttle", "address", "fingerprint", "worked")

    def __init__(
        self, throttle: AuthThrottle, address: str, fingerprint: bytes, proven: bool
    ) -> None:
        self.address = address
        self.fingerprint = fingerprint
        self.worked = False
        self._throttle = throttle
        self._proven = proven

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self._throttle._finish(self, self._proven, checked=kind is None)


class AuthThrottle:
    """Failed authentications per client address, and the credentials proven to work."""

    def __init__(self, limit: int, clock: Clock, capacity: int = DEFAULT_CAPACITY) -> None:
        self.limit = limit
        self._clock = clock
        self._failures = WindowCounter(WINDOW_SECONDS, capacity)
        self._proven: OrderedDict[bytes, None] = OrderedDict()
        self._capacity = capacity
        # address -> unproven credentials being checked right now (how many requests each)
        self._checking: dict[str, Counter[bytes]] = {}
        self._key = secrets.token_bytes(32)

    @property
    def addresses_held(self) -> int:
        return len(self._failures)

    @property
    def credentials_held(self) -> int:
        return len(self._proven)

    def attempt(self, address: str, credential: str) -> Attempt:
        """Around checking `credential`: 429 first if `address` is throttled and the
        credential is not proven; afterwards a failure is counted, or the credential proven.
        If the check raises, nothing is counted."""
        fingerprint = self._fingerprint(credential)
        proven = fingerprint in self._proven
        attempt = Attempt(self, address, fingerprint, proven)
        if not proven:
            self._refuse_if_throttled(attempt)
            checking = self._checking.setdefault(address, Counter())
            checking[fingerprint] += 1
        return attempt

    def _finish(self, attempt: Attempt, proven: bool, *, checked: bool) -> None:
        if proven:
            if checked and attempt.worked:
                self._proven.move_to_end(attempt.fingerprint)
            return
        checking = self._checking[attempt.address]
        checking[attempt.fingerprint] -= 1
        if checking[attempt.fingerprint] == 0:
            del checking[attempt.fingerprint]
        if not checking:
            del self._checking[attempt.address]
        if checked:
            self._record(attempt)

    def _refuse_if_throttled(self, attempt: Attempt) -> None:
        now = self._clock.now()
        # Other credentials still being checked may all turn out wrong: count them already.
        checking: Mapping[bytes, int] = self._checking.get(attempt.address, {})
        others = len(checking) - (attempt.fingerprint in checking)
        if self._failures.count(attempt.address, now) + others < self.limit:
            return
        wait = self._failures.retry_after(attempt.address, now)
        raise TooManyRequestsException(
            f"too many failed authentications from this address: at most {self.limit} a "
            f"minute; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )

    def _record(self, attempt: Attempt) -> None:
        if attempt.worked:
            if len(self._proven) >= self._capacity:
                self._proven.popitem(last=False)
            self._proven[attempt.fingerprint] = None
        elif self._failures.add(attempt.address, self._clock.now()) == self.limit:
            log.warning("authentication throttled for %s: %d failures", attempt.address, self.limit)

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
