"""gymgate.binding: device keys and their thumbprints, and every shared hostile case decided
exactly as tests/binding_cases.json says (the list the scanner page's verifier runs too)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from testkit.phones import Phone

from gymgate.binding import device_key, moved_away, split_scan
from gymgate.decisions import Decision, verify_offline
from gymgate.errors import TokenRejected
from gymgate.keystore import KeySet
from gymgate.tokens import TokenVerifier
from tests.binding_cases import CASES_FILE, BindingCase, build_cases, fixed_keyset

SHARED = json.loads(CASES_FILE.read_text())


def decide(keyset: KeySet, case_text: str, rebound: dict[str, str], now: float) -> Decision:
    """What a gate decides: the offline verdict, then the synced list of moved passes."""
    verifier = TokenVerifier.for_passes(issuer="gymgate", leeway_seconds=30, pass_ttl_seconds=86400)
    decision = verify_offline(verifier, keyset, case_text, now)
    claims = decision.claims
    if claims is not None and moved_away(rebound.get(claims.pass_id), claims.jkt):
        return Decision("deny", "revoked", claims)
    return decision


def test_the_thumbprint_is_rfc_8037s_example() -> None:
    # RFC 8037, appendix A.3: the Ed25519 key of A.2 and its RFC 7638 thumbprint.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert device_key(jwk).jkt == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_one_key_has_one_thumbprint_whatever_the_member_order() -> None:
    jwk = Phone("P-256").jwk
    assert device_key(dict(reversed(list(jwk.items())))).jkt == device_key(jwk).jkt


@pytest.mark.parametrize(
    "jwk",
    [
        None,
        "a key",
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "EC", "crv": "P-384", "x": "A" * 43, "y": "A" * 43},
        {"kty": "oct", "k": "c2VjcmV0"},
    ],
)
def test_anything_but_an_ed25519_or_p256_public_key_is_refused(jwk: Any) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        device_key(jwk)


@pytest.mark.parametrize("text", ["a~b", "a~b~c~d", "~"])
def test_a_code_with_one_or_three_separators_is_malformed(text: str) -> None:
    with pytest.raises(TokenRejected) as rejected:
        split_scan(text)
    assert rejected.value.reason == "malformed"


@pytest.mark.parametrize("case", SHARED["cases"], ids=[c["name"] for c in SHARED["cases"]])
def test_each_shared_case_gets_its_decision(case: dict[str, Any]) -> None:
    keyset = KeySet.from_jwks(SHARED["jwks"])
    rebound = {entry["pass_id"]: entry["jkt"] for entry in case["rebound"]}

    decision = decide(keyset, case["scanned"], rebound, SHARED["now"])

    assert (decision.result, decision.reason) == (case["status"], case["reason"])


def test_the_shared_file_holds_every_case_the_builder_makes() -> None:
    built = build_cases(fixed_keyset(), SHARED["now"])
    assert [c["name"] for c in SHARED["cases"]] == [case.name for case in built]
    assert {c["reason"] for c in SHARED["cases"]} == {
        None,
        "malformed",
        "invalid_claims",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "revoked",
    }


@pytest.mark.parametrize("seconds_later", [0, 3600])
def test_the_cases_hold_for_fresh_keys_at_any_time(keys_dir: Any, seconds_later: int) -> None:
    from gymgate.keystore import KeyStore

    keyset = KeyStore(keys_dir).load()
    now = 1_800_000_000 + seconds_later
    cases: list[BindingCase] = build_cases(keyset, now)
    public = KeySet.from_jwks(keyset.jwks())
    for case in cases:
        decision = decide(public, case.scanned, case.rebound, now)
        assert (decision.result, decision.reason) == (case.status, case.reason), case.name
