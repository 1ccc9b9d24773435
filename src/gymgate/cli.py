"""The `gymgate` command: serve, manage keys and gates, verify offline, migrate, read audit."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec

from gymgate.binding import DEFAULT_PROOF_WINDOW_SECONDS, MAX_PROOF_WINDOW_SECONDS
from gymgate.clock import SystemClock, to_iso
from gymgate.decisions import decision_body, verify_offline
from gymgate.errors import GymgateError
from gymgate.keyfiles import write_public_file
from gymgate.keystore import KeySet, KeyStore
from gymgate.runtime import Runtime, pass_verifier
from gymgate.services.audit import AuditFilter
from gymgate.services.gates import enrollment_code
from gymgate.services.retention import Pruned
from gymgate.settings import Settings
from gymgate.storage import (
    backend_of,
    describe_database,
    require_database,
    schema_is_current,
    upgrade_database,
)
from gymgate.wallet import configured_wallets

__all__ = ["main"]

T = TypeVar("T")
# Seconds a bound pass's proof may be off, either way (as GYMGATE_PROOF_WINDOW_SECONDS).
_PROOF_WINDOW = click.IntRange(1, MAX_PROOF_WINDOW_SECONDS)


def _settings(context: click.Context) -> Settings:
    settings: Settings = context.ensure_object(dict)["settings"]
    return settings


def _run(action: Callable[[], T]) -> T:
    """Run a command body, turning domain errors into a one-line message and exit 1."""
    try:
        return action()
    except GymgateError as error:
        raise click.ClickException(str(error)) from None


def _with_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open the existing database and keys, run `work`, close them.

    Says on stderr which database and keys it uses: a command run from the wrong directory
    must not look as if it worked. It never creates a database (only `serve` and
    `db upgrade` do).
    """
    click.echo(
        f"using {describe_database(settings)}, keys in {settings.keys_dir.resolve()}", err=True
    )

    async def body() -> T:
        async with Runtime.open(settings) as runtime:
            return await work(runtime)

    def checked() -> T:
        require_database(settings)
        if not schema_is_current(settings.database_url):
            raise click.ClickException(
                "the database schema is not up to date: run `gymgate db upgrade`"
            )
        return asyncio.run(body())

    return _run(checked)


@click.group()
@click.version_option(package_name="gymgate")
@click.pass_context
def main(context: click.Context) -> None:
    """gymgate: gym passes as signed QR codes, admitted at most once.

    Configuration comes from GYMGATE_* environment variables (see the README);
    `gymgate config show` prints what is in effect.
    """
    try:
        context.ensure_object(dict)["settings"] = Settings.from_env(os.environ)
    except GymgateError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
def serve(context: click.Context, host: str, port: int, workers: int) -> None:
    """Run the HTTP service.

    Makes a first signing key when keys/ has none, and migrates an embedded SQLite
    database. A Postgres database must be migrated first with `gymgate db upgrade`.

        gymgate serve --host 0.0.0.0 --port 8000
    """
    import uvicorn

    from gymgate.http_protocol import protocol_for
    from gymgate.logs import configure_logging  # Litestar and structlog: only when serving

    settings = _settings(context)

    def prepare() -> str:
        settings.check_for_serving()
        configured_wallets(settings)  # a wallet set in part, or its files unusable: stop here
        store = KeyStore(settings.keys_dir)
        kid = store.ensure_active_key(SystemClock())
        store.check_private_key_permissions()
        if backend_of(settings.database_url) == "sqlite":
            upgrade_database(settings.database_url)
        elif not schema_is_current(settings.database_url):
            raise click.ClickException(
                "the database schema is not up to date: run `gymgate db upgrade`"
            )
        return kid

    kid = _run(prepare)
    configure_logging(settings.log_level)
    logging.getLogger("gymgate").info("signing with kid %s", kid)
    _run(lambda: asyncio.run(_warn_about_clock(settings)))
    uvicorn.run(
        "gymgate.api:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers propagate to ours: JSON lines with request ids
        timeout_graceful_shutdown=10,  # in-flight requests finish; then the lifespan closes
        http=protocol_for(settings),  # bounds the size and read time of request heads
        limit_concurrency=settings.max_connections,
        # --workers: a worker must answer the supervisor's ping within this long, start-up
        # included, or it is killed and respawned. Uvicorn's 5 s is less than a worker takes to
        # import the stack on a busy 2-core host, so they were killed in a loop.
        timeout_worker_healthcheck=30,
    )


