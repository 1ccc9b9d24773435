"""F4's server: a hello-world Litestar handler on the uvicorn set-up `gymgate serve` uses."""

from __future__ import annotations

import argparse
import logging

from litestar import Litestar, get

__all__ = ["create_app"]


@get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def create_app() -> Litestar:
    return Litestar(route_handlers=[hello], debug=False)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    # The same call as `gymgate serve` at its default log level (INFO, access log on).
    logging.basicConfig(level="INFO", format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        "benchmarks.hello:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=1,
        log_level="info",
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
