"""Pull: the next page of ops of the caller's cases, from other devices, by cursor."""

from __future__ import annotations

from typing import Any

import pydantic_core
from fieldkit.sync.models import (
    CASE_TEAM,
    OPS,
)
from fieldkit.sync.protocol import (
    PullRequest,
    PullResponse,
)
from fieldkit.sync.server.common import Caller, Refused
from fieldkit.sync.server.teams import TeamServer
from sqlalchemy import func, select

from fieldkit.changelog import OP_COLUMNS

# A page is one caller's caseload after a cursor: at 10,000,000 ops PostgreSQL plans it
# with parallel workers, whose start costs more than they save (37 ms against 7 ms for
# a worker's 13 cases), and sorts a full page of 5,000 ops (~3.6 MB) on disk with the
# default 4 MB of `work_mem` (36 ms against 9 ms in memory; docs/server.md "A
# state-sized server"). Both are set for the page's transaction alone, in one statement.
SERIAL_PAGE = (
    "SELECT set_config('max_parallel_workers_per_gather', '0', true),"
    " set_config('work_mem', '16MB', true)"
)


# The columns of a pulled op, as `PulledOp` names them (its JSON keys).
PULLED_COLUMNS = (*OP_COLUMNS, "cursor", "received_ms")


class PullServer(TeamServer):
    """Handing out ops."""

    def pull(self, caller: Caller, req: PullRequest) -> PullResponse:
        """The next page of ops of the caller's cases, from other devices, by cursor."""
        return PullResponse.model_validate_json(self.pull_json(caller, req))

    def pull_json(self, caller: Caller, req: PullRequest) -> bytes:
        """`pull`'s page as the JSON of `PullResponse`, written straight from the rows by
        pydantic's serializer (`body` and `sig` as URL-safe base64, as `crypto.b64`
        writes them): no model per op (a supervisor's page holds 5,000)."""
        with self._read() as conn, conn.begin():
            if req.case_id is not None and not self._on_case(conn, caller.user, req.case_id):
                raise Refused(403, f"{caller.user} is not on case {req.case_id}")
            high = conn.execute(select(func.max(OPS.c.cursor))).scalar() or 0
            if req.until is not None:
                high = min(high, req.until)
            if high <= req.cursor:
                # Nothing stored after the cursor at all (one probe of the end of the
                # cursor index): the idle pull of a laptop that is up to date reads no
                # case team and no index of the caller's cases.
                return _page([], max(high, req.cursor), False)
            if self.pg:
                conn.exec_driver_sql(SERIAL_PAGE)
            query = (
                select(*(OPS.c[name] for name in PULLED_COLUMNS))
                .join(
                    CASE_TEAM,
                    (CASE_TEAM.c.case_id == OPS.c.case_id) & (CASE_TEAM.c.user == caller.user),
                )
                .where(
                    OPS.c.cursor > req.cursor,
                    OPS.c.cursor <= high,
                    OPS.c.device_id != caller.device_id,
                )
                .order_by(OPS.c.cursor)
                # One row past the page says whether another page follows, so a pull whose
                # last page is exactly full does not ask again for nothing.
                .limit(req.limit + 1)
            )
            if req.case_id is not None:
                query = query.where(OPS.c.case_id == req.case_id)
            rows = conn.execute(query).all()
        more = len(rows) > req.limit
        ops = [dict(zip(PULLED_COLUMNS, row, strict=True)) for row in rows[: req.limit]]
        next_cursor = ops[-1]["cursor"] if more else max(high, req.cursor)
        return _page(ops, next_cursor, more)


def _page(ops: list[dict[str, Any]], next_cursor: int, more: bool) -> bytes:
    return pydantic_core.to_json(
        {"ops": ops, "next_cursor": next_cursor, "more": more}, bytes_mode="base64"
    )
