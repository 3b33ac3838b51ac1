"""Case teams and keys: who is on a case, who may review it, the key envelopes and device
keys a laptop needs, and assigning a case."""

from __future__ import annotations

from typing import Any

from fieldkit.sync import admin, grants
from fieldkit.sync.keygen import ask_rotation, current_keys
from fieldkit.sync.models import (
    CASE_KEY_ROTATIONS,
    CASE_KEYS,
    CASE_TEAM,
    DEVICES,
    USER_KEY_GRANTS,
    USERS,
)
from fieldkit.sync.protocol import (
    RECOVERY_RECIPIENT,
    DeviceInfo,
    Envelope,
    GrantRequest,
    GrantResponse,
    KeysResponse,
    RotateRequest,
    RotateResponse,
    TeamInfo,
    TeamRequest,
    UserKey,
    now_ms,
)
from fieldkit.sync.server.base import ServerBase
from fieldkit.sync.server.common import DEVICES_MARGIN_MS, REVIEW_ROLES, Caller, Refused
from sqlalchemy import CompoundSelect, Connection, Select, delete, insert, select, union_all

from fieldkit.crypto import b64, unb64


def key_rows_for(user: str) -> CompoundSelect[Any]:
    """The case-key rows a sync needs, in one read: the envelopes wrapped to a user, and
    every envelope of the cases the user is on (whose current key each case has and who
    holds it). Other members' envelopes are among them: only rows whose recipient is the
    user may be handed to the user. Asked on every sync; the first half is found by the
    `ix_case_keys_recipient` index whatever the agency's size (migration 0006), the second
    by the primary key (two halves joined: an OR of the two is planned as a scan of the
    whole table)."""
    return union_all(
        select(CASE_KEYS).where(CASE_KEYS.c.recipient == user),
        select(CASE_KEYS).where(
            CASE_KEYS.c.case_id.in_(cases_of(user)), CASE_KEYS.c.recipient != user
        ),
    )


def cases_of(user: str) -> Select[Any]:
    """The cases whose team the user is on."""
    return select(CASE_TEAM.c.case_id).where(CASE_TEAM.c.user == user)


