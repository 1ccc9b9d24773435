"""The request head's limits, against a real `gymgate serve` over real sockets: oversized heads
get 431, slow ones 408, both are closed; memory stays bounded; the connection cap answers 503.

Socket reads block with a generous timeout: a deadline that fails the test, never a pause.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from testkit.databases import SqliteTemplate
from testkit.live_server import LiveServer

from tests.conftest import ADMIN_TOKEN

DEADLINE = 20.0  # seconds any one socket operation may block before the test fails
HEAD_TIMEOUT = 1  # GYMGATE_HEADER_TIMEOUT_SECONDS of the servers that time heads out
MAX_HEAD = 16384  # the default GYMGATE_MAX_HEADER_BYTES
MB = 1024 * 1024


def _server(workdir: Path, template: SqliteTemplate, **env: str) -> LiveServer:
    return LiveServer(
        workdir,
        {
            "GYMGATE_DATABASE_URL": template.fresh_copy(workdir),
            "GYMGATE_KEYS_DIR": str(workdir / "keys"),
            "GYMGATE_ADMIN_TOKEN": ADMIN_TOKEN,
            "GYMGATE_LOG_LEVEL": "WARNING",
            "GYMGATE_DEV_MODE": "1",  # the mock provider
            **env,
        },
    )


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: SqliteTemplate
) -> Iterator[LiveServer]:
    """One server for the module, with a one-second head timeout and default limits."""
    workdir = tmp_path_factory.mktemp("http-protocol")
    with _server(workdir, sqlite_template, GYMGATE_HEADER_TIMEOUT_SECONDS=str(HEAD_TIMEOUT)) as s:
        yield s


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)


def answer_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes its side."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def has_answered(sock: socket.socket) -> bool:
    """Whether the server has sent something (or closed), without waiting."""
    return bool(select.select([sock], [], [], 0)[0])


def request(headers: bytes = b"", path: str = "/health") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: gymgate\r\n".encode() + headers + b"\r\n"


def stream_huge_header(server: LiveServer, size: int) -> bytes:
    """Send one header `size` bytes long, piece by piece, until the server answers; the answer."""
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: gymgate\r\nX-Flood: ")
        piece = b"a" * 16384
        try:
            for _ in range(size // len(piece)):
                if has_answered(sock):
                    break
                sock.sendall(piece)
            else:
                sock.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed while we were still sending; its answer is read below
        return answer_until_closed(sock)


def peak_rss_kb(server: LiveServer) -> int:
    """The server process's peak resident set size (VmHWM), from /proc."""
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")


# ---- size ------------------------------------------------------------------------------------


def test_a_head_within_the_limit_is_served(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(request(b"X-Padding: " + b"a" * (MAX_HEAD // 2) + b"\r\n"))
        answer = sock.recv(65536)

    assert status_of(answer) == 200, answer


def test_a_head_over_the_limit_in_one_write_gets_431_and_is_closed(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(request(b"X-Padding: " + b"a" * (MAX_HEAD + 1) + b"\r\n"))
        answer = answer_until_closed(sock)

    assert status_of(answer) == 431, answer
    assert b"connection: close" in answer.lower()


def test_many_small_headers_over_the_limit_get_431(server: LiveServer) -> None:
    headers = b"".join(b"X-Item-%d: %s\r\n" % (n, b"a" * 200) for n in range(100))

    with connect(server) as sock:
        sock.sendall(request(headers))
        answer = answer_until_closed(sock)

    assert status_of(answer) == 431, answer


def test_an_overlong_url_gets_431(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(request(path="/health?q=" + "a" * (MAX_HEAD + 1)))
        answer = answer_until_closed(sock)

    assert status_of(answer) == 431, answer


def test_a_streamed_1_mb_header_gets_431(server: LiveServer) -> None:
    answer = stream_huge_header(server, 1 * MB)

    assert status_of(answer) == 431, answer


def test_twenty_streamed_8_mb_headers_leave_peak_memory_within_50_mb(server: LiveServer) -> None:
    before = peak_rss_kb(server)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: stream_huge_header(server, 8 * MB), range(20)))

    grew_mb = (peak_rss_kb(server) - before) / 1024
    assert grew_mb < 50, f"peak RSS grew {grew_mb:.0f} MB"
    assert [status_of(answer) for answer in answers] == [431] * 20
    assert httpx.get(server.url + "/health", timeout=DEADLINE).status_code == 200


# ---- time ------------------------------------------------------------------------------------


def test_a_head_sent_a_line_at_a_time_gets_408_and_is_closed(server: LiveServer) -> None:
    """Slowloris: each line arrives in time, the whole head never does."""
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: gymgate\r\n")
        lines = 0
        while not has_answered(sock):
            sock.sendall(b"X-Slow-%d: a\r\n" % lines)
            lines += 1
            # Pace the trickle on the socket itself: wake early if the server answers.
            select.select([sock], [], [], 0.2)
            assert lines < DEADLINE / 0.2, "the server never answered the slow head"
        answer = answer_until_closed(sock)

    assert status_of(answer) == 408, answer
    assert lines > 1  # the server did wait for more than one line


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(server: LiveServer) -> None:
    with connect(server) as sock:
        answer = answer_until_closed(sock)

    assert answer == b""


def test_a_slow_second_head_on_a_kept_alive_connection_gets_408(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(request())
        first = sock.recv(65536)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: gym")
        second = answer_until_closed(sock)

    assert status_of(first) == 200, first
    assert status_of(second) == 408, second


def test_health_answers_while_200_slow_heads_are_open(
    tmp_path: Path, sqlite_template: SqliteTemplate
) -> None:
    # A head timeout far beyond the test: the slow connections stay open throughout.
    with _server(tmp_path, sqlite_template, GYMGATE_HEADER_TIMEOUT_SECONDS="600") as server:
        slow = [connect(server) for _ in range(200)]
        try:
            for sock in slow:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: gymgate\r\nX-Slow: a\r\n")
            health = httpx.get(server.url + "/health", timeout=DEADLINE)
            still_waiting = [not has_answered(sock) for sock in slow]
        finally:
            for sock in slow:
                sock.close()

    assert health.status_code == 200
    assert all(still_waiting)


# ---- connections -----------------------------------------------------------------------------


def test_a_request_beyond_max_connections_gets_503(
    tmp_path: Path, sqlite_template: SqliteTemplate
) -> None:
    with _server(tmp_path, sqlite_template, GYMGATE_MAX_CONNECTIONS="5") as server:
        held = [connect(server) for _ in range(5)]
        try:
            for sock in held:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: gymgate\r\n")  # heads unfinished
            with connect(server) as extra:
                extra.sendall(request())
                answer = extra.recv(65536)
        finally:
            for sock in held:
                sock.close()

    assert status_of(answer) == 503, answer
