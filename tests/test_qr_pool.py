"""QR images are drawn in the runtime's process pool, still decode to the token, and the
pool's processes stop with the app."""

from __future__ import annotations

import os

from litestar import Litestar
from litestar.testing import AsyncTestClient
from testkit.qr_reader import qr_text

from gymgate.runtime import Runtime
from tests.api.helpers import pay


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_qr_images_come_from_another_process_and_decode_to_the_token(app: Litestar) -> None:
    async with AsyncTestClient(app=app) as client:
        runtime: Runtime = app.state.runtime
        assert runtime.qr.worker_pids() == []  # nothing started before the first drawing
        payment = await pay(client)
        issued = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
        token = issued.json()["token"]
        png = await client.post(
            "/generate_qr", json={"payment_id": payment["payment_id"], "format": "png"}
        )
        svg = await client.post(
            "/generate_qr", json={"payment_id": payment["payment_id"], "format": "svg"}
        )

        workers = runtime.qr.worker_pids()
        assert len(workers) == 1  # GYMGATE_QR_WORKERS' default
        assert os.getpid() not in workers
        assert qr_text(png.content) == token
        assert svg.content.startswith(b"<?xml")
        assert b"<path" in svg.content

    assert not any(alive(pid) for pid in workers)  # stopped with the app, not leaked


async def test_a_runtime_closes_its_pool_on_the_way_out(runtime: Runtime) -> None:
    png = await runtime.qr.png("hello")
    workers = runtime.qr.worker_pids()

    await runtime.qr.close()

    assert qr_text(png) == "hello"
    assert workers
    assert not any(alive(pid) for pid in workers)
