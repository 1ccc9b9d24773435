"""Operator views: the audit log, its totals, series and entries, and the signing keys.
Admin token only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter

from gymgate.api.auth import require_admin
from gymgate.api.responses import errors
from gymgate.api.schemas import (
    AuditItem,
    AuditPageResponse,
    AuditSummaryResponse,
    EntryItem,
    EntryPageResponse,
    KeyInfo,
    KeyListResponse,
    SeriesBucket,
    SeriesResponse,
)
from gymgate.clock import to_iso
from gymgate.errors import InvalidInput
from gymgate.keystore import KeyEntry
from gymgate.runtime import Runtime
from gymgate.services.audit import AuditFilter
from gymgate.services.series import BucketSize, bucketed
from gymgate.vocabulary import DenyReason, Result

__all__ = ["OperatorController", "audit_filter"]

# Audit ids are BIGINT: a larger cursor must be a 400, not an overflow in the database.
MAX_AUDIT_ID = 2**63 - 1


def _utc(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)  # a time without an offset is read as UTC
    try:
        return when.astimezone(UTC)  # stored times are UTC: year 1 at +01:00 is not one
    except OverflowError:
        raise InvalidInput(
            "since/until is out of range: its UTC time is before year 1 or after 9999"
        ) from None


def audit_filter(
    result: Result | None,
    reason: DenyReason | None,
    gate: str | None,
    pass_id: str | None,
    since: datetime | None,
    until: datetime | None = None,
) -> AuditFilter:
    """The filter the query asks for; InvalidInput (400) for an empty time range."""
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be later than since")
    return AuditFilter(
        result=result, reason=reason, gate=gate, pass_id=pass_id, since=since, until=until
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"tz must be a time zone name like Europe/Lisbon, not {name!r}"
        ) from None


def _key_info(entry: KeyEntry) -> KeyInfo:
    return KeyInfo(kid=entry.kid, status=entry.status, created_at=entry.created_at)


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
        until: FromQuery[datetime | None] = None,
        before: Annotated[
            int | None, Parameter(ge=1, le=MAX_AUDIT_ID, description="cursor: next_before")
        ] = None,
    ) -> AuditPageResponse:
        """Every verify attempt: time, gate, result, reason, pass and user ids."""
        page = await runtime.audit.page(
            audit_filter(result, reason, gate, pass_id, since, until), limit=limit, before=before
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
        until: FromQuery[datetime | None] = None,
    ) -> AuditSummaryResponse:
        """Attempts in [since, until) by result, deny reason and gate, and double entries."""
        totals = await runtime.audit.summary(audit_filter(result, reason, gate, None, since, until))
        return AuditSummaryResponse(
            totals.total, totals.by_result, totals.by_reason, totals.by_gate, totals.conflicts
        )

    @get(
        "/audit/entries",
        summary="Who came in: admissions with the member's name and email",
        responses=errors(400, 401, 403, 503),
    )
    async def entries(
        self,
        runtime: NamedDependency[Runtime],
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        gate: FromQuery[str | None] = None,
        q: Annotated[
            str | None,
            Parameter(max_length=200, description="part of the member's name or email, any case"),
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        before: Annotated[
            int | None, Parameter(ge=1, le=MAX_AUDIT_ID, description="cursor: next_before")
        ] = None,
    ) -> EntryPageResponse:
        """Allowed scans newest first, joined to the member they let in."""
        page = await runtime.audit.entries(
            audit_filter(None, None, gate, None, since, until),
            search=(q or "").strip() or None,
            limit=limit,
            before=before,
        )
        return EntryPageResponse(
            items=[
                EntryItem(
                    id=e.id,
                    at=to_iso(e.at),
                    gate=e.gate,
                    pass_id=e.pass_id,
                    user_id=e.user_id,
                    name=e.name,
                    email=e.email,
                    mode=e.mode,
                    conflict=e.conflict,
                )
                for e in page.items
            ],
            next_before=page.next_before,
        )

    @get(
        "/audit/series",
        summary="Allows and denies per hour or per day",
        responses=errors(400, 401, 403, 503),
    )
    async def series(
        self,
        runtime: NamedDependency[Runtime],
        since: FromQuery[datetime],
        until: FromQuery[datetime],
        bucket: FromQuery[BucketSize] = "hour",
        gate: FromQuery[str | None] = None,
        tz: Annotated[
            str, Parameter(max_length=64, description="IANA zone days are counted in")
        ] = "UTC",
    ) -> SeriesResponse:
        """Counts for every bucket of [since, until), zero when nothing happened; days are
        local days in `tz`, hours are UTC hours."""
        zone = _zone(tz)
        where = audit_filter(None, None, gate, None, since, until)
        assert where.since is not None
        assert where.until is not None
        buckets = bucketed(
            await runtime.audit.hourly_counts(where),
            since=where.since,
            until=where.until,
            size=bucket,
            zone=zone,
        )
        return SeriesResponse(
            bucket=bucket,
            tz=tz,
            items=[SeriesBucket(b.start.isoformat(), b.allow, b.deny) for b in buckets],
        )

    @get("/keys", summary="Signing keys and their status", responses=errors(401, 403, 429))
    async def keys(self, runtime: NamedDependency[Runtime]) -> KeyListResponse:
        return KeyListResponse(items=[_key_info(e) for e in runtime.signing_keys.list()])

    @post(
        "/keys/rotate",
        status_code=201,
        summary="New active signing key",
        responses=errors(401, 403, 503),
    )
    async def rotate_key(self, runtime: NamedDependency[Runtime]) -> KeyInfo:
        """The new key signs every pass shown from now on; the previous one keeps verifying
        passes already on phones until it is retired."""
        return _key_info(await runtime.signing_keys.rotate())

    @post(
        "/keys/{kid:str}/retire",
        status_code=200,
        summary="Stop accepting a signing key",
        responses=errors(401, 403, 404, 409, 503),
    )
    async def retire_key(self, kid: FromPath[str], runtime: NamedDependency[Runtime]) -> KeyInfo:
        """QR codes signed by it are denied unknown_key from now on; re-generating a QR
        re-signs the same pass with the active key. 409 for the active key."""
        return _key_info(await runtime.signing_keys.retire(kid))
