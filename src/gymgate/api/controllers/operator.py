"""Operator views: the audit log, its totals, and the signing keys. Admin token only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, Parameter

from gymgate.api.auth import require_admin
from gymgate.api.responses import errors
from gymgate.api.schemas import (
    AuditItem,
    AuditPageResponse,
    AuditSummaryResponse,
    KeyInfo,
    KeyListResponse,
)
from gymgate.clock import to_iso
from gymgate.runtime import Runtime
from gymgate.services.audit import AuditFilter
from gymgate.vocabulary import DenyReason, Result

__all__ = ["OperatorController"]

# Audit ids are BIGINT: a larger cursor must be a 400, not an overflow in the database.
MAX_AUDIT_ID = 2**63 - 1


def _filter(
    result: Result | None,
    reason: DenyReason | None,
    gate: str | None,
    pass_id: str | None,
    since: datetime | None,
) -> AuditFilter:
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a time without an offset is read as UTC
    if since is not None:
        try:
            since = since.astimezone(UTC)  # stored times are UTC: year 1 at +01:00 is not one
        except OverflowError:
            raise ValidationException(
                "since is out of range: its UTC time is before year 1 or after 9999"
            ) from None
    return AuditFilter(result=result, reason=reason, gate=gate, pass_id=pass_id, since=since)


class OperatorController(Controller):
    tags = ["operator"]
    guards = [require_admin]
    security = [{"bearer": []}]

    @get("/audit", summary="Audit log, newest first", responses=errors(400, 401, 403, 429, 503))
    async def audit(
        self,
        runtime: NamedDependency[Runtime],
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        result: FromQuery[Result | None] = None,
        reason: FromQuery[DenyReason | None] = None,
        gate: FromQuery[str | None] = None,
        pass_id: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        before: Annotated[
            int | None, Parameter(ge=1, le=MAX_AUDIT_ID, description="cursor: next_before")
        ] = None,
    ) -> AuditPageResponse:
        """Every verify attempt: time, gate, result, reason, pass and user ids."""
        page = await runtime.audit.page(
            _filter(result, reason, gate, pass_id, since), limit=limit, before=before
        )
        items = [
            AuditItem(
                id=e.id,
                at=to_iso(e.at),
                gate=e.gate,
                result=e.result,
                reason=e.reason,
                pass_id=e.pass_id,
                user_id=e.user_id,
                mode=e.mode,
                conflict=e.conflict,
            )
            for e in page.items
        ]
        return AuditPageResponse(items=items, next_before=page.next_before)

    @get(
        "/audit/summary",
        summary="Totals by result and reason",
        responses=errors(400, 401, 403, 429, 503),
    )
    async def summary(
        self,
        runtime: NamedDependency[Runtime],
        result: FromQuery[Result | None] = None,
        reason: FromQuery[DenyReason | None] = None,
        gate: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
    ) -> AuditSummaryResponse:
        totals = await runtime.audit.summary(_filter(result, reason, gate, None, since))
        return AuditSummaryResponse(totals.total, totals.by_result, totals.by_reason)

    @get("/keys", summary="Signing keys and their status", responses=errors(401, 403, 429))
    async def keys(self, runtime: NamedDependency[Runtime]) -> KeyListResponse:
        return KeyListResponse(
            items=[
                KeyInfo(kid=e.kid, status=e.status, created_at=e.created_at)
                for e in runtime.keys.current().entries
            ]
        )
