"""Case teams and keys: who is on a case, who may review it, the key envelopes and device
keys a laptop needs, and assigning a case."""

from __future__ import annotations

from fieldkit.sync import admin, grants
from fieldkit.sync.models import (
    CASE_KEYS,
    CASE_TEAM,
    DEVICES,
    USERS,
)
from fieldkit.sync.protocol import (
    RECOVERY_RECIPIENT,
    DeviceInfo,
    Envelope,
    GrantRequest,
    GrantResponse,
    KeysResponse,
    TeamInfo,
    TeamRequest,
    UserKey,
    now_ms,
)
from fieldkit.sync.server.base import ServerBase
from fieldkit.sync.server.common import DEVICES_MARGIN_MS, REVIEW_ROLES, Caller, Refused
from sqlalchemy import Connection, delete, insert, select

from fieldkit.crypto import b64, unb64


class TeamServer(ServerBase):
    """Teams, reviewers and keys."""

    def _reviewers(self, conn: Connection, caller: Caller, case_ids: set[str]) -> set[str]:
        """Of these cases, those whose records the caller may review.

        An admin may; a supervisor may on a case they supervise (on its team as supervisor,
        or the supervisor of its worker); a worker never may.
        """
        if not case_ids or caller.role not in REVIEW_ROLES:
            return set()
        if caller.role == "admin":
            return set(case_ids)
        allowed: set[str] = set()
        for case_id, user, role, boss in conn.execute(
            select(CASE_TEAM.c.case_id, CASE_TEAM.c.user, CASE_TEAM.c.role, USERS.c.supervisor)
            .join(USERS, USERS.c.name == CASE_TEAM.c.user)
            .where(CASE_TEAM.c.case_id.in_(sorted(case_ids)))
        ).all():
            if (role == "supervisor" and user == caller.user) or (
                role == "worker" and boss == caller.user
            ):
                allowed.add(case_id)
        return allowed

    @staticmethod
    def _on_case(conn: Connection, user: str, case_id: str) -> bool:
        return (
            conn.execute(
                select(CASE_TEAM.c.user).where(
                    CASE_TEAM.c.case_id == case_id, CASE_TEAM.c.user == user
                )
            ).first()
            is not None
        )

    def keys(self, caller: Caller, devices_since: int | None = None) -> KeysResponse:
        """The caller's case-key envelopes, teams, and device keys to check pulled ops.

        Every device of the agency, or with `devices_since` (the `devices_as_of` of the
        caller's previous answer) only those enrolled since: a laptop keeps the keys it
        has, so the whole list on every sync was work in proportion to the agency's size.
        """
        as_of = now_ms() - DEVICES_MARGIN_MS
        devices = select(DEVICES)
        if devices_since is not None:
            devices = devices.where(DEVICES.c.enrolled_ms >= devices_since)
        with self._read() as conn, conn.begin():
            mine = [
                r[0]
                for r in conn.execute(
                    select(CASE_TEAM.c.case_id).where(CASE_TEAM.c.user == caller.user)
                ).all()
            ]
            envelopes = conn.execute(
                select(CASE_KEYS).where(CASE_KEYS.c.recipient == caller.user)
            ).all()
            members = conn.execute(select(CASE_TEAM).where(CASE_TEAM.c.case_id.in_(mine))).all()
            device_rows = conn.execute(devices).all()
            grant = grants.grant_of(conn, caller.device_id)
            waiting = grants.waiting(conn, caller.user)
            wrapped = set(
                conn.execute(
                    select(CASE_KEYS.c.case_id, CASE_KEYS.c.recipient).where(
                        CASE_KEYS.c.case_id.in_(mine)
                    )
                ).all()
            )
        teams: dict[str, TeamInfo] = {}
        for m in members:
            team = teams.setdefault(m.case_id, TeamInfo(case_id=m.case_id, worker=""))
            if m.role == "worker":
                team.worker = m.user
            else:
                team.supervisor = m.user
            if (m.case_id, m.user) not in wrapped:
                team.without_key.append(m.user)
        return KeysResponse(
            user=caller.user,
            role=caller.role,
            envelopes=[
                Envelope(
                    case_id=e.case_id,
                    key_id=e.key_id,
                    recipient=e.recipient,
                    wrapped=b64(e.wrapped),
                )
                for e in envelopes
            ],
            teams=sorted(teams.values(), key=lambda t: t.case_id),
            devices=[
                DeviceInfo(
                    device_id=d.device_id,
                    user=d.user,
                    sign_pub=b64(d.sign_pub),
                    box_pub=b64(d.box_pub),
                    revoked=d.revoked_ms is not None,
                )
                for d in device_rows
            ],
            devices_as_of=as_of,
            user_key_grant=b64(grant) if grant else None,
            waiting_for_grant=waiting,
        )

    def grant(self, caller: Caller, device_id: str, req: GrantRequest) -> GrantResponse:
        """Keep the user key wrapped by one of the user's laptops to another of them."""
        with self.engine.begin() as conn:
            problem = grants.put(
                conn, caller.device_id, caller.user, device_id, unb64(req.wrapped), now_ms()
            )
            if problem:
                raise Refused(403, problem)
            admin.audit(conn, caller.user, "grant", f"device {device_id} by {caller.device_id}")
        return GrantResponse(device_id=device_id, user=caller.user)

    def user_key(self, caller: Caller, name: str) -> UserKey:
        """A user's public key, so a supervisor can wrap a case key to them."""
        with self._read() as conn, conn.begin():
            row = conn.execute(select(USERS).where(USERS.c.name == name)).first()
        if row is None:
            raise Refused(404, f"no user {name} on this server")
        return UserKey(
            name=row.name,
            role=row.role,
            supervisor=row.supervisor,
            box_pub=b64(row.box_pub) if row.box_pub else None,
        )

    def set_team(self, caller: Caller, case_id: str, req: TeamRequest) -> TeamInfo:
        """Put a case's team and its key envelopes; only a supervisor or admin on the case."""
        if caller.role not in ("supervisor", "admin"):
            raise Refused(403, f"{caller.user} is a {caller.role}: only a supervisor assigns cases")
        now = now_ms()
        with self.engine.begin() as conn:
            current = {
                m.user: m.role
                for m in conn.execute(select(CASE_TEAM).where(CASE_TEAM.c.case_id == case_id)).all()
            }
            if current and caller.user not in current and caller.role != "admin":
                raise Refused(403, f"{caller.user} is not on case {case_id}")
            team = {req.worker: "worker"}
            if req.supervisor:
                team[req.supervisor] = "supervisor"
            people = {
                u.name: u for u in conn.execute(select(USERS).where(USERS.c.name.in_(team))).all()
            }
            for name in team:
                if name not in people:
                    raise Refused(404, f"no user {name} on this server")
            # A member who has not enrolled yet has no key: their envelope follows on a
            # later sync of a teammate (KeysResponse.teams[].without_key).
            needed = {name for name in team if people[name].box_pub is not None}
            if self.recovery_pub(conn):
                needed.add(RECOVERY_RECIPIENT)
            given = {e.recipient: e for e in req.envelopes if e.case_id == case_id}
            missing = needed - given.keys()
            if missing:
                raise Refused(400, f"no case key envelope for {', '.join(sorted(missing))}")
            needed |= given.keys() & set(team)
            if len({e.key_id for e in given.values()}) != 1:
                raise Refused(400, "the envelopes wrap different case keys")
            conn.execute(delete(CASE_TEAM).where(CASE_TEAM.c.case_id == case_id))
            conn.execute(
                insert(CASE_TEAM),
                [
                    {"case_id": case_id, "user": name, "role": role, "added_ms": now}
                    for name, role in team.items()
                ],
            )
            conn.execute(delete(CASE_KEYS).where(CASE_KEYS.c.case_id == case_id))
            conn.execute(
                insert(CASE_KEYS),
                [
                    {
                        "case_id": case_id,
                        "recipient": r,
                        "key_id": given[r].key_id,
                        "wrapped": unb64(given[r].wrapped),
                        "by_device": caller.device_id,
                        "created_ms": now,
                    }
                    for r in sorted(needed)
                ],
            )
            admin.audit(
                conn,
                caller.user,
                "team",
                f"case {case_id}: worker {req.worker}, supervisor {req.supervisor or '-'}",
            )
        return TeamInfo(case_id=case_id, worker=req.worker, supervisor=req.supervisor)