async def _warn_about_clock(settings: Settings) -> None:
    async with Runtime.open(settings) as runtime:
        await runtime.warn_about_clock()


@main.group()
def keys() -> None:
    """Manage signing keys (rotate, list, retire, export)."""


@keys.command()
@click.pass_context
def rotate(context: click.Context) -> None:
    """Make a new active signing key; older keys keep verifying until retired.

    Prints the new kid on the last line. A running server notices within seconds.
    """
    store = KeyStore(_settings(context).keys_dir)
    kid = _run(lambda: store.rotate(SystemClock()))
    click.echo(f"new active key (older keys are now verify-only):\n{kid}")


@keys.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def list_keys(context: click.Context, as_json: bool) -> None:
    """List keys with kid, created time and status (active, verify-only, retired)."""
    keyset = _run(KeyStore(_settings(context).keys_dir).load)
    rows = [{"kid": e.kid, "created_at": e.created_at, "status": e.status} for e in keyset.entries]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'KID':<18}{'STATUS':<13}CREATED")
    for row in rows:
        click.echo(f"{row['kid']:<18}{row['status']:<13}{row['created_at']}")


@keys.command()
@click.argument("kid")
@click.pass_context
def retire(context: click.Context, kid: str) -> None:
    """Stop accepting tokens signed by KID (and delete its private key)."""
    _run(lambda: KeyStore(_settings(context).keys_dir).retire(kid))
    click.echo(f"retired {kid}: tokens it signed are now denied unknown_key")


@keys.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
@click.pass_context
def export(context: click.Context, out: Path | None) -> None:
    """Print (or write) the JWKS of the accepted public keys, for offline scanners.

    gymgate keys export --out jwks.json
    """
    keyset = _run(KeyStore(_settings(context).keys_dir).load)
    document = json.dumps(keyset.jwks(), indent=2) + "\n"
    if out is None:
        click.echo(document, nl=False)
    else:
        write_public_file(out, document)  # mode 0644 whatever the umask
        click.echo(f"wrote {len(keyset.jwks()['keys'])} public key(s) to {out}", err=True)


@main.group()
def gates() -> None:
    """Manage scanner credentials."""


@gates.command(name="add")
@click.argument("name")
@click.pass_context
def add_gate_command(context: click.Context, name: str) -> None:
    """Create a scanner credential for gate NAME; prints its secret on the last line.

    The secret is shown once: only its hash is stored. The line before it is an enrollment
    code a scanner page can scan or paste (it trades it for a secret of its own).

        SECRET=$(gymgate gates add front-door | tail -n1)
    """
    secret = _with_runtime(_settings(context), lambda runtime: runtime.gates.add(name))
    click.echo(f"gate {name} created; enrollment code, then its secret (shown only now):")
    click.echo(enrollment_code(name, secret))
    click.echo(secret)


@gates.command(name="rotate")
@click.argument("name")
@click.pass_context
def rotate_gate_command(context: click.Context, name: str) -> None:
    """Give gate NAME a new secret (printed on the last line); the old one stops working
    on every server within a few seconds."""
    secret = _with_runtime(_settings(context), lambda runtime: runtime.gates.rotate(name))
    click.echo(f"gate {name} has a new secret; enrollment code, then the secret:")
    click.echo(enrollment_code(name, secret))
    click.echo(secret)


@gates.command(name="revoke")
@click.argument("name")
@click.pass_context
def revoke_gate_command(context: click.Context, name: str) -> None:
    """Revoke gate NAME: its secret stops working on every server within a few seconds."""
    _with_runtime(_settings(context), lambda runtime: runtime.gates.revoke(name))
    click.echo(f"gate {name} revoked: its secret is refused (401) within a few seconds")


