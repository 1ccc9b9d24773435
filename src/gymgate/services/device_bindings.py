"""Which phone a bound pass belongs to now, and moving it to another phone.

Binding happens inside the issuing transaction (the payment row is locked, so one pass is
bound by one request at a time). Re-binding a pass to another key locks its binding row
before it looks at the used-pass table; a bound check-in reads that row FOR SHARE before
it inserts its used-pass row (gymgate.storage). So on Postgres either the move waits for
the admission and then finds the pass used (409), or the admission waits for the move and
then finds the old key no longer current (`revoked`); SQLite's one writer does the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from gymgate.errors import BindingConflict
from gymgate.models import PassBinding, UsedPass

__all__ = ["bind_pass"]

_BINDINGS = PassBinding.metadata.tables[PassBinding.__tablename__]
_CURRENT = (
    select(_BINDINGS.c.jkt).where(_BINDINGS.c.pass_id == bindparam("pass_id")).with_for_update()
)
_USED = select(UsedPass.state).where(UsedPass.pass_id == bindparam("pass_id"))
_FIRST = _BINDINGS.insert()
_MOVE = (
    _BINDINGS.update()
    .where(_BINDINGS.c.pass_id == bindparam("moved_pass"))
    .values(jkt=bindparam("new_jkt"), rebound_at=bindparam("now"))
)
_MOVED_AFTER_USE = (
    "this pass has already let someone in, so it cannot move to another phone; it stays on "
    "the phone it was used with"
)


def bind_pass(db: Connection, pass_id: str, jkt: str, now: datetime) -> None:
    """In the issuing transaction: bind the pass to `jkt` (first time), keep it (same key),
    or move it (another key: the old phone's codes are revoked). BindingConflict if it
    would move a pass that has admitted someone."""
    current = db.execute(_CURRENT, {"pass_id": pass_id}).scalar_one_or_none()
    if current == jkt:
        return
    if current is None:
        db.execute(_FIRST, {"pass_id": pass_id, "jkt": jkt, "bound_at": now, "rebound_at": None})
        return
    if db.execute(_USED, {"pass_id": pass_id}).scalar_one_or_none() == "used":
        raise BindingConflict(_MOVED_AFTER_USE)
    db.execute(_MOVE, {"moved_pass": pass_id, "new_jkt": jkt, "now": now})
