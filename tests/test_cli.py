"""The `gymgate` command line, driven with click's CliRunner against real files and databases."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from alembic import command
from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from testkit.databases import sqlite_url
from testkit.live_server import free_port

from gymgate.cli import main
from gymgate.clock import FrozenClock
from gymgate.keystore import KeyStore
from gymgate.models import Gate
from gymgate.runtime import Runtime
from gymgate.services.gates import secret_digest
from gymgate.settings import Settings
from gymgate.storage import alembic_config, schema_is_current
from gymgate.tokens import issue_token
from tests.api.helpers import new_pass, pay, scan, stranger_keyset, tampered

Client = AsyncTestClient[Litestar]
DAY = 86400


def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner(env=env).invoke(main, list(args), input=stdin)


def last_line(text: str) -> str:
    return text.rstrip("\n").rsplit("\n", 1)[-1]


def one_line_error(result: Result) -> str:
    """The error a failed command printed: exactly one line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    # Commands that open the database first say which one ("using …"); then the error.
    lines = [line for line in result.stderr.splitlines() if not line.startswith("using ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def no_stray_gymgate_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI refuses unknown GYMGATE_* variables; start each test from a clean slate."""
    for name in list(os.environ):
        if name.startswith("GYMGATE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A keys dir that does not exist yet and a SQLite file that does not exist yet."""
    return {
        "GYMGATE_KEYS_DIR": str(tmp_path / "cli-keys"),
        "GYMGATE_DATABASE_URL": sqlite_url(tmp_path / "cli.db"),
    }


@pytest.fixture
def keys(env: dict[str, str]) -> KeyStore:
    return KeyStore(Path(env["GYMGATE_KEYS_DIR"]))


def rotate(env: dict[str, str]) -> str:
    result = invoke(env, "keys", "rotate")
    assert result.exit_code == 0, result.output
    return last_line(result.stdout)


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in group.commands.items():
        if isinstance(sub, click.Group):
            yield from all_commands(sub, (*prefix, name))
        else:
            yield (*prefix, name)


CONTRACT_COMMANDS = [
    ("serve",),
    ("keys", "rotate"),
    ("keys", "list"),
    ("keys", "retire"),
    ("keys", "export"),
    ("gates", "add"),
    ("verify",),
    ("db", "upgrade"),
]


def test_every_contract_command_exists() -> None:
    assert set(CONTRACT_COMMANDS) <= set(all_commands(main))


@pytest.mark.parametrize("path", list(all_commands(main)), ids=" ".join)
def test_help_of_every_command_explains_it(path: tuple[str, ...], env: dict[str, str]) -> None:
    result = invoke(env, *path, "--help")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    description = result.stdout.split("\n\n")[1].strip()
    assert len(description) > 10, result.stdout


# keys


def test_keys_rotate_prints_the_new_kid_on_the_last_line(
    env: dict[str, str], keys: KeyStore
) -> None:
    result = invoke(env, "keys", "rotate")

    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == keys.load().active_kid


def test_keys_rotate_demotes_the_previous_key_and_writes_0600_files(
    env: dict[str, str], keys: KeyStore
) -> None:
    first = rotate(env)
    second = rotate(env)

    assert second != first
    statuses = {e.kid: e.status for e in keys.load().entries}
    assert statuses == {first: "verify-only", second: "active"}
    assert (keys.directory / f"{second}.pem").stat().st_mode & 0o777 == 0o600


def test_keys_list_prints_a_table_of_kid_status_and_created(env: dict[str, str]) -> None:
    first = rotate(env)
    second = rotate(env)

    result = invoke(env, "keys", "list")

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["KID", "STATUS", "CREATED"]
    table = {row.split()[0]: row.split()[1:] for row in rows}
    assert set(table) == {first, second}
    assert table[first][0] == "verify-only"
    assert table[second][0] == "active"
    assert all(created.endswith("Z") for _, created in table.values())


def test_keys_list_json_is_a_list_of_kid_created_status(
    env: dict[str, str], keys: KeyStore
) -> None:
    first = rotate(env)
    second = rotate(env)
    assert invoke(env, "keys", "retire", first).exit_code == 0

    result = invoke(env, "keys", "list", "--json")

    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert listed == [
        {"kid": e.kid, "created_at": e.created_at, "status": e.status} for e in keys.load().entries
    ]
    assert [(k["kid"], k["status"]) for k in listed] == [(first, "retired"), (second, "active")]


def test_keys_list_without_a_keys_dir_is_a_clear_error(env: dict[str, str]) -> None:
    message = one_line_error(invoke(env, "keys", "list"))

    assert "does not exist" in message
    assert "gymgate keys rotate" in message


def test_keys_retire_stops_accepting_the_kid(env: dict[str, str], keys: KeyStore) -> None:
    old = rotate(env)
    rotate(env)

    result = invoke(env, "keys", "retire", old)

    assert result.exit_code == 0, result.output
    assert keys.load().verification_key(old) is None
    assert not (keys.directory / f"{old}.pem").exists()


def test_keys_retire_of_an_unknown_kid_is_a_one_line_error(env: dict[str, str]) -> None:
    kid = rotate(env)

    message = one_line_error(invoke(env, "keys", "retire", "no-such-kid"))

    assert "unknown kid 'no-such-kid'" in message
    assert kid in message  # the known kids, to pick from


def test_keys_retire_of_the_active_key_is_refused(env: dict[str, str], keys: KeyStore) -> None:
    kid = rotate(env)

    message = one_line_error(invoke(env, "keys", "retire", kid))

    assert "gymgate keys rotate" in message
    assert keys.load().active_kid == kid


def test_keys_export_prints_the_public_jwks(env: dict[str, str], keys: KeyStore) -> None:
    retired = rotate(env)
    rotate(env)
    rotate(env)
    invoke(env, "keys", "retire", retired)

    result = invoke(env, "keys", "export")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == keys.load().jwks()
    assert len(document["keys"]) == 2
    assert retired not in result.stdout
    for jwk in document["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "kid", "use", "alg"}


def test_keys_export_out_writes_the_jwks_to_a_file(
    env: dict[str, str], keys: KeyStore, tmp_path: Path
) -> None:
    rotate(env)
    target = tmp_path / "jwks.json"

    result = invoke(env, "keys", "export", "--out", str(target))

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert json.loads(target.read_text()) == keys.load().jwks()


@pytest.mark.usefixtures("umask")
def test_keys_export_out_writes_a_0644_file_whatever_the_umask(
    env: dict[str, str], tmp_path: Path
) -> None:
    rotate(env)
    target = tmp_path / "jwks.json"
    target.write_text("{}")
    target.chmod(0o600)  # an earlier export, or a file made by hand

    result = invoke(env, "keys", "export", "--out", str(target))

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert len(json.loads(target.read_text())["keys"]) == 1


# gates


async def gate_names_by_digest(database_url: str) -> dict[str, str]:
    async with (
        Runtime.open(Settings(database_url=database_url)) as runtime,
        runtime.storage.reading() as session,
    ):
        rows = await session.execute(select(Gate.secret_sha256, Gate.name))
        return {digest: name for digest, name in rows}


def test_gates_add_prints_the_secret_on_the_last_line_and_stores_only_its_hash(
    env: dict[str, str], database_url: str
) -> None:
    env = {**env, "GYMGATE_DATABASE_URL": database_url}

    result = invoke(env, "gates", "add", "front-door")

    assert result.exit_code == 0, result.output
    secret = last_line(result.stdout)
    assert len(secret) >= 32
    stored = asyncio.run(gate_names_by_digest(database_url))
    assert stored == {secret_digest(secret): "front-door"}
    assert secret not in json.dumps(stored)


@pytest.fixture
def migrated(env: dict[str, str]) -> dict[str, str]:
    """The env, with its SQLite database created by `gymgate db upgrade`."""
    assert invoke(env, "db", "upgrade").exit_code == 0
    return env


def test_gates_add_refuses_to_create_a_database_and_says_where_it_looked(
    env: dict[str, str], tmp_path: Path
) -> None:
    # Run from the wrong directory, a command must not act on a new empty database that
    # the server never reads.
    message = one_line_error(invoke(env, "gates", "add", "side-door"))

    assert f"no gymgate database at {tmp_path / 'cli.db'}" in message
    assert not (tmp_path / "cli.db").exists()


def test_gates_add_says_which_database_and_keys_it_uses(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    result = invoke(migrated, "gates", "add", "side-door")

    assert result.exit_code == 0, result.output
    assert f"using SQLite {tmp_path / 'cli.db'}, keys in {tmp_path / 'cli-keys'}" in result.stderr


def test_gates_add_twice_with_one_name_is_a_clear_error(migrated: dict[str, str]) -> None:
    env = migrated
    assert invoke(env, "gates", "add", "front-door").exit_code == 0

    message = one_line_error(invoke(env, "gates", "add", "front-door"))

    assert "already exists" in message


def test_gates_add_with_a_bad_name_is_a_clear_error(migrated: dict[str, str]) -> None:
    env = migrated
    message = one_line_error(invoke(env, "gates", "add", "front door!"))

    assert "gate name" in message


def test_gates_list_shows_the_added_gates(migrated: dict[str, str]) -> None:
    env = migrated
    invoke(env, "gates", "add", "side-door")
    invoke(env, "gates", "add", "front-door")

    result = invoke(env, "gates", "list")

    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()[1:]  # under a header line
    assert [line.split()[0] for line in rows] == ["front-door", "side-door"]


def test_gates_add_prints_an_enrollment_code_before_the_secret(migrated: dict[str, str]) -> None:
    lines = invoke(migrated, "gates", "add", "side-door").stdout.splitlines()

    assert lines[-2] == f"gymgate-gate:1:side-door:{lines[-1]}"


def test_gates_revoke_shows_in_the_list_and_stops_the_secret(migrated: dict[str, str]) -> None:
    env = migrated
    invoke(env, "gates", "add", "side-door")

    result = invoke(env, "gates", "revoke", "side-door")

    assert result.exit_code == 0, result.output
    listed = json.loads(invoke(env, "gates", "list", "--json").stdout)
    assert listed[0]["name"] == "side-door"
    assert listed[0]["revoked_at"] is not None
    assert "revoked" in one_line_error(invoke(env, "gates", "rotate", "side-door"))


def test_gates_rotate_prints_a_new_secret_on_the_last_line(
    env: dict[str, str], database_url: str
) -> None:
    env = {**env, "GYMGATE_DATABASE_URL": database_url}
    old = last_line(invoke(env, "gates", "add", "front-door").stdout)

    result = invoke(env, "gates", "rotate", "front-door")

    assert result.exit_code == 0, result.output
    new = last_line(result.stdout)
    assert new != old
    assert asyncio.run(gate_names_by_digest(database_url)) == {secret_digest(new): "front-door"}


def test_gates_revoke_of_an_unknown_gate_is_a_clear_error(migrated: dict[str, str]) -> None:
    assert "no gate 'nowhere'" in one_line_error(invoke(migrated, "gates", "revoke", "nowhere"))


# verify (offline): same JSON as the server's /verify


@pytest.fixture
def clock() -> FrozenClock:
    """The server's clock, two days behind the wall clock that `gymgate verify` reads."""
    return FrozenClock(time.time() - 2 * DAY)


def catch_up(clock: FrozenClock) -> None:
    clock.advance(time.time() - clock.now())


@pytest.fixture
def jwks_file(keys_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "jwks.json"
    result = invoke({"GYMGATE_KEYS_DIR": str(keys_dir)}, "keys", "export", "--out", str(target))
    assert result.exit_code == 0, result.output
    return target


def offline(token: str, jwks_file: Path) -> tuple[int, dict[str, object]]:
    result = invoke({}, "verify", token, "--jwks", str(jwks_file))
    assert result.stderr == ""
    answer: dict[str, object] = json.loads(result.stdout)
    return result.exit_code, answer


async def test_offline_allow_matches_the_server_and_exits_0(
    client: Client, gate_secret: str, clock: FrozenClock, jwks_file: Path
) -> None:
    catch_up(clock)
    token = (await new_pass(client))["token"]

    code, answer = offline(token, jwks_file)  # first: offline does not consume the pass

    assert code == 0
    assert answer["status"] == "allow"
    assert answer == await scan(client, gate_secret, token)


async def test_offline_expired_matches_the_server_and_exits_1(
    client: Client, gate_secret: str, clock: FrozenClock, jwks_file: Path
) -> None:
    token = (await new_pass(client))["token"]  # two days ago: expired a day ago
    catch_up(clock)

    code, answer = offline(token, jwks_file)

    assert code == 1
    assert answer == {"status": "deny", "reason": "expired"}
    assert answer == await scan(client, gate_secret, token)


async def test_offline_bad_signature_matches_the_server_and_exits_1(
    client: Client, gate_secret: str, clock: FrozenClock, jwks_file: Path
) -> None:
    catch_up(clock)
    token = tampered((await new_pass(client))["token"])

    code, answer = offline(token, jwks_file)

    assert code == 1
    assert answer == {"status": "deny", "reason": "bad_signature"}
    assert answer == await scan(client, gate_secret, token)


async def test_offline_unknown_key_matches_the_server_and_exits_1(
    client: Client, gate_secret: str, clock: FrozenClock, jwks_file: Path
) -> None:
    catch_up(clock)
    now = int(clock.now())
    payment = await pay(client)
    token = issue_token(
        stranger_keyset(),
        issuer="gymgate",
        pass_id="pass_of_a_stranger",
        user_id=payment["user_id"],
        issued_at=now,
        expires_at=now + DAY,
    )

    code, answer = offline(token, jwks_file)

    assert code == 1
    assert answer == {"status": "deny", "reason": "unknown_key"}
    assert answer == await scan(client, gate_secret, token)


def fresh_token(keys: KeyStore) -> str:
    """A token signed now by the store's active key, for pass p1 of user u1."""
    now = int(time.time())
    return issue_token(
        keys.load(), issuer="gymgate", pass_id="p1", user_id="u1", issued_at=now, expires_at=now + 9
    )


def test_offline_verify_of_a_retired_key_token_is_unknown_key(
    env: dict[str, str], keys: KeyStore, tmp_path: Path
) -> None:
    old = rotate(env)
    token = fresh_token(keys)
    rotate(env)
    jwks = tmp_path / "jwks.json"
    invoke(env, "keys", "retire", old)
    invoke(env, "keys", "export", "--out", str(jwks))

    result = invoke(env, "verify", token, "--jwks", str(jwks))

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"status": "deny", "reason": "unknown_key"}


def test_offline_verify_reads_the_token_from_stdin(
    env: dict[str, str], keys: KeyStore, tmp_path: Path
) -> None:
    rotate(env)
    token = fresh_token(keys)
    jwks = tmp_path / "jwks.json"
    invoke(env, "keys", "export", "--out", str(jwks))

    result = invoke(env, "verify", "-", "--jwks", str(jwks), stdin=token + "\n")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["pass_id"] == "p1"


def test_offline_verify_of_junk_is_malformed(env: dict[str, str], tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')

    result = invoke(env, "verify", "not-a-token", "--jwks", str(jwks))

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"status": "deny", "reason": "malformed"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("this is not json", "is not a readable JWKS file"),
        ('{"kids": []}', "not a JWKS document"),
        ('{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "!!"}]}', "unreadable"),
    ],
)
def test_offline_verify_with_a_bad_jwks_file_is_a_clear_error(
    env: dict[str, str], tmp_path: Path, content: str, expected: str
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(content)

    message = one_line_error(invoke(env, "verify", "a.b.c", "--jwks", str(jwks)))

    assert expected in message


def test_offline_verify_with_a_missing_jwks_file_is_a_usage_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = invoke(env, "verify", "a.b.c", "--jwks", str(tmp_path / "missing.json"))

    assert result.exit_code == 2
    assert "does not exist" in result.stderr


# db


def test_db_upgrade_migrates_a_new_sqlite_file(env: dict[str, str], tmp_path: Path) -> None:
    result = invoke(env, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.db").exists()
    assert schema_is_current(env["GYMGATE_DATABASE_URL"])


def test_db_upgrade_applies_migrations_to_an_empty_schema(
    env: dict[str, str], database_url: str
) -> None:
    command.downgrade(alembic_config(database_url), "base")
    assert not schema_is_current(database_url)

    result = invoke({**env, "GYMGATE_DATABASE_URL": database_url}, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert schema_is_current(database_url)


def test_db_upgrade_twice_is_harmless(env: dict[str, str]) -> None:
    assert invoke(env, "db", "upgrade").exit_code == 0

    result = invoke(env, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout


def test_db_upgrade_of_an_unreachable_database_is_a_clear_error(env: dict[str, str]) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"

    message = one_line_error(invoke({**env, "GYMGATE_DATABASE_URL": url}, "db", "upgrade"))

    assert "could not migrate the database" in message


# config and start-up


def test_config_show_masks_the_admin_token(env: dict[str, str]) -> None:
    env = {
        **env,
        "GYMGATE_ADMIN_TOKEN": "the-real-admin-token-123",
        "GYMGATE_DATABASE_URL": "postgresql+asyncpg://gym:hunter2@db.internal/gymgate",
    }

    result = invoke(env, "config", "show")

    assert result.exit_code == 0, result.output
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert shown["GYMGATE_ADMIN_TOKEN"] == "****"
    assert shown["GYMGATE_DATABASE_URL"] == "postgresql+asyncpg://gym:****@db.internal/gymgate"
    assert shown["GYMGATE_KEYS_DIR"] == env["GYMGATE_KEYS_DIR"]
    assert "the-real-admin-token-123" not in result.output
    assert "hunter2" not in result.output


def test_config_show_masks_a_password_in_the_query_string(env: dict[str, str]) -> None:
    url = "postgresql+asyncpg://gym:hunter2@db.internal/gymgate?sslpassword=hunter3&ssl=require"

    result = invoke({**env, "GYMGATE_DATABASE_URL": url}, "config", "show")

    assert result.exit_code == 0, result.output
    assert (
        "GYMGATE_DATABASE_URL=postgresql+asyncpg://gym:****@db.internal/gymgate"
        "?sslpassword=****&ssl=require"
    ) in result.stdout.splitlines()
    assert "hunter2" not in result.output
    assert "hunter3" not in result.output


@pytest.mark.parametrize(
    "url",
    ["postgresql://gym:hunter2@db.internal/gymgate", "postgres://gym@db/gymgate?password=hunter2"],
)
def test_a_bad_database_url_fails_without_printing_its_password(
    env: dict[str, str], url: str
) -> None:
    message = one_line_error(invoke({**env, "GYMGATE_DATABASE_URL": url}, "config", "show"))

    assert "GYMGATE_DATABASE_URL" in message
    assert "hunter2" not in message


def test_an_unknown_variable_fails_every_command_naming_it(env: dict[str, str]) -> None:
    message = one_line_error(invoke({**env, "GYMGATE_ADMIN_TOKN": "x"}, "keys", "list"))

    assert message.startswith("Error: GYMGATE_ADMIN_TOKN is not a gymgate setting")


def test_an_invalid_value_fails_naming_the_variable(env: dict[str, str]) -> None:
    message = one_line_error(invoke({**env, "GYMGATE_PASS_TTL_SECONDS": "soon"}, "config", "show"))

    assert "GYMGATE_PASS_TTL_SECONDS" in message


@pytest.fixture
def uvicorn_must_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started the server despite a bad set-up")

    monkeypatch.setattr("uvicorn.run", refuse)


@pytest.mark.usefixtures("uvicorn_must_not_start")
def test_serve_without_an_admin_token_refuses_to_start(env: dict[str, str]) -> None:
    message = one_line_error(invoke(env, "serve"))

    assert "GYMGATE_ADMIN_TOKEN" in message


@pytest.mark.usefixtures("uvicorn_must_not_start")
def test_serve_refuses_a_private_key_readable_by_others(
    env: dict[str, str], keys: KeyStore
) -> None:
    kid = rotate(env)
    (keys.directory / f"{kid}.pem").chmod(0o644)
    env = {**env, "GYMGATE_ADMIN_TOKEN": "a-long-enough-admin-token"}

    message = one_line_error(invoke(env, "serve"))

    assert "chmod 600" in message


@pytest.mark.usefixtures("uvicorn_must_not_start")
def test_serve_refuses_a_key_set_other_users_could_write(
    env: dict[str, str], keys: KeyStore
) -> None:
    rotate(env)
    keys.metadata_path.chmod(0o664)
    env = {**env, "GYMGATE_ADMIN_TOKEN": "a-long-enough-admin-token"}

    message = one_line_error(invoke(env, "serve"))

    assert f"`chmod 600 {keys.metadata_path}`" in message


def test_audit_list_shows_nothing_on_a_new_database(migrated: dict[str, str]) -> None:
    env = migrated
    result = invoke(env, "audit", "list", "--json")

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
