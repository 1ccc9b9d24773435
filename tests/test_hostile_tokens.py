"""Hostile tokens: every attack gets its exact deny reason over HTTP and from `gymgate verify`.

Each row of ATTACKS is one attack and the reason the contract says it must get. Rows signed
with *our* private key stand for a signer bug or a parser differential: even then the token
must not open the gate. Over HTTP every attempt must answer 200 with the deny (never a 500)
and leave exactly one audit row that holds the token's hash, never the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from gymgate.api import create_app
from gymgate.cli import main
from gymgate.clock import FrozenClock
from gymgate.decisions import token_fingerprint
from gymgate.keystore import KeyStore, kid_for
from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from gymgate.tokens import MAX_TOKEN_LENGTH
from gymgate.vocabulary import DenyReason
from tests.conftest import ADMIN_TOKEN, START

Client = AsyncTestClient[Litestar]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(document: Any) -> str:
    return b64url(json.dumps(document, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Forge:
    """An attacker's workbench, plus our own signing key for the signer-bug rows."""

    key: Ed25519PrivateKey  # ours: the active key
    kid: str
    retired_token: str  # validly signed by a key that has since been retired
    attacker: Ed25519PrivateKey

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "gymgate",
            "sub": "usr_hostile",
            "jti": "pas_" + uuid.uuid4().hex[:20],
            "iat": now,
            "exp": now + 3600,
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not _DROP}

    def header(self, **changes: Any) -> dict[str, Any]:
        header: dict[str, Any] = {"alg": "EdDSA", "kid": self.kid, "typ": "JWT"}
        header.update(changes)
        return {name: value for name, value in header.items() if value is not _DROP}

    def raw(self, header: str, payload: str, key: Ed25519PrivateKey | None = None) -> str:
        """Sign already-encoded header and payload segments with an Ed25519 key (ours)."""
        signing_input = f"{header}.{payload}"
        signature = (key or self.key).sign(signing_input.encode())
        return f"{signing_input}.{b64url(signature)}"

    def sign(
        self, header: Any = None, claims: Any = None, key: Ed25519PrivateKey | None = None
    ) -> str:
        header = self.header() if header is None else header
        claims = self.claims() if claims is None else claims
        return self.raw(b64json(header), b64json(claims), key)

    def valid(self) -> str:
        return self.sign()

    def json_text(self, header_text: str, claims_text: str) -> str:
        """Sign hand-written JSON (duplicate keys, non-objects) with our key."""
        return self.raw(b64url(header_text.encode()), b64url(claims_text.encode()))

    def unsigned(self, header: dict[str, Any], signature: bytes = b"") -> str:
        return f"{b64json(header)}.{b64json(self.claims())}.{b64url(signature)}"

    def hs256(self, secret: bytes) -> str:
        signing_input = f"{b64json(self.header(alg='HS256'))}.{b64json(self.claims())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"

    def public_raw(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def attacker_jwk(self) -> dict[str, str]:
        public = self.attacker.public_key()
        x = b64url(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid_for(public)}

    def with_attacker_key(self, **header: Any) -> str:
        return self.sign(self.header(**header), key=self.attacker)


_DROP = object()  # a claim or header field to leave out


def _rs256(forge: Forge) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing_input = f"{b64json(forge.header(alg='RS256'))}.{b64json(forge.claims())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def _es256(forge: Forge) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    signing_input = f"{b64json(forge.header(alg='ES256'))}.{b64json(forge.claims())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _segments(token: str) -> list[str]:
    return token.split(".")


def _swap_signature(forge: Forge) -> str:
    header, payload, _ = _segments(forge.valid())
    return f"{header}.{payload}.{_segments(forge.valid())[2]}"


def _swap_payload(forge: Forge) -> str:
    header, _, signature = _segments(forge.valid())
    return f"{header}.{_segments(forge.valid())[1]}.{signature}"


def _edit_claims(forge: Forge, **changes: Any) -> str:
    header, payload, signature = _segments(forge.valid())
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{b64json(claims)}.{signature}"


def _non_canonical_last_char(forge: Forge) -> str:
    """Same signature bytes, second spelling: 86 characters leave 2 unused bits; set one."""
    token = forge.valid()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(token[-1]) + 1]


def _non_canonical_payload(forge: Forge) -> str:
    """A payload segment whose unused low bits are set, signed as written: a second spelling
    of the same claims, which no verifier may read."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for pad in range(3):
        payload = b64json(forge.claims(pad="x" * pad))
        if len(payload) % 4 in (2, 3):
            break
    step = 1 if len(payload) % 4 == 3 else 4  # 2 or 4 unused bits: flip the lowest
    last = alphabet[alphabet.index(payload[-1]) + step]
    return forge.raw(b64json(forge.header()), payload[:-1] + last)


def _inserted(token: str, position: int, text: str) -> str:
    return token[:position] + text + token[position:]


def _nested(forge: Forge) -> str:
    return forge.raw(b64json(forge.header(cty="JWT")), b64url(forge.valid().encode()))


def _one_megabyte(forge: Forge) -> str:
    header, _, signature = _segments(forge.valid())
    return f"{header}.{b64json(forge.claims(pad='x' * 786_000))}.{signature}"


@dataclass(frozen=True)
class Attack:
    name: str
    forge: Callable[[Forge], str]
    reason: DenyReason


def _now() -> int:
    return int(time.time())


# fmt: off
ATTACKS: list[Attack] = [
    # Algorithm confusion: only EdDSA is accepted, whatever else the header says.
    Attack("alg none, unsigned", lambda f: f.unsigned(f.header(alg="none")), "bad_signature"),
    Attack("alg None, unsigned", lambda f: f.unsigned(f.header(alg="None")), "bad_signature"),
    Attack("alg NONE, unsigned", lambda f: f.unsigned(f.header(alg="NONE")), "bad_signature"),
    Attack("alg none, our signature kept",
           lambda f: f.sign(f.header(alg="none")), "bad_signature"),
    Attack("alg missing", lambda f: f.sign(f.header(alg=_DROP)), "bad_signature"),
    Attack("alg eddsa (wrong case)", lambda f: f.sign(f.header(alg="eddsa")), "bad_signature"),
    Attack("alg as a list", lambda f: f.sign(f.header(alg=["EdDSA"])), "bad_signature"),
    Attack("HS256 keyed with our raw public key", lambda f: f.hs256(f.public_raw()),
           "bad_signature"),
    Attack("HS256 keyed with our PEM public key", lambda f: f.hs256(f.public_pem()),
           "bad_signature"),
    Attack("RS256 header and signature", _rs256, "bad_signature"),
    Attack("ES256 header and signature", _es256, "bad_signature"),
    Attack("RS256 header over our Ed25519 signature",
           lambda f: f.sign(f.header(alg="RS256")), "bad_signature"),
    # Embedded or remote keys are never trusted: the key comes from our set, by kid.
    Attack("embedded jwk of the attacker, our kid",
           lambda f: f.with_attacker_key(jwk=f.attacker_jwk()), "bad_signature"),
    Attack("jku to the attacker's JWKS, our kid",
           lambda f: f.with_attacker_key(jku="https://attacker.example/jwks.json"),
           "bad_signature"),
    Attack("x5u to the attacker's certificate, our kid",
           lambda f: f.with_attacker_key(x5u="https://attacker.example/cert.pem"),
           "bad_signature"),
    Attack("x5c with the attacker's certificate, our kid",
           lambda f: f.with_attacker_key(x5c=[b64url(b"attacker certificate")]),
           "bad_signature"),
    Attack("embedded jwk with the attacker's own kid",
           lambda f: f.with_attacker_key(jwk=f.attacker_jwk(), kid=f.attacker_jwk()["kid"]),
           "unknown_key"),
    Attack("embedded jwk, no kid",
           lambda f: f.with_attacker_key(jwk=f.attacker_jwk(), kid=_DROP), "unknown_key"),
    # kid: looked up in our key set, never used as a path, URL or query.
    Attack("kid path traversal", lambda f: f.sign(f.header(kid="../../../../etc/passwd")),
           "unknown_key"),
    Attack("kid naming our own key file",
           lambda f: f.sign(f.header(kid=f"../keys/{f.kid}.pem")), "unknown_key"),
    Attack("kid SQL injection", lambda f: f.sign(f.header(kid="' OR '1'='1' --")),
           "unknown_key"),
    Attack("kid empty", lambda f: f.sign(f.header(kid="")), "unknown_key"),
    Attack("kid our kid plus NUL", lambda f: f.sign(f.header(kid=f.kid + "\x00")),
           "unknown_key"),
    Attack("kid missing", lambda f: f.sign(f.header(kid=_DROP)), "unknown_key"),
    # A kid that is not a string breaks RFC 7515 4.1.4: the header itself is malformed.
    Attack("kid a number", lambda f: f.sign(f.header(kid=7)), "malformed"),
    Attack("kid null", lambda f: f.sign(f.header(kid=None)), "malformed"),
    Attack("kid a list", lambda f: f.sign(f.header(kid=[f.kid])), "malformed"),
    Attack("kid an object", lambda f: f.sign(f.header(kid={"kid": f.kid})), "malformed"),
    # A 10 KB kid makes the token longer than any pass: refused before parsing.
    Attack("kid 10 KB long", lambda f: f.sign(f.header(kid="k" * 10_240)), "malformed"),
    # Header extensions we do not implement must not be silently ignored (RFC 7515 4.1.11).
    Attack("unknown crit", lambda f: f.sign(f.header(crit=["x-gym"], **{"x-gym": 1})),
           "malformed"),
    Attack("crit naming exp", lambda f: f.sign(f.header(crit=["exp"])), "malformed"),
    Attack("b64 false (unencoded payload)", lambda f: f.sign(f.header(b64=False)), "malformed"),
    # Signatures. An EdDSA token whose signature is not 64 canonical bytes is not one of ours
    # (malformed); one that is but does not match is a forgery (bad_signature).
    Attack("signature stripped, dot kept", lambda f: f.valid().rsplit(".", 1)[0] + ".",
           "malformed"),
    Attack("signature segment removed", lambda f: f.valid().rsplit(".", 1)[0], "malformed"),
    Attack("signature zeroed", lambda f: f.valid().rsplit(".", 1)[0] + "." + "A" * 86,
           "bad_signature"),
    Attack("signature truncated to 48 bytes", lambda f: f.valid()[:-22], "malformed"),
    Attack("signature one character short", lambda f: f.valid()[:-1], "malformed"),
    Attack("signature doubled", lambda f: f.valid() + _segments(f.valid())[2], "malformed"),
    Attack("signature from another token", _swap_signature, "bad_signature"),
    # Claims changed under a valid signature.
    Attack("payload of another token", _swap_payload, "bad_signature"),
    Attack("sub changed", lambda f: _edit_claims(f, sub="usr_someone_else"), "bad_signature"),
    Attack("exp extended", lambda f: _edit_claims(f, exp=_now() + 10 * 86400), "bad_signature"),
    Attack("jti changed", lambda f: _edit_claims(f, jti="pas_other"), "bad_signature"),
    # Parser differentials: one signed text must mean one thing to every JSON parser.
    Attack("duplicate jti in the payload",
           lambda f: f.json_text(json.dumps(f.header()), '{"iss":"gymgate","sub":"u",'
                                 f'"jti":"a","iat":{_now()},"exp":{_now() + 60},"jti":"b"}}'),
           "malformed"),
    Attack("duplicate alg in the header",
           lambda f: f.json_text(f'{{"alg":"none","kid":"{f.kid}","alg":"EdDSA"}}',
                                 json.dumps(f.claims())), "malformed"),
    Attack("duplicate kid in the header",
           lambda f: f.json_text(f'{{"alg":"EdDSA","kid":"nope","kid":"{f.kid}"}}',
                                 json.dumps(f.claims())), "malformed"),
    Attack("header not JSON", lambda f: f.json_text("alg=EdDSA", json.dumps(f.claims())),
           "malformed"),
    Attack("header a JSON list", lambda f: f.json_text('["EdDSA"]', json.dumps(f.claims())),
           "malformed"),
    Attack("payload not JSON",
           lambda f: f.json_text(json.dumps(f.header()), "jti=a"), "malformed"),
    Attack("payload a JSON list",
           lambda f: f.json_text(json.dumps(f.header()), '["a"]'), "malformed"),
    Attack("payload NaN exp",
           lambda f: f.json_text(json.dumps(f.header()), '{"iss":"gymgate","sub":"u",'
                                 f'"jti":"a","iat":{_now()},"exp":NaN}}'), "malformed"),
    # Non-canonical base64url: one token, one spelling.
    Attack("padding on the payload", lambda f: _inserted(f.valid(), f.valid().index(".", 40), "=="),
           "malformed"),
    Attack("padding on the signature", lambda f: f.valid() + "==", "malformed"),
    Attack("stray + (standard base64)", lambda f: _inserted(f.valid(), 5, "+"), "malformed"),
    Attack("stray /", lambda f: _inserted(f.valid(), 5, "/"), "malformed"),
    Attack("stray space", lambda f: _inserted(f.valid(), 5, " "), "malformed"),
    Attack("trailing newline", lambda f: f.valid() + "\n", "malformed"),
    Attack("non-ASCII character", lambda f: _inserted(f.valid(), 5, "é"), "malformed"),
    Attack("four segments", lambda f: f.valid() + ".e30", "malformed"),
    Attack("signature with unused bits set", _non_canonical_last_char, "malformed"),
    Attack("payload with unused bits set, signed", _non_canonical_payload, "malformed"),
    Attack("empty token", lambda f: "", "malformed"),
    Attack("just dots", lambda f: "..", "malformed"),
    # Time claims, signed by our key.
    Attack("exp a string", lambda f: f.sign(claims=f.claims(exp=str(_now() + 60))),
           "invalid_claims"),
    Attack("exp a float", lambda f: f.sign(claims=f.claims(exp=_now() + 60.5)),
           "invalid_claims"),
    Attack("exp huge", lambda f: f.sign(claims=f.claims(exp=10**30)), "invalid_claims"),
    Attack("exp negative", lambda f: f.sign(claims=f.claims(exp=-1)), "invalid_claims"),
    Attack("exp true", lambda f: f.sign(claims=f.claims(exp=True)), "invalid_claims"),
    Attack("iat a string", lambda f: f.sign(claims=f.claims(iat=str(_now()))),
           "invalid_claims"),
    Attack("iat a float", lambda f: f.sign(claims=f.claims(iat=_now() + 0.5)),
           "invalid_claims"),
    Attack("iat huge", lambda f: f.sign(claims=f.claims(iat=10**30)), "invalid_claims"),
    Attack("iat negative", lambda f: f.sign(claims=f.claims(iat=-1)), "invalid_claims"),
    Attack("iat after exp",
           lambda f: f.sign(claims=f.claims(iat=_now() + 20, exp=_now() + 10)),
           "invalid_claims"),
    Attack("exp in the past", lambda f: f.sign(claims=f.claims(iat=_now() - 7200,
                                                                exp=_now() - 3600)), "expired"),
    Attack("iat in the future", lambda f: f.sign(claims=f.claims(iat=_now() + 3600)),
           "not_yet_valid"),
    Attack("nbf in the future", lambda f: f.sign(claims=f.claims(nbf=_now() + 3600)),
           "not_yet_valid"),
    # Required claims.
    Attack("exp missing", lambda f: f.sign(claims=f.claims(exp=_DROP)), "invalid_claims"),
    Attack("iat missing", lambda f: f.sign(claims=f.claims(iat=_DROP)), "invalid_claims"),
    Attack("jti missing", lambda f: f.sign(claims=f.claims(jti=_DROP)), "invalid_claims"),
    Attack("sub missing", lambda f: f.sign(claims=f.claims(sub=_DROP)), "invalid_claims"),
    Attack("jti a number", lambda f: f.sign(claims=f.claims(jti=42)), "invalid_claims"),
    Attack("jti empty", lambda f: f.sign(claims=f.claims(jti="")), "invalid_claims"),
    Attack("jti 65 characters", lambda f: f.sign(claims=f.claims(jti="p" * 65)),
           "invalid_claims"),
    Attack("sub an object", lambda f: f.sign(claims=f.claims(sub={"id": 1})), "invalid_claims"),
    Attack("iss of someone else", lambda f: f.sign(claims=f.claims(iss="evil")),
           "invalid_claims"),
    Attack("iss missing", lambda f: f.sign(claims=f.claims(iss=_DROP)), "invalid_claims"),
    # Size and nesting.
    Attack("1 MB token", _one_megabyte, "malformed"),
    Attack("token just over the length limit",
           lambda f: f.sign(claims=f.claims(pad="x" * MAX_TOKEN_LENGTH)), "malformed"),
    Attack("nested JWT (cty JWT, payload a token)", _nested, "malformed"),
    Attack("nested JWT as a JSON string",
           lambda f: f.json_text(json.dumps(f.header(cty="JWT")), json.dumps(f.valid())),
           "malformed"),
    # Keys that are no longer ours.
    Attack("signed by a retired key", lambda f: f.retired_token, "unknown_key"),
]
# fmt: on


def forge_for(keys_dir: Path) -> Forge:
    """A workbench on the key set in `keys_dir` (one active key): it rotates, retires the old
    key and keeps a token that key signed."""
    store = KeyStore(keys_dir)
    old = store.load()
    assert old.signing_key is not None
    assert old.active_kid is not None
    retiring = Forge(old.signing_key, old.active_kid, "", Ed25519PrivateKey.generate())
    retired_token = retiring.valid()
    store.rotate(FrozenClock(START + 60))
    store.retire(old.active_kid)
    keyset = store.load()
    assert keyset.signing_key is not None
    assert keyset.active_kid is not None
    return Forge(keyset.signing_key, keyset.active_kid, retired_token, retiring.attacker)


@pytest.fixture
def forge(keys_dir: Path) -> Forge:
    """Our active key, plus a token from an older key that has been retired."""
    return forge_for(keys_dir)


def hostile_fixture(forge: Forge) -> list[dict[str, str]]:
    """The attack table as JSON-ready rows ({name, token, reason}), for other verifiers (the
    scanner page) to run and be held to the same reasons as the server."""
    return [
        {"name": attack.name, "token": attack.forge(forge), "reason": attack.reason}
        for attack in ATTACKS
    ]


@pytest.fixture
def jwks_file(tmp_path: Path, forge: Forge, keys_dir: Path) -> Path:
    """What `gymgate keys export` writes: the public keys, the retired one left out."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeyStore(keys_dir).load().jwks()))
    return path


@pytest.fixture
async def live_clock_client(settings: Settings, forge: Forge) -> AsyncIterator[Client]:
    """The app on the wall clock, so the same forged tokens serve HTTP and the CLI."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


def _ids(attacks: list[Attack]) -> list[str]:
    return [attack.name for attack in attacks]


async def _audit(client: Client) -> list[dict[str, Any]]:
    response = await client.get(
        "/audit?limit=500", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_http_verify_denies_every_attack_with_its_reason_and_one_audit_row(
    forge: Forge, live_clock_client: Client, gate_secret: str, runtime: Runtime
) -> None:
    """One server per backend takes the whole table (a server per row would cost minutes)."""
    expected: dict[str, object] = {}
    answered: dict[str, object] = {}
    audit_expected: list[tuple[str, str | None, str]] = []
    for attack in ATTACKS:
        token = attack.forge(forge)
        response = await live_clock_client.post(
            "/verify", json={"token": token}, headers={"Authorization": f"Bearer {gate_secret}"}
        )
        if len(token) > Settings().max_body_bytes:  # refused before it is read: no audit
            expected[attack.name] = (413, True)
            answered[attack.name] = (response.status_code, "detail" in response.json())
            continue
        expected[attack.name] = (200, {"status": "deny", "reason": attack.reason})
        answered[attack.name] = (response.status_code, response.json())
        audit_expected.append(("deny", attack.reason, token_fingerprint(token)))

    assert answered == expected
    async with runtime.storage.writing() as session:
        rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert [(row.result, row.reason, row.token_sha256) for row in rows] == audit_expected


@pytest.mark.parametrize("attack", ATTACKS, ids=_ids(ATTACKS))
def test_cli_verify_denies_attack_with_its_reason(
    attack: Attack, forge: Forge, jwks_file: Path
) -> None:
    token = attack.forge(forge)

    result = CliRunner().invoke(main, ["verify", token, "--jwks", str(jwks_file)])

    assert result.exit_code == 1, result.output
    assert json.loads(result.output) == {"status": "deny", "reason": attack.reason}


def test_the_forge_makes_tokens_that_verify(forge: Forge, jwks_file: Path) -> None:
    """The control: without the attack, the same workbench makes a token that is allowed."""
    result = CliRunner().invoke(main, ["verify", forge.valid(), "--jwks", str(jwks_file)])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "allow"


async def test_token_of_a_refunded_payment_is_revoked(
    live_clock_client: Client, gate_secret: str
) -> None:
    payment = (
        await live_clock_client.post("/create_payment", json={"email": "r@example.com"})
    ).json()
    issued = (
        await live_clock_client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
    ).json()
    refund = await live_clock_client.post(
        f"/payments/{payment['payment_id']}/refund",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert refund.status_code == 200, refund.text

    response = await live_clock_client.post(
        "/verify",
        json={"token": issued["token"]},
        headers={"Authorization": f"Bearer {gate_secret}"},
    )

    assert response.json() == {"status": "deny", "reason": "revoked"}
    [row] = await _audit(live_clock_client)
    assert (row["result"], row["reason"], row["pass_id"]) == ("deny", "revoked", issued["pass_id"])


@pytest.mark.parametrize("token", [None, 42, 4.5, True, ["a.b.c"], {"token": "a.b.c"}], ids=repr)
async def test_a_token_that_is_not_a_string_is_a_400_with_detail_and_audited(
    token: Any, live_clock_client: Client, gate_secret: str
) -> None:
    response = await live_clock_client.post(
        "/verify", json={"token": token}, headers={"Authorization": f"Bearer {gate_secret}"}
    )

    assert response.status_code == 400, response.text
    assert "token" in response.json()["detail"]
    [row] = await _audit(live_clock_client)
    assert (row["result"], row["reason"]) == ("deny", "malformed")
