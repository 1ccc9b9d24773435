"""Builders shared by the suite: settings on tmp_path, a umask, fresh keys, a migrated database
(SQLite and Postgres: every test that takes `database_url` runs on both), an app client,
a gate secret, and a live server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from testkit.databases import PostgresDatabase, SqliteTemplate, require_postgres
from testkit.live_server import LiveServer, server_env

from gymgate.api import create_app
from gymgate.clock import FrozenClock
from gymgate.keystore import KeyStore
from gymgate.runtime import Runtime
from gymgate.settings import Settings

ADMIN_TOKEN = "test-admin-token-0123456789"
# A fixed, realistic "now" (2027-01-14T08:00:00Z) that tests move by hand.
START = 1_799_913_600.0

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the long `soak` variants out unless -m asks for them (`make soak` does): an
    addopts `-m "not soak"` would be overridden by any other -m, such as `-m "not e2e"`."""
    if "soak" in (config.getoption("markexpr") or ""):
        return
    soak = [item for item in items if item.get_closest_marker("soak") is not None]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if item.get_closest_marker("soak") is None]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    require_postgres()
    database = PostgresDatabase()
    database.create()
    yield database
    database.drop()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: SqliteTemplate
) -> str:
    """A migrated, empty database: a SQLite file, or the session's Postgres emptied."""
    if request.param == "sqlite":
        return sqlite_template.fresh_copy(tmp_path)
    postgres: PostgresDatabase = request.getfixturevalue("postgres_database")
    postgres.empty()
    return postgres.url


@pytest.fixture(params=[0o002, 0o077], ids=["umask002", "umask077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under a loose umask (002: new files group-writable, as on distributions
    that give each user their own group) and a strict one: gymgate's modes must not follow."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    """A keys directory with one active key, made the way `gymgate keys rotate` makes it."""
    directory = tmp_path / "keys"
    KeyStore(directory).rotate(FrozenClock(START))
    return directory


@pytest.fixture
def settings(database_url: str, keys_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        keys_dir=keys_dir,
        admin_token=ADMIN_TOKEN,
        key_reload_seconds=1,
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Litestar:
    return create_app(settings, clock=clock)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def runtime(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """The use cases and storage on the test's database and clock, without HTTP: for
    arranging and inspecting state."""
    async with Runtime.open(settings, clock=clock) as opened:
        yield opened


@pytest.fixture
async def gate_secret(runtime: Runtime) -> str:
    """The secret of a gate named front-door."""
    return await runtime.gates.add("front-door")


@pytest.fixture
def live_server(tmp_path: Path, settings: Settings) -> Iterator[LiveServer]:
    """`gymgate serve` on a free port, on the test's database and keys, real clock."""
    env = server_env(settings)
    with LiveServer(tmp_path, env) as server:
        yield server
