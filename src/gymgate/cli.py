"""The `gymgate` command: serve, manage keys and gates, verify offline, migrate, read audit."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec

from gymgate.clock import SystemClock, to_iso
from gymgate.decisions import decision_body, verify_offline
from gymgate.errors import GymgateError
from gymgate.keyfiles import write_public_file
from gymgate.keystore import KeySet, KeyStore
from gymgate.runtime import Runtime, pass_verifier
from gymgate.services.audit import AuditFilter
from gymgate.settings import Settings
from gymgate.storage import (
    backend_of,
    describe_database,
    require_database,
    schema_is_current,
    upgrade_database,
)

__all__ = ["main"]

T = TypeVar("T")


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

    from gymgate.logs import configure_logging  # Litestar and structlog: only when serving

    settings = _settings(context)

    def prepare() -> str:
        settings.check_for_serving()
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

    The secret is shown once: only its hash is stored.

        SECRET=$(gymgate gates add front-door | tail -n1)
    """
    secret = _with_runtime(_settings(context), lambda runtime: runtime.gates.add(name))
    click.echo(f"gate {name} created; its secret (shown only now):\n{secret}")


@gates.command(name="list")
@click.pass_context
def list_gates_command(context: click.Context) -> None:
    """List gate names and when they were created."""

    async def work(runtime: Runtime) -> list[tuple[str, str]]:
        return [(g.name, to_iso(g.created_at)) for g in await runtime.gates.list()]

    for name, created in _with_runtime(_settings(context), work):
        click.echo(f"{name:<24}{created}")


@main.command()
@click.argument("token")
@click.option(
    "--jwks",
    "jwks_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JWKS file from `gymgate keys export`.",
)
@click.pass_context
def verify(context: click.Context, token: str, jwks_file: Path) -> None:
    """Check TOKEN offline: signature and time only, no server, no database.

    Prints the same JSON as POST /verify; exits 0 for allow, 1 for deny. It cannot know
    whether the pass was already used: only the server's used-pass table knows that.
    TOKEN may be '-' to read it from standard input.

        gymgate verify "$TOKEN" --jwks jwks.json
    """
    settings = _settings(context)
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
            }
            for e in page.items
        ]

    for row in _with_runtime(_settings(context), work):
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(
                f"{row['at']:<29}{row['gate']:<16}{row['result']:<7}"
                f"{row['reason'] or '-':<15}{row['pass_id'] or '-'}"
            )


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
