"""The static files router serves what the pages load (html, css, js, vendor/, icons) and
nothing of their build (package.json, package-lock.json, node_modules/, dot-files)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gymgate.api import create_app
from gymgate.clock import FrozenClock
from gymgate.settings import Settings

Client = AsyncTestClient[Litestar]

WEB_FILES = {
    "index.html": "<!doctype html><title>member</title>",
    "common.css": "body {}",
    "member.js": "export {};",
    "sw.js": "self.addEventListener('fetch', () => {});",
    "icon.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
    "app.webmanifest": "{}",
    "scan/index.html": "<!doctype html><title>scanner</title>",
    "scan/scan.js": "export {};",
    "vendor/jsQR.js": "var jsQR;",
    "package.json": '{"dependencies": {"jsqr": "1.4.0"}}',
    "package-lock.json": "{}",
    "node_modules/jsqr/dist/jsQR.js": "var jsQR;",
    "node_modules/jsqr/package.json": "{}",
    ".env": "GYMGATE_ADMIN_TOKEN=never-served",
    "notes.txt": "not a page file",
}


@pytest.fixture
async def web_client(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> AsyncIterator[Client]:
    """An app serving a web/ folder laid out like the project's, build files included."""
    web = tmp_path / "web"
    for name, text in WEB_FILES.items():
        (web / name).parent.mkdir(parents=True, exist_ok=True)
        (web / name).write_text(text)
    async with AsyncTestClient(app=create_app(settings.replace(web_dir=web), clock=clock)) as c:
        yield c


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/scan/",
        "/scan",
        "/common.css",
        "/member.js",
        "/sw.js",
        "/icon.svg",
        "/app.webmanifest",
        "/scan/scan.js",
        "/vendor/jsQR.js",
    ],
)
async def test_what_the_pages_load_is_served(web_client: Client, path: str) -> None:
    response = await web_client.get(path)

    assert response.status_code == 200, path


@pytest.mark.parametrize(
    "path",
    [
        "/package.json",
        "/package-lock.json",
        "/node_modules/jsqr/dist/jsQR.js",
        "/node_modules/jsqr/package.json",
        "/node_modules/",
        "/.env",
        "/notes.txt",
    ],
)
async def test_build_files_and_others_are_404(web_client: Client, path: str) -> None:
    response = await web_client.get(path)

    assert response.status_code == 404, path


async def test_the_projects_own_package_json_is_not_served(client: Client) -> None:
    assert (await client.get("/package.json")).status_code == 404
    assert (await client.get("/package-lock.json")).status_code == 404
    assert (await client.get("/")).status_code == 200
