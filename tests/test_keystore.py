"""The key set on disk: rotate, retire, file permissions, JWKS, and reloading on change."""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gymgate.clock import FrozenClock, to_iso
from gymgate.errors import ConfigError, KeyStoreError
from gymgate.keystore import KeyEntry, KeySet, KeyStore, ReloadingKeySet, kid_for

JWK_FIELDS = {"kty", "crv", "x", "kid", "use", "alg"}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys")


def test_first_rotate_makes_a_0700_directory_and_a_0600_private_key(
    store: KeyStore, clock: FrozenClock
) -> None:
    kid = store.rotate(clock)

    assert mode_of(store.directory) == 0o700
    assert mode_of(store.directory / f"{kid}.pem") == 0o600
    assert store.load().active_kid == kid


def test_every_private_key_file_is_0600_after_several_rotations(
    store: KeyStore, clock: FrozenClock
) -> None:
    kids = [store.rotate(clock) for _ in range(3)]

    pems = sorted(store.directory.glob("*.pem"))
    assert [p.stem for p in pems] == sorted(kids)
    assert all(mode_of(p) == 0o600 for p in pems)


def test_rotate_makes_the_new_key_active_and_the_old_one_verify_only(
    store: KeyStore, clock: FrozenClock
) -> None:
    old = store.rotate(clock)
    clock.advance(60)

    new = store.rotate(clock)

    keyset = store.load()
    assert new != old
    assert keyset.active_kid == new
    assert {e.kid: e.status for e in keyset.entries} == {old: "verify-only", new: "active"}
    assert keyset.verification_key(old) is not None
    assert keyset.verification_key(new) is not None


def test_the_loaded_signing_key_is_the_active_one(store: KeyStore, clock: FrozenClock) -> None:
    store.rotate(clock)
    new = store.rotate(clock)

    keyset = store.load()

    assert keyset.signing_key is not None
    assert kid_for(keyset.signing_key.public_key()) == new


def test_created_at_comes_from_the_clock(store: KeyStore, clock: FrozenClock) -> None:
    clock.advance(3600)
    store.rotate(clock)

    assert store.load().entries[0].created_at == to_iso(clock.now())


def test_retire_denies_the_key_and_deletes_its_private_half(
    store: KeyStore, clock: FrozenClock
) -> None:
    old = store.rotate(clock)
    new = store.rotate(clock)

    store.retire(old)

    keyset = store.load()
    assert keyset.verification_key(old) is None
    assert keyset.verification_key(new) is not None
    assert {e.kid: e.status for e in keyset.entries} == {old: "retired", new: "active"}
    assert not (store.directory / f"{old}.pem").exists()
    assert [k["kid"] for k in keyset.jwks()["keys"]] == [new]


def test_retiring_the_active_key_is_refused(store: KeyStore, clock: FrozenClock) -> None:
    kid = store.rotate(clock)

    with pytest.raises(KeyStoreError, match="active signing key"):
        store.retire(kid)

    assert store.load().active_kid == kid
    assert (store.directory / f"{kid}.pem").exists()


def test_retiring_an_unknown_kid_names_it_and_the_known_ones(
    store: KeyStore, clock: FrozenClock
) -> None:
    kid = store.rotate(clock)

    with pytest.raises(KeyStoreError) as raised:
        store.retire("no-such-kid")

    assert "'no-such-kid'" in str(raised.value)
    assert kid in str(raised.value)


def test_jwks_serves_public_keys_only(store: KeyStore, clock: FrozenClock) -> None:
    store.rotate(clock)
    store.rotate(clock)
    keyset = store.load()

    document = keyset.jwks()

    assert len(document["keys"]) == 2
    for jwk in document["keys"]:
        assert set(jwk) == JWK_FIELDS  # in particular no "d"
        assert (jwk["kty"], jwk["crv"], jwk["use"], jwk["alg"]) == (
            "OKP",
            "Ed25519",
            "sig",
            "EdDSA",
        )
        assert len(b64url_decode(jwk["x"])) == 32


def test_jwks_x_is_the_public_half_of_the_signing_key(store: KeyStore, clock: FrozenClock) -> None:
    store.rotate(clock)
    keyset = store.load()
    assert keyset.signing_key is not None

    (jwk,) = keyset.jwks()["keys"]

    raw = keyset.signing_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    private_raw = keyset.signing_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    assert b64url_decode(jwk["x"]) == raw
    assert base64.urlsafe_b64encode(private_raw).rstrip(b"=").decode() not in json.dumps(jwk)