@gates.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def list_gates_command(context: click.Context, as_json: bool) -> None:
    """List gates: created, revoked, last seen (any call) and last sync, pending uploads."""

    def when(moment: datetime | None) -> str | None:
        return to_iso(moment) if moment is not None else None

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        return [
            {
                "name": g.name,
                "created_at": to_iso(g.created_at),
                "revoked_at": when(g.revoked_at),
                "last_seen_at": when(g.last_seen_at),
                "last_sync_at": when(g.last_sync_at),
                "pending_uploads": g.pending_uploads,
            }
            for g in await runtime.gates.list()
        ]

    rows = _with_runtime(_settings(context), work)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'NAME':<24}{'CREATED':<29}{'REVOKED':<29}{'LAST SEEN':<29}LAST SYNC (PENDING)")
    for row in rows:
        click.echo(
            f"{row['name']:<24}{row['created_at']:<29}{row['revoked_at'] or '-':<29}"
            f"{row['last_seen_at'] or '-':<29}{row['last_sync_at'] or '-'}"
            f" ({row['pending_uploads']})"
        )


@main.command()
@click.argument("token")
@click.option(
    "--jwks",
    "jwks_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JWKS file from `gymgate keys export`.",
)
@click.option(
    "--proof-window",
    type=_PROOF_WINDOW,
    default=DEFAULT_PROOF_WINDOW_SECONDS,
    show_default=True,
    help="Seconds a bound pass's proof time may be from this machine's clock, either way.",
)
@click.pass_context
def verify(context: click.Context, token: str, jwks_file: Path, proof_window: int) -> None:
    """Check TOKEN offline: signature and time only, no server, no database.

    TOKEN is what a gate scanned: a pass token, or a bound pass's token~time~signature
    (whose proof is checked against this machine's clock). Prints the same JSON as
    POST /verify; exits 0 for allow, 1 for deny. It cannot know whether the pass was
    already used or moved to another phone: only the server knows that. TOKEN may be '-'
    to read it from standard input.

        gymgate verify "$TOKEN" --jwks jwks.json
    """
    settings = _settings(context).replace(proof_window_seconds=proof_window)
    if token == "-":  # noqa: S105  (not a password: "read from stdin")
        token = sys.stdin.read().strip()
    try:
        document: Any = json.loads(jwks_file.read_text())
    except (OSError, ValueError) as error:
        raise click.ClickException(f"{jwks_file} is not a readable JWKS file: {error}") from None
    keyset = _run(lambda: KeySet.from_jwks(document))
    decision = verify_offline(pass_verifier(settings), keyset, token, SystemClock().now())
    click.echo(msgspec.json.encode(decision_body(decision)).decode())
    context.exit(0 if decision.allowed else 1)


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
@click.pass_context
def upgrade(context: click.Context) -> None:
    """Apply migrations to GYMGATE_DATABASE_URL (SQLite or Postgres)."""
    settings = _settings(context)
    _run(lambda: upgrade_database(settings.database_url))
    click.echo(f"{describe_database(settings)} is up to date")


@main.group()
def audit() -> None:
    """Read the audit log."""


@audit.command(name="list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--result", type=click.Choice(["allow", "deny"]))
@click.option("--gate")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def audit_list(
    context: click.Context, limit: int, result: str | None, gate: str | None, as_json: bool
) -> None:
    """Show the newest verify attempts, newest first."""

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        page = await runtime.audit.page(
            AuditFilter(result=result, gate=gate),  # type: ignore[arg-type]  # click.Choice
            limit=limit,
            before=None,
        )
        return [
            {
                "at": to_iso(e.at),
                "gate": e.gate,
                "result": e.result,
                "reason": e.reason,
                "pass_id": e.pass_id,
                "user_id": e.user_id,
                "mode": e.mode,
                "conflict": e.conflict,
            }
            for e in page.items
        ]

    for row in _with_runtime(_settings(context), work):
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(
                f"{row['at']:<29}{row['gate']:<16}{row['result']:<7}"
                f"{row['reason'] or '-':<15}{row['pass_id'] or '-':<18}{row['mode']}"
                + (f" conflict:{row['conflict']}" if row["conflict"] else "")
            )