def _current_of(rows: list[Any]) -> dict[str, tuple[str, int]]:
    """case → (key_id, generation) of its current key from its envelopes, as
    `keygen.current_keys` reads it: the newest generation, the latest key of it."""
    found: dict[str, tuple[int, int, str]] = {}
    for r in rows:
        held = found.get(r.case_id)
        if held is None or (r.generation, r.created_ms, r.key_id) > held:
            found[r.case_id] = (int(r.generation), int(r.created_ms), r.key_id)
    return {case_id: (key_id, generation) for case_id, (generation, _, key_id) in found.items()}


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
        rotating = (
            select(CASE_KEY_ROTATIONS.c.case_id)
            .where(CASE_KEY_ROTATIONS.c.case_id == CASE_TEAM.c.case_id)
            .exists()
            .label("rotating")
        )
        holders = (
            select(DEVICES.c.device_id, DEVICES.c.revoked_ms, USER_KEY_GRANTS.c.wrapped)
            .add_columns(USER_KEY_GRANTS.c.device_id.is_not(None).label("granted"))
            .outerjoin(USER_KEY_GRANTS, USER_KEY_GRANTS.c.device_id == DEVICES.c.device_id)
            .where(DEVICES.c.user == caller.user)
            .order_by(DEVICES.c.enrolled_ms)
        )
        # Four reads (they were nine): the teams of the caller's cases with their pending
        # rotations, the case-key rows (the caller's envelopes and those of its cases), the
        # devices, and the caller's user's devices with their user-key grants.
        with self._read() as conn, conn.begin():
            members = conn.execute(
                select(CASE_TEAM, rotating).where(CASE_TEAM.c.case_id.in_(cases_of(caller.user)))
            ).all()
            key_rows = conn.execute(key_rows_for(caller.user)).all()
            device_rows = conn.execute(devices).all()
            own_devices = conn.execute(holders).all()
        mine = {m.case_id for m in members if m.user == caller.user}
        envelopes = [e for e in key_rows if e.recipient == caller.user]
        of_mine = [r for r in key_rows if r.case_id in mine]
        current = _current_of(of_mine)
        wrapped = {(r.case_id, r.key_id, r.recipient) for r in of_mine}
        rotate = sorted({m.case_id for m in members if m.rotating})
        mine_now = [d for d in own_devices if d.device_id == caller.device_id and d.granted]
        grant = bytes(mine_now[0].wrapped) if mine_now else None
        # The user's live devices that do not hold the user key yet (`grants.waiting`).
        waiting = [d.device_id for d in own_devices if d.revoked_ms is None and not d.granted]
        teams: dict[str, TeamInfo] = {}
        for m in members:
            key_id, generation = current.get(m.case_id, (None, 0))
            team = teams.setdefault(
                m.case_id,
                TeamInfo(case_id=m.case_id, worker="", key_id=key_id, generation=generation),
            )
            if m.role == "worker":
                team.worker = m.user
            else:
                team.supervisor = m.user
            if (m.case_id, key_id, m.user) not in wrapped:
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
                    generation=e.generation,
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
            rotate=rotate,
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
            given = [e for e in req.envelopes if e.case_id == case_id]
            if not given:
                raise Refused(400, f"no case key envelope for {', '.join(sorted(needed))}")
            generations: dict[str, int] = {}
            for e in given:
                if generations.setdefault(e.key_id, e.generation) != e.generation:
                    raise Refused(400, f"key {e.key_id} is given with two generations")
            # The newest key given must reach every member and the recovery key; older
            # generations given beside it let a new member read the case's earlier work.
            newest = max(generations, key=lambda k: (generations[k], k))
            covered = {e.recipient for e in given if e.key_id == newest}
            missing = needed - covered
            if missing:
                raise Refused(400, f"no case key envelope for {', '.join(sorted(missing))}")
            allowed = set(team) | {RECOVERY_RECIPIENT}
            removed = set(current) - set(team)
            conn.execute(delete(CASE_TEAM).where(CASE_TEAM.c.case_id == case_id))
            conn.execute(
                insert(CASE_TEAM),
                [
                    {"case_id": case_id, "user": name, "role": role, "added_ms": now}
                    for name, role in team.items()
                ],
            )
            # Nobody off the team keeps an envelope; those given replace their like.
            conn.execute(
                delete(CASE_KEYS).where(
                    CASE_KEYS.c.case_id == case_id, CASE_KEYS.c.recipient.not_in(sorted(allowed))
                )
            )
            rows = {(e.key_id, e.recipient): e for e in given if e.recipient in allowed}
            for key_id, recipient in rows:
                conn.execute(
                    delete(CASE_KEYS).where(
                        CASE_KEYS.c.case_id == case_id,
                        CASE_KEYS.c.key_id == key_id,
                        CASE_KEYS.c.recipient == recipient,
                    )
                )
            conn.execute(
                insert(CASE_KEYS),
                [
                    {
                        "case_id": case_id,
                        "key_id": e.key_id,
                        "recipient": e.recipient,
                        "generation": e.generation,
                        "wrapped": unb64(e.wrapped),
                        "by_device": caller.device_id,
                        "created_ms": now,
                    }
                    for (_k, _r), e in sorted(rows.items())
                ],
            )
            if removed:
                # Whoever left the case holds its keys so far: what is sealed from now on
                # must be sealed with a key they never receive.
                ask_rotation(conn, [case_id], f"reassigned from {', '.join(sorted(removed))}", now)
            admin.audit(
                conn,
                caller.user,
                "team",
                f"case {case_id}: worker {req.worker}, supervisor {req.supervisor or '-'}",
            )
        return TeamInfo(case_id=case_id, worker=req.worker, supervisor=req.supervisor)

    def rotate(self, caller: Caller, case_id: str, req: RotateRequest) -> RotateResponse:
        """Make `req` the case's current key: the next generation, from a laptop of the team,
        wrapped to every enrolled member and the recovery key (never to anyone else)."""
        now = now_ms()
        with self.engine.begin() as conn:
            team = {
                m.user
                for m in conn.execute(select(CASE_TEAM).where(CASE_TEAM.c.case_id == case_id))
            }
            if caller.user not in team and caller.role != "admin":
                raise Refused(403, f"{caller.user} is not on case {case_id}")
            _key_id, generation = current_keys(conn, [case_id]).get(case_id, (None, -1))
            if req.generation != generation + 1:
                raise Refused(
                    409,
                    f"case {case_id} is at key generation {generation}, not "
                    f"{req.generation - 1}: another laptop replaced it first; sync again",
                )
            known = conn.execute(
                select(CASE_KEYS.c.key_id).where(
                    CASE_KEYS.c.case_id == case_id, CASE_KEYS.c.key_id == req.key_id
                )
            ).first()
            if known is not None:
                raise Refused(400, f"key {req.key_id} is already a key of case {case_id}")
            enrolled = {
                u.name
                for u in conn.execute(
                    select(USERS).where(USERS.c.name.in_(sorted(team)), USERS.c.box_pub.isnot(None))
                )
            }
            needed = enrolled | ({RECOVERY_RECIPIENT} if self.recovery_pub(conn) else set())
            given = {
                e.recipient: e
                for e in req.envelopes
                if e.case_id == case_id and e.key_id == req.key_id
            }
            if len(given) != len(req.envelopes):
                raise Refused(400, "every envelope must wrap the new key of this case")
            if needed - given.keys():
                missing = ", ".join(sorted(needed - given.keys()))
                raise Refused(400, f"no case key envelope for {missing}")
            if given.keys() - needed:
                outside = ", ".join(sorted(given.keys() - needed))
                raise Refused(403, f"{outside} is not on case {case_id}: the key stays on the team")
            conn.execute(
                insert(CASE_KEYS),
                [
                    {
                        "case_id": case_id,
                        "key_id": req.key_id,
                        "recipient": r,
                        "generation": req.generation,
                        "wrapped": unb64(e.wrapped),
                        "by_device": caller.device_id,
                        "created_ms": now,
                    }
                    for r, e in sorted(given.items())
                ],
            )
            conn.execute(delete(CASE_KEY_ROTATIONS).where(CASE_KEY_ROTATIONS.c.case_id == case_id))
            admin.audit(
                conn,
                caller.user,
                "rotate key",
                f"case {case_id}: generation {req.generation} by {caller.device_id}",
            )
        return RotateResponse(case_id=case_id, key_id=req.key_id, generation=req.generation)