def test_metadata_file_holds_no_private_material(store: KeyStore, clock: FrozenClock) -> None:
    kid = store.rotate(clock)
    private = serialization.load_pem_private_key(
        (store.directory / f"{kid}.pem").read_bytes(), None
    )
    assert isinstance(private, Ed25519PrivateKey)
    private_raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )

    metadata = store.metadata_path.read_text()

    assert "PRIVATE" not in metadata
    assert base64.urlsafe_b64encode(private_raw).rstrip(b"=").decode() not in metadata
    assert '"d"' not in metadata


def test_kid_is_the_rfc7638_thumbprint_in_base32_cut_to_8_characters(
    store: KeyStore, clock: FrozenClock
) -> None:
    kid = store.rotate(clock)
    (jwk,) = store.load().jwks()["keys"]

    canonical = '{"crv":"Ed25519","kty":"OKP","x":"' + jwk["x"] + '"}'
    thumbprint = base64.b32encode(hashlib.sha256(canonical.encode()).digest())

    assert kid == thumbprint.decode().lower()[:8]


def test_kids_never_start_with_a_dash_so_the_cli_never_reads_them_as_options(
    store: KeyStore, clock: FrozenClock
) -> None:
    kids = [store.rotate(clock) for _ in range(40)]

    assert all(kid.isalnum() and kid.islower() for kid in kids)


def test_a_key_set_read_back_from_its_jwks_verifies_the_same_kids(
    store: KeyStore, clock: FrozenClock
) -> None:
    old = store.rotate(clock)
    new = store.rotate(clock)
    keyset = store.load()

    offline = KeySet.from_jwks(json.loads(json.dumps(keyset.jwks())))

    assert offline.signing_key is None
    assert offline.active_kid is None
    for kid in (old, new):
        key = offline.verification_key(kid)
        assert key is not None
        assert kid_for(key) == kid


def test_from_jwks_skips_keys_that_cannot_verify_our_tokens() -> None:
    document = {"keys": [{"kty": "RSA", "kid": "rsa-1", "n": "xx", "e": "AQAB"}]}

    assert KeySet.from_jwks(document).entries == ()


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"keys": "none"},
        {"keys": ["not-an-object"]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "dG9vLXNob3J0"}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k"}]},
    ],
)
def test_from_jwks_refuses_a_document_that_is_not_a_jwks(document: object) -> None:
    with pytest.raises(KeyStoreError):
        KeySet.from_jwks(document)


def test_loading_a_missing_keys_directory_says_how_to_make_one(store: KeyStore) -> None:
    with pytest.raises(KeyStoreError, match="gymgate keys rotate"):
        store.load()


def test_a_corrupt_metadata_file_is_reported(store: KeyStore, clock: FrozenClock) -> None:
    store.rotate(clock)
    store.metadata_path.write_text("{not json")

    with pytest.raises(KeyStoreError, match="corrupt"):
        store.load()


def test_ensure_active_key_makes_a_first_key_once(store: KeyStore, clock: FrozenClock) -> None:
    first = store.ensure_active_key(clock)
    again = store.ensure_active_key(clock)

    assert first == again
    assert len(store.load().entries) == 1


def test_without_private_key_files_the_key_set_only_verifies(
    store: KeyStore, clock: FrozenClock
) -> None:
    kid = store.rotate(clock)
    (store.directory / f"{kid}.pem").unlink()

    keyset = store.load()

    assert keyset.signing_key is None
    assert keyset.verification_key(kid) is not None


def test_reloading_key_set_notices_a_rotation_done_on_disk(
    store: KeyStore, clock: FrozenClock
) -> None:
    old = store.rotate(clock)
    reloading = ReloadingKeySet(KeyStore(store.directory), check_every_seconds=0)
    assert reloading.current().active_kid == old

    new = KeyStore(store.directory).rotate(clock)  # another process, e.g. the CLI

    current = reloading.current()
    assert current.active_kid == new
    assert current.verification_key(old) is not None


def test_reloading_key_set_notices_a_retirement_done_on_disk(
    store: KeyStore, clock: FrozenClock
) -> None:
    old = store.rotate(clock)
    store.rotate(clock)
    reloading = ReloadingKeySet(KeyStore(store.directory), check_every_seconds=0)
    assert reloading.current().verification_key(old) is not None

    KeyStore(store.directory).retire(old)

    assert reloading.current().verification_key(old) is None


