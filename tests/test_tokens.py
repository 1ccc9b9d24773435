"""Pass tokens: issue and verify, each failure mapped to exactly one contract deny reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gymgate.errors import KeyStoreError, TokenRejected
from gymgate.keystore import KeyEntry, KeySet, kid_for
from gymgate.tokens import MAX_TOKEN_LENGTH, PassClaims, TokenVerifier, issue_token
from gymgate.vocabulary import DenyReason

NOW = 1_799_913_600
TTL = 3600
LEEWAY = 30


def keyset_of(private: Ed25519PrivateKey) -> KeySet:
    entry = KeyEntry(kid_for(private.public_key()), "", "active", private.public_key())
    return KeySet((entry,), private)


@pytest.fixture(scope="module")
def keyset() -> KeySet:
    return keyset_of(Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def foreign_keyset() -> KeySet:
    return keyset_of(Ed25519PrivateKey.generate())


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(issuer="gymgate", leeway_seconds=LEEWAY)


def issue(keyset: KeySet, *, issued_at: int = NOW, expires_at: int = NOW + TTL) -> str:
    return issue_token(
        keyset,
        issuer="gymgate",
        pass_id="pass_0123456789ab",
        user_id="user_0123456789ab",
        issued_at=issued_at,
        expires_at=expires_at,
    )


def sign(keyset: KeySet, claims: dict[str, Any], **header: Any) -> str:
    """A token signed by our own key with arbitrary claims: only the claims are wrong."""
    assert keyset.signing_key is not None
    headers = {"kid": keyset.active_kid, **header}
    return jwt.encode(claims, keyset.signing_key, algorithm="EdDSA", headers=headers)


def good_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": "gymgate",
        "sub": "user_0123456789ab",
        "jti": "pass_0123456789ab",
        "iat": NOW,
        "exp": NOW + TTL,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(document: dict[str, Any]) -> str:
    return b64url(json.dumps(document).encode())


def reason_for(verifier: TokenVerifier, token: Any, keyset: KeySet, now: float = NOW) -> DenyReason:
    with pytest.raises(TokenRejected) as rejected:
        verifier.verify(token, keyset, now)
    return rejected.value.reason


def test_an_issued_token_verifies_back_to_its_claims(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    token = issue(keyset)

    claims = verifier.verify(token, keyset, NOW)

    assert claims == PassClaims(
        pass_id="pass_0123456789ab",
        user_id="user_0123456789ab",
        issued_at=NOW,
        expires_at=NOW + TTL,
        kid=keyset.active_kid or "",
    )


def test_an_issued_token_is_an_eddsa_jwt_naming_its_kid(keyset: KeySet) -> None:
    token = issue(keyset)

    assert jwt.get_unverified_header(token) == {
        "alg": "EdDSA",
        "typ": "JWT",
        "kid": keyset.active_kid,
    }
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload == {
        "iss": "gymgate",
        "sub": "user_0123456789ab",
        "jti": "pass_0123456789ab",
        "iat": NOW,
        "exp": NOW + TTL,
    }


def test_issuing_without_a_signing_key_fails_clearly(keyset: KeySet) -> None:
    verify_only = KeySet(keyset.entries)

    with pytest.raises(KeyStoreError, match="gymgate keys rotate"):
        issue(verify_only)


def test_a_token_past_exp_plus_leeway_is_expired(verifier: TokenVerifier, keyset: KeySet) -> None:
    token = issue(keyset)

    assert reason_for(verifier, token, keyset, now=NOW + TTL + LEEWAY + 1) == "expired"


@pytest.mark.parametrize("late", [0, 1, LEEWAY - 1, LEEWAY])
def test_a_token_past_exp_but_inside_the_leeway_is_allowed(
    verifier: TokenVerifier, keyset: KeySet, late: int
) -> None:
    token = issue(keyset)

    assert verifier.verify(token, keyset, NOW + TTL + late).pass_id == "pass_0123456789ab"


def test_a_token_issued_beyond_the_leeway_in_the_future_is_not_yet_valid(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    token = issue(keyset, issued_at=NOW + LEEWAY + 1, expires_at=NOW + TTL)

    assert reason_for(verifier, token, keyset) == "not_yet_valid"


def test_a_token_issued_inside_the_leeway_in_the_future_is_allowed(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    token = issue(keyset, issued_at=NOW + LEEWAY, expires_at=NOW + TTL)

    assert verifier.verify(token, keyset, NOW).issued_at == NOW + LEEWAY


def test_a_token_with_nbf_in_the_future_is_not_yet_valid(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    token = sign(keyset, good_claims(nbf=NOW + 3 * LEEWAY))

    assert reason_for(verifier, token, keyset) == "not_yet_valid"


def test_alg_none_without_a_signature_is_bad_signature(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    _, payload, _ = issue(keyset).split(".")
    header = b64url_json({"alg": "none", "typ": "JWT", "kid": keyset.active_kid})

    assert reason_for(verifier, f"{header}.{payload}.", keyset) == "bad_signature"


def test_alg_none_keeping_the_original_signature_is_bad_signature(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    _, payload, signature = issue(keyset).split(".")
    header = b64url_json({"alg": "none", "typ": "JWT", "kid": keyset.active_kid})

    assert reason_for(verifier, f"{header}.{payload}.{signature}", keyset) == "bad_signature"


@pytest.mark.parametrize(("alg", "digest"), [("HS256", hashlib.sha256), ("HS512", hashlib.sha512)])
@pytest.mark.parametrize("key_form", ["raw", "pem"])
def test_hmac_signed_with_our_public_key_is_bad_signature(
    verifier: TokenVerifier, keyset: KeySet, alg: str, digest: Any, key_form: str
) -> None:
    """The algorithm-confusion attack: the public key (which we publish) as an HMAC secret."""
    public = keyset.entries[0].public_key
    secret = (
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if key_form == "raw"
        else public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    header = b64url_json({"alg": alg, "typ": "JWT", "kid": keyset.active_kid})
    payload = b64url_json(good_claims())
    signature = b64url(hmac.new(secret, f"{header}.{payload}".encode(), digest).digest())

    assert reason_for(verifier, f"{header}.{payload}.{signature}", keyset) == "bad_signature"


def test_a_token_signed_by_a_key_not_in_our_set_is_unknown_key(
    verifier: TokenVerifier, keyset: KeySet, foreign_keyset: KeySet
) -> None:
    token = issue(foreign_keyset)

    assert reason_for(verifier, token, keyset) == "unknown_key"


def test_a_foreign_key_claiming_our_kid_is_bad_signature(
    verifier: TokenVerifier, keyset: KeySet, foreign_keyset: KeySet
) -> None:
    assert foreign_keyset.signing_key is not None
    token = jwt.encode(
        good_claims(),
        foreign_keyset.signing_key,
        algorithm="EdDSA",
        headers={"kid": keyset.active_kid},
    )

    assert reason_for(verifier, token, keyset) == "bad_signature"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "EdDSA", "typ": "JWT"},
        {"alg": "EdDSA", "typ": "JWT", "kid": "../../etc/passwd"},
        {"alg": "EdDSA", "typ": "JWT", "kid": "x", "jwk": {"kty": "OKP"}},
    ],
)
def test_a_kid_that_is_missing_or_not_ours_is_unknown_key(
    verifier: TokenVerifier, keyset: KeySet, header: dict[str, Any]
) -> None:
    _, payload, signature = issue(keyset).split(".")

    token = f"{b64url_json(header)}.{payload}.{signature}"

    assert reason_for(verifier, token, keyset) == "unknown_key"


def test_a_kid_that_is_not_a_string_is_malformed(verifier: TokenVerifier, keyset: KeySet) -> None:
    _, payload, signature = issue(keyset).split(".")
    header = b64url_json({"alg": "EdDSA", "typ": "JWT", "kid": 7})

    assert reason_for(verifier, f"{header}.{payload}.{signature}", keyset) == "malformed"


def test_a_header_without_alg_is_bad_signature(verifier: TokenVerifier, keyset: KeySet) -> None:
    _, payload, signature = issue(keyset).split(".")
    header = b64url_json({"typ": "JWT", "kid": keyset.active_kid})

    assert reason_for(verifier, f"{header}.{payload}.{signature}", keyset) == "bad_signature"


@pytest.mark.parametrize("length", [0, 43, 85, 87])
def test_an_eddsa_token_with_a_signature_of_the_wrong_length_is_malformed(
    verifier: TokenVerifier, keyset: KeySet, length: int
) -> None:
    header, payload, signature = issue(keyset).split(".")
    resized = (signature * 2)[:length]

    assert reason_for(verifier, f"{header}.{payload}.{resized}", keyset) == "malformed"


def test_a_retired_kid_is_unknown_key(verifier: TokenVerifier, keyset: KeySet) -> None:
    token = issue(keyset)
    entry = keyset.entries[0]
    retired = KeySet((KeyEntry(entry.kid, "", "retired", entry.public_key),))

    assert reason_for(verifier, token, retired) == "unknown_key"


def test_a_verify_only_key_still_verifies(verifier: TokenVerifier, keyset: KeySet) -> None:
    token = issue(keyset)
    entry = keyset.entries[0]
    demoted = KeySet((KeyEntry(entry.kid, "", "verify-only", entry.public_key),))

    assert verifier.verify(token, demoted, NOW).kid == entry.kid


def test_a_tampered_payload_is_bad_signature(verifier: TokenVerifier, keyset: KeySet) -> None:
    header, _, signature = issue(keyset).split(".")
    forged = b64url_json(good_claims(sub="someone_else", exp=NOW + 365 * 86400))

    assert reason_for(verifier, f"{header}.{forged}.{signature}", keyset) == "bad_signature"


def test_a_flipped_signature_byte_is_bad_signature(verifier: TokenVerifier, keyset: KeySet) -> None:
    header, payload, signature = issue(keyset).split(".")
    first = "B" if signature[0] == "A" else "A"

    token = f"{header}.{payload}.{first}{signature[1:]}"

    assert reason_for(verifier, token, keyset) == "bad_signature"


@pytest.mark.parametrize("missing", ["exp", "iat", "jti", "sub"])
def test_a_missing_required_claim_is_invalid_claims(
    verifier: TokenVerifier, keyset: KeySet, missing: str
) -> None:
    token = sign(keyset, good_claims(**{missing: None}))

    assert reason_for(verifier, token, keyset) == "invalid_claims"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"iss": None},
        {"exp": "tomorrow"},
        {"exp": float(NOW + TTL)},
        {"iat": True},
        {"jti": ""},
        {"jti": 12345},
        {"sub": "u" * 65},
        {"iat": NOW, "exp": NOW - 1},  # iat after exp (yet inside the leeway)
    ],
)
def test_wrong_claims_signed_by_our_key_are_invalid_claims(
    verifier: TokenVerifier, keyset: KeySet, changes: dict[str, Any]
) -> None:
    token = sign(keyset, good_claims(**changes))

    assert reason_for(verifier, token, keyset) == "invalid_claims"


def test_a_token_from_another_issuer_is_invalid_claims(keyset: KeySet) -> None:
    token = issue(keyset)
    strict = TokenVerifier(issuer="another-gym", leeway_seconds=LEEWAY)

    assert reason_for(strict, token, keyset) == "invalid_claims"


@pytest.mark.parametrize("replacement", {"A": "B", "Q": "R", "g": "h", "w": "x"}.items())
def test_a_non_canonical_last_signature_character_is_malformed(
    verifier: TokenVerifier, keyset: KeySet, replacement: tuple[str, str]
) -> None:
    """Base64url's padding bits give each signature a second spelling; we accept only one."""
    canonical, other = replacement
    # Signatures are deterministic: vary exp until one ends with the character we want.
    candidates = (issue(keyset, expires_at=NOW + TTL + i) for i in range(400))
    token = next((t for t in candidates if t.endswith(canonical)), None)
    assert token is not None, f"no signature ending in {canonical!r} in 400 tries"
    head = token[:-1]
    assert verifier.verify(head + canonical, keyset, NOW).pass_id == "pass_0123456789ab"

    assert reason_for(verifier, head + other, keyset) == "malformed"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "hello",
        "a.b",
        "a.b.c.d",
        "not base64!.payload.signature",
        "%%%.%%%.%%%",
        "x" * (MAX_TOKEN_LENGTH + 1),
        None,
        12345,
        ["a", "b"],
        {"token": "x"},
    ],
)
def test_junk_is_malformed(verifier: TokenVerifier, keyset: KeySet, token: Any) -> None:
    assert reason_for(verifier, token, keyset) == "malformed"


def test_an_oversized_but_well_signed_token_is_malformed(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    token = sign(keyset, good_claims(padding="x" * MAX_TOKEN_LENGTH))

    assert reason_for(verifier, token, keyset) == "malformed"


@pytest.mark.parametrize("field", ["crit", "b64"])
def test_a_critical_header_we_do_not_support_is_malformed(
    verifier: TokenVerifier, keyset: KeySet, field: str
) -> None:
    value: Any = ["exp"] if field == "crit" else False
    _, payload, signature = issue(keyset).split(".")
    header = b64url_json({"alg": "EdDSA", "typ": "JWT", "kid": keyset.active_kid, field: value})

    assert reason_for(verifier, f"{header}.{payload}.{signature}", keyset) == "malformed"


def test_a_payload_that_is_not_an_object_is_rejected(
    verifier: TokenVerifier, keyset: KeySet
) -> None:
    assert keyset.signing_key is not None
    header = b64url_json({"alg": "EdDSA", "typ": "JWT", "kid": keyset.active_kid})
    payload = b64url(b"[1, 2, 3]")
    signature = b64url(keyset.signing_key.sign(f"{header}.{payload}".encode()))

    assert reason_for(verifier, f"{header}.{payload}.{signature}", keyset) == "malformed"
