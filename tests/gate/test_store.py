"""The agent's local store: the same check-in as the server, at most once per gate, every
decision kept for upload in the admission's transaction, private files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gymgate.clock import FrozenClock
from gymgate.gate.store import STATE_FILE, LocalStore, SyncedRules
from gymgate.keystore import KeySet, KeyStore
from gymgate.services.checkin import CheckIn
from gymgate.tokens import TokenVerifier, issue_token
from tests.conftest import START


@pytest.fixture
def keyset(keys_dir: Path) -> KeySet:
    return KeyStore(keys_dir).load()


def rules(keyset: KeySet) -> SyncedRules:
    return SyncedRules(
        gate="north",
        issuer="gymgate",
        leeway_seconds=30,
        pass_ttl_seconds=86400,
        jwks=keyset.jwks(),
        synced_at=START,
        clock_offset=0.0,
        cursor="",
    )


def token(keyset: KeySet, pass_id: str) -> str:
    return issue_token(
        keyset,
        issuer="gymgate",
        pass_id=pass_id,
        user_id="usr_1",
        issued_at=int(START),
        expires_at=int(START) + 3600,
    )


def check_in(store: LocalStore, keyset: KeySet) -> CheckIn:
    verifier = TokenVerifier.for_passes(issuer="gymgate", leeway_seconds=30, pass_ttl_seconds=86400)
    public = KeySet.from_jwks(keyset.jwks())
    return CheckIn(store, verifier, public, FrozenClock(START + 10))


async def test_a_pass_admits_once_per_gate_and_every_decision_is_kept(
    tmp_path: Path, keyset: KeySet
) -> None:
    store = LocalStore(tmp_path / "state")
    store.apply_state(rules(keyset), [], [])
    decide = check_in(store, keyset)

    first = await decide(token(keyset, "pas_1"), "north")
    second = await decide(token(keyset, "pas_1"), "north")
    junk = await decide("junk", "north")

    assert (first.result, second.reason, junk.reason) == ("allow", "already_used", "malformed")
    kept = store.pending(10)
    assert [(d.result, d.reason) for d in kept] == [
        ("allow", None),
        ("deny", "already_used"),
        ("deny", "malformed"),
    ]
    assert kept[0].token == token(keyset, "pas_1")


async def test_synced_revocations_and_uses_deny(tmp_path: Path, keyset: KeySet) -> None:
    store = LocalStore(tmp_path / "state")
    expires = int(START) + 3600
    store.apply_state(
        rules(keyset), [("pas_rev", expires)], [("pas_used", START, "south", expires)]
    )
    decide = check_in(store, keyset)

    revoked = await decide(token(keyset, "pas_rev"), "north")
    second = await decide(token(keyset, "pas_used"), "north")

    assert revoked.reason == "revoked"
    assert (second.reason, second.used_gate) == ("already_used", "south")


async def test_decisions_survive_reopening_and_leave_once_acknowledged(
    tmp_path: Path, keyset: KeySet
) -> None:
    store = LocalStore(tmp_path / "state")
    store.apply_state(rules(keyset), [], [])
    await check_in(store, keyset)(token(keyset, "pas_1"), "north")
    store.close()  # as after a crash: nothing kept in memory

    reopened = LocalStore(tmp_path / "state")
    pending = reopened.pending(10)
    assert len(pending) == 1
    reopened.acknowledge([pending[0].id])
    assert reopened.pending_count() == 0
    assert reopened.rules() == rules(keyset)


@pytest.mark.usefixtures("umask")
def test_state_is_private_whatever_the_umask(tmp_path: Path) -> None:
    LocalStore(tmp_path / "state").close()

    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state" / STATE_FILE).stat().st_mode) == 0o600


def test_never_synced_has_no_rules(tmp_path: Path) -> None:
    assert LocalStore(tmp_path / "state").rules() is None