def test_reloading_key_set_checks_the_disk_at_most_once_per_interval(
    store: KeyStore, clock: FrozenClock
) -> None:
    old = store.rotate(clock)
    reloading = ReloadingKeySet(KeyStore(store.directory), check_every_seconds=3600)

    store.rotate(clock)

    assert reloading.current().active_kid == old


@pytest.mark.parametrize(("recheck_seconds", "found"), [(0, True), (3600, False)])
def test_an_unknown_kid_sends_the_reloading_key_set_to_the_disk_at_most_so_often(
    store: KeyStore,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    recheck_seconds: int,
    found: bool,
) -> None:
    """Another server rotated between our periodic checks: its passes must still verify."""
    store.rotate(clock)
    reloading = ReloadingKeySet(KeyStore(store.directory), check_every_seconds=3600)
    monkeypatch.setattr("gymgate.keystore.MISS_RECHECK_SECONDS", recheck_seconds)

    new = store.rotate(clock)

    assert (reloading.verification_key(new) is not None) is found
    assert reloading.verification_key("no-such-kid") is None


def test_reloading_key_set_keeps_the_last_good_keys_when_the_file_is_corrupt(
    store: KeyStore, clock: FrozenClock
) -> None:
    kid = store.rotate(clock)
    reloading = ReloadingKeySet(KeyStore(store.directory), check_every_seconds=0)

    store.metadata_path.write_text("{half written")

    assert reloading.current().active_kid == kid


def test_permission_check_refuses_a_key_readable_by_others(
    store: KeyStore, clock: FrozenClock
) -> None:
    kid = store.rotate(clock)
    pem = store.directory / f"{kid}.pem"
    pem.chmod(0o644)

    with pytest.raises(ConfigError) as raised:
        store.check_private_key_permissions()

    assert str(pem) in str(raised.value)
    assert "chmod 600" in str(raised.value)


def test_permission_check_accepts_0600_keys(store: KeyStore, clock: FrozenClock) -> None:
    store.rotate(clock)
    store.rotate(clock)

    store.check_private_key_permissions()


# file modes and trust: whoever can write keyset.json decides which tokens are accepted


def add_foreign_verify_only_key(store: KeyStore) -> str:
    """What a local user with write access to keyset.json would do: trust their own key."""
    foreign = Ed25519PrivateKey.generate().public_key()
    kid = kid_for(foreign)
    document = json.loads(store.metadata_path.read_text())
    jwk = KeySet((KeyEntry(kid, "", "verify-only", foreign),)).jwks()["keys"][0]
    document["keys"].append({"kid": kid, "created_at": "", "status": "verify-only", "x": jwk["x"]})
    store.metadata_path.write_text(json.dumps(document))
    return kid


@pytest.mark.usefixtures("umask")
def test_a_rotation_leaves_exact_modes_whatever_the_umask(
    store: KeyStore, clock: FrozenClock
) -> None:
    first = store.rotate(clock)
    second = store.rotate(clock)  # rewrites keyset.json over the first one

    assert mode_of(store.directory) == 0o700
    assert mode_of(store.metadata_path) == 0o600
    assert mode_of(store.directory / ".lock") == 0o600
    assert mode_of(store.directory / f"{first}.pem") == 0o600
    assert mode_of(store.directory / f"{second}.pem") == 0o600


def test_a_rotation_leaves_no_temporary_files_behind(store: KeyStore, clock: FrozenClock) -> None:
    kids = [store.rotate(clock) for _ in range(3)]

    names = {path.name for path in store.directory.iterdir()}

    assert names == {"keyset.json", ".lock", *(f"{kid}.pem" for kid in kids)}


@pytest.mark.parametrize("operation", ["ensure_active_key", "rotate", "retire"])
def test_changing_the_key_set_makes_a_loose_keys_dir_0700_and_keeps_its_files(
    store: KeyStore, clock: FrozenClock, operation: str
) -> None:
    """An install whose keys were made in a checkout's keys/, left at 0755 by git."""
    old = store.rotate(clock)
    store.rotate(clock)
    (store.directory / ".gitignore").write_text("*\n")
    store.directory.chmod(0o755)

    if operation == "retire":
        store.retire(old)
    else:
        getattr(store, operation)(clock)

    assert mode_of(store.directory) == 0o700
    assert (store.directory / ".gitignore").read_text() == "*\n"