def _moment(value: str) -> datetime:
    """An ISO 8601 date or time; UTC when it names no zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date, e.g. 2026-01-31") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@audit.command(name="prune")
@click.option("--before", "before_text", required=True, help="ISO 8601 date or time (UTC).")
@click.option(
    "--export",
    "export_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the rows to this CSV file before deleting them.",
)
@click.pass_context
def audit_prune(context: click.Context, before_text: str, export_path: Path | None) -> None:
    """Delete audit rows older than --before, after exporting them to CSV if asked.

    Prints how many rows went. Rows are read and deleted in batches, so gates keep
    scanning meanwhile.

        gymgate audit prune --before 2026-01-01 --export audit-2025.csv
    """
    before = _moment(before_text)

    async def work(runtime: Runtime) -> Pruned:
        if export_path is None:
            return await runtime.retention.prune(before)
        with export_path.open("w", newline="", encoding="utf-8") as sink:
            return await runtime.retention.prune(before, sink)

    pruned = _with_runtime(_settings(context), work)
    if export_path is not None:
        click.echo(f"exported {pruned.exported} audit rows to {export_path}")
    click.echo(f"deleted {pruned.deleted} audit rows before {to_iso(before)}")


@main.group()
def payments() -> None:
    """Payments (operator acts)."""


@payments.command(name="refund")
@click.argument("payment_id")
@click.pass_context
def refund_payment(context: click.Context, payment_id: str) -> None:
    """Refund PAYMENT_ID through the payment provider and revoke its pass.

    Refused (exit 1) when the pass already admitted someone, or the payment is not
    completed.

        gymgate payments refund pay_3q2Y0lX9c1mZbQ8e
    """
    view = _with_runtime(_settings(context), lambda runtime: runtime.payments.refund(payment_id))
    click.echo(f"refunded; its pass is revoked\n{view.status}")


@main.group()
def config() -> None:
    """Configuration."""


@config.command()
@click.pass_context
def show(context: click.Context) -> None:
    """Print the effective settings, secrets masked."""
    for name, value in _settings(context).masked().items():
        click.echo(f"{name}={value}")


@main.group()
def gate() -> None:
    """Run a gate agent next to a turnstile (see `gymgate gates` to manage credentials)."""


def _gate_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--server", required=True, help="The gymgate server, e.g. https://gym.example.com"
        ),
        click.option(
            "--secret-file",
            required=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="File holding this gate's secret (from `gymgate gates add`).",
        ),
        click.option(
            "--state-dir",
            required=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Directory for the gate's offline state (made 0700).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _read_secret(path: Path, server: str) -> str:
    """The gate's secret from its file. An enrollment code there is first exchanged for a
    secret of the gate's own, which replaces it in the file (mode 0600)."""
    from gymgate.gate import GateClient, GateRefused, ServerUnreachable
    from gymgate.services.gates import ENROLLMENT_PREFIX, parse_enrollment_code

    try:
        secret = path.read_text().strip()
    except OSError as error:
        raise click.ClickException(f"cannot read the gate secret from {path}: {error}") from None
    if not secret:
        raise click.ClickException(f"{path} is empty: put the gate's secret in it")
    if not secret.startswith(ENROLLMENT_PREFIX):
        return secret
    _, code_secret = _run(lambda: parse_enrollment_code(secret))

    async def enroll() -> str:
        client = GateClient(server, code_secret, timeout=30, sync_timeout=30)
        try:
            return await client.enroll()
        finally:
            await client.close()

    try:
        own = asyncio.run(enroll())
    except GateRefused:
        raise click.ClickException("that enrollment code was already used or revoked") from None
    except ServerUnreachable as error:
        raise click.ClickException(f"server unreachable: {error}") from None
    partial = path.with_name(path.name + ".new")
    partial.write_text("")
    partial.chmod(0o600)
    partial.write_text(own + "\n")
    partial.replace(path)
    click.echo(f"enrolled: {path} now holds this gate's own secret", err=True)
    return own


