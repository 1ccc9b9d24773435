"""The audit log as a CSV download: every matching row, streamed. Admin token only."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Stream

from gymgate.api.auth import require_admin
from gymgate.api.controllers.operator import audit_filter
from gymgate.api.responses import errors
from gymgate.clock import to_datetime
from gymgate.runtime import Runtime
from gymgate.vocabulary import DenyReason, Result

__all__ = ["AuditExportController"]


class AuditExportController(Controller):
    tags = ["operator"]
    guards = [require_admin]
    security = [{"bearer": []}]

    @get(
        "/audit/export.csv",
        summary="Audit log as CSV (every matching row)",
        media_type="text/csv; charset=utf-8",
        response_description="header row at,gate,result,reason,pass_id,user_id,mode,conflict; "
        "then every matching attempt, oldest first",
        responses=errors(400, 401, 403, 503),
    )
    async def export(
        self,
        runtime: NamedDependency[Runtime],
        result: FromQuery[Result | None] = None,
        reason: FromQuery[DenyReason | None] = None,
        gate: FromQuery[str | None] = None,
        pass_id: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
    ) -> Stream:
        """Streamed in chunks, so any number of rows downloads in flat memory. Cells a
        spreadsheet would run as a formula (= + - @) start with a ' instead."""
        where = audit_filter(result, reason, gate, pass_id, since, until)
        stamp = to_datetime(runtime.clock.now()).strftime("%Y%m%dT%H%M%SZ")
        return Stream(
            runtime.audit.export(where),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="gymgate-audit-{stamp}.csv"',
                "Cache-Control": "no-store",
            },
        )