def test_ensure_active_key_makes_a_checked_out_keys_dir_0700(tmp_path: Path) -> None:
    """A fresh clone under umask 002: keys/ is group-writable but holds no key yet."""
    directory = tmp_path / "keys"
    directory.mkdir()
    directory.chmod(0o775)
    (directory / ".gitignore").write_text("*\n!.gitignore\n")

    KeyStore(directory).ensure_active_key(FrozenClock(0))

    assert mode_of(directory) == 0o700
    assert (directory / ".gitignore").exists()


def test_ensure_active_key_serves_from_a_read_only_keys_dir(
    store: KeyStore, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verify-only deployment mounts keys/ read-only: it cannot be made 0700, nor need be."""
    kid = store.rotate(clock)
    store.directory.chmod(0o755)

    def read_only_file_system(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("os.chmod", read_only_file_system)

    assert store.ensure_active_key(clock) == kid


def test_a_group_writable_key_set_is_refused_so_a_foreign_key_is_never_trusted(
    store: KeyStore, clock: FrozenClock
) -> None:
    store.rotate(clock)
    foreign = add_foreign_verify_only_key(store)
    store.metadata_path.chmod(0o664)

    with pytest.raises(KeyStoreError) as raised:
        store.load()

    message = str(raised.value)
    assert f"`chmod 600 {store.metadata_path}`" in message
    assert "\n" not in message
    assert foreign not in message


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o620], ids=oct)
def test_a_key_set_writable_by_group_or_others_is_refused(
    store: KeyStore, clock: FrozenClock, mode: int
) -> None:
    store.rotate(clock)
    store.metadata_path.chmod(mode)

    with pytest.raises(KeyStoreError, match=f"mode {mode:o}, writable by other users"):
        store.load()


def test_a_rotation_refuses_to_carry_over_a_key_set_others_could_write(
    store: KeyStore, clock: FrozenClock
) -> None:
    """Rewriting it 0600 would launder whatever a local user had slipped in."""
    store.rotate(clock)
    add_foreign_verify_only_key(store)
    store.metadata_path.chmod(0o664)
    before = store.metadata_path.read_text()

    with pytest.raises(KeyStoreError, match="chmod 600"):
        store.rotate(clock)

    assert store.metadata_path.read_text() == before
    assert mode_of(store.metadata_path) == 0o664
    assert len(list(store.directory.glob("*.pem"))) == 1


def test_a_keys_dir_writable_by_others_is_refused_on_load(
    store: KeyStore, clock: FrozenClock
) -> None:
    store.rotate(clock)
    store.directory.chmod(0o777)

    with pytest.raises(KeyStoreError) as raised:
        store.load()

    assert f"`chmod 700 {store.directory}`" in str(raised.value)


def test_a_key_set_readable_by_others_still_loads_and_the_next_change_makes_it_0600(
    store: KeyStore, clock: FrozenClock
) -> None:
    """What older versions left under umask 022: public keys only, nobody else can write."""
    old = store.rotate(clock)
    store.directory.chmod(0o755)
    store.metadata_path.chmod(0o644)
    (store.directory / ".lock").chmod(0o644)
    assert store.load().active_kid == old

    store.rotate(clock)

    assert mode_of(store.metadata_path) == 0o600
    assert mode_of(store.directory / ".lock") == 0o600
    assert mode_of(store.directory) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_key_set_owned_by_another_user_is_refused(store: KeyStore, clock: FrozenClock) -> None:
    store.rotate(clock)
    os.chown(store.metadata_path, 4242, -1)  # 4242 could rewrite which keys are trusted

    with pytest.raises(KeyStoreError, match="owned by uid 4242"):
        store.load()


def test_the_serving_permission_check_refuses_a_group_writable_key_set(
    store: KeyStore, clock: FrozenClock
) -> None:
    store.rotate(clock)
    store.metadata_path.chmod(0o660)

    with pytest.raises(KeyStoreError, match=f"chmod 600 {store.metadata_path}"):
        store.check_private_key_permissions()


def test_a_running_server_keeps_its_keys_when_the_key_set_becomes_group_writable(
    store: KeyStore, clock: FrozenClock
) -> None:
    kid = store.rotate(clock)
    reloading = ReloadingKeySet(KeyStore(store.directory), check_every_seconds=0)

    foreign = add_foreign_verify_only_key(store)
    store.metadata_path.chmod(0o664)

    assert reloading.verification_key(foreign) is None
    assert reloading.verification_key(kid) is not None