def _duration(_: click.Context, __: click.Parameter, value: str) -> float:
    from gymgate.gate import parse_duration

    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@gate.command(name="run")
@_gate_options
@click.option(
    "--timeout",
    default=1.5,
    show_default=True,
    type=click.FloatRange(0.05, 60),
    help="Seconds to wait for the server before deciding offline.",
)
@click.option(
    "--max-offline",
    default="24h",
    show_default=True,
    callback=_duration,
    help="Refuse to decide offline on data older than this (90s, 15m, 24h).",
)
@click.option(
    "--sync-every",
    default="30s",
    show_default=True,
    callback=_duration,
    help="How often to sync in the background.",
)
@click.option(
    "--on-allow",
    help="Shell command run on each allow (say, pulse a relay); "
    "GATE_PASS_ID and GATE_MODE are set for it.",
)
@click.option(
    "--proof-window",
    type=_PROOF_WINDOW,
    help="Seconds a bound pass's proof may be off, either way, offline "
    "(default: the server's GYMGATE_PROOF_WINDOW_SECONDS, as of the last sync).",
)
def gate_run(
    server: str,
    secret_file: Path,
    state_dir: Path,
    timeout: float,
    max_offline: float,
    sync_every: float,
    on_allow: str | None,
    proof_window: int | None,
) -> None:
    """Read one scanned code per line on stdin; print one JSON decision per line.

    Online while the server answers within --timeout; otherwise decides offline from
    --state-dir and uploads those decisions once the server is back. Prints
    {"status": "unavailable", ...} (gate stays closed) when it can decide neither way.

        gymgate gate run --server https://gym.example.com --secret-file gate.secret \\
            --state-dir /var/lib/gymgate-gate --on-allow 'relay-pulse 1' < /dev/ttyACM0
    """
    from gymgate.gate import Agent, GateClient, LocalStore
    from gymgate.gate.agent import AgentOptions

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    secret = _read_secret(secret_file, server)
    options = AgentOptions(timeout, max_offline, sync_every, on_allow, proof_window)

    async def lines() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            yield line

    def emit(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    async def body() -> None:
        store = LocalStore(state_dir)
        client = GateClient(server, secret, timeout=timeout, sync_timeout=max(10.0, timeout))
        try:
            await Agent(client, store, options).run(lines(), emit)
        finally:
            await client.close()
            store.close()

    asyncio.run(body())


@gate.command(name="sync")
@_gate_options
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(0.1, 600))
def gate_sync(server: str, secret_file: Path, state_dir: Path, timeout: float) -> None:
    """One sync round: upload pending offline decisions, fetch keys, revocations and uses.

    Exits 0 when the server acknowledged every pending decision; otherwise 1 with a
    one-line reason (wrong gate secret, this gate was revoked, server unreachable).
    """
    from gymgate.gate import GateClient, GateRefused, LocalStore, ServerUnreachable, sync_round
    from gymgate.gate.client import ServerRejected

    secret = _read_secret(secret_file, server)

    async def body() -> str:
        store = LocalStore(state_dir)
        client = GateClient(server, secret, timeout=timeout, sync_timeout=timeout)
        try:
            result = await sync_round(client, store)
        except GateRefused as refused:
            raise click.ClickException(str(refused)) from None
        except ServerUnreachable as error:
            raise click.ClickException(f"server unreachable: {error}") from None
        except ServerRejected as error:
            raise click.ClickException(f"the server refused the sync: {error}") from None
        finally:
            await client.close()
            store.close()
        if result.remaining:
            raise click.ClickException(f"{result.remaining} decision(s) still not acknowledged")
        return (
            f"synced: {result.uploaded} decision(s) uploaded, {result.conflicts} conflict(s), "
            f"{result.rejected} rejected"
        )

    click.echo(asyncio.run(body()))
