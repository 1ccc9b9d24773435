"""Schemathesis against the app's own OpenAPI schema, on a live server: every operation,
with its credentials, a bounded number of examples per phase, zero 5xx and every response
(status, content type, headers, body) as documented.

Two of Schemathesis's checks are left out on purpose: `positive_data_acceptance` and
`negative_data_rejection` judge how strict input validation is against the schema, and the
domain is deliberately stricter (an email must look like one; a NUL is refused) or more
forgiving (a `since` of a bare number is read as a Unix time) than JSON Schema can say.

One Schemathesis worker: with two, its threads build Hypothesis strategies at once, and
Hypothesis describing a lambda calls `ast.parse`, which CPython 3.11 does not make safe across
threads ("SystemError: AST constructor recursion depth mismatch", seen in 2 of 6 runs, reported
by Hypothesis as a FlakyFailure while generating a body; no request of ours was involved).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from testkit.live_server import LiveServer

from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 25
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "missing_required_header",
    "ignored_auth",
)


def test_every_operation_answers_as_documented_and_never_5xx(
    live_server: LiveServer, gate_secret: str, tmp_path: Path
) -> None:
    command = [
        str(Path(sys.executable).with_name("st")),  # installed next to this interpreter
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{live_server.url}/schema/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--workers",
        "1",
        "--request-timeout",
        "10",
    ]
    env = {
        **os.environ,
        "GYMGATE_TEST_GATE_SECRET": gate_secret,
        "GYMGATE_TEST_ADMIN_TOKEN": ADMIN_TOKEN,
    }

    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False
    )

    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    counts = re.search(r"(\d+) generated, (\d+) passed", report)
    assert counts is not None, report
    assert int(counts[1]) == int(counts[2]) >= 200, report
    operations = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", report)
    assert operations is not None, report
    assert operations[1] == operations[2] == operations[3], "not every operation was tested"
    print(f"schemathesis: {operations[3]} operations, {counts[0]}")
    assert "Traceback" not in live_server.log()
