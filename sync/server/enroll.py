"""Enrollment: a laptop registers its keys with a one-time code from the admin."""

from __future__ import annotations

from fieldkit.sync import admin, grants
from fieldkit.sync.models import (
    DEVICES,
    ENROLL_CODES,
    USERS,
)
from fieldkit.sync.protocol import (
    EnrollRequest,
    EnrollResponse,
    enroll_message,
    normalize_code,
    now_ms,
)
from fieldkit.sync.server.base import ServerBase
from fieldkit.sync.server.common import Refused
from sqlalchemy import insert, select, update

from fieldkit.changelog import GENESIS
from fieldkit.crypto import b64, ed25519_public_from_bytes, unb64
from fieldkit.crypto import verify_signature as _verify


class EnrollServer(ServerBase):
    """Registering devices."""

    def enroll(self, req: EnrollRequest) -> EnrollResponse:
        """Register a laptop's keys with a one-time code; repeatable by the same laptop.

        A refused enrollment is audited with its reason (`fieldkit admin audit`)."""
        try:
            return self._enroll(req)
        except Refused as exc:
            admin.audit_later(
                self.engine,
                req.user[:64],
                "enroll refused",
                f"device {req.device_id[:64]}: {exc.detail}",
            )
            raise

    def _enroll(self, req: EnrollRequest) -> EnrollResponse:
        digest = admin.code_hash(req.code)
        now = now_ms()
        try:
            sign_pub, box_pub = unb64(req.sign_pub), unb64(req.box_pub)
            public = ed25519_public_from_bytes(sign_pub)
            proof = unb64(req.proof)
        except ValueError:
            raise Refused(400, "the device keys are malformed") from None
        message = enroll_message(normalize_code(req.code), req.device_id, req.sign_pub, req.box_pub)
        if not _verify(public, proof, message):
            raise Refused(401, "the enrollment proof does not verify with the device key")
        with self.engine.begin() as conn:
            code = conn.execute(
                select(ENROLL_CODES).where(ENROLL_CODES.c.code_hash == digest)
            ).first()
            if code is None:
                raise Refused(403, "this enrollment code is not valid; ask your admin for one")
            if code.user != req.user:
                raise Refused(
                    403,
                    f"this code is for {code.user}, but this profile is {req.user}; "
                    f"run `fieldkit init --user {code.user}` or ask for a code for {req.user}",
                )
            existing = conn.execute(
                select(DEVICES).where(DEVICES.c.device_id == req.device_id)
            ).first()
            if code.used_ms is not None:
                same = existing is not None and existing.sign_pub == sign_pub
                if not (same and code.used_by == req.device_id):
                    raise Refused(403, "this enrollment code was already used; ask for a new one")
            elif code.expires_ms < now:
                raise Refused(403, "this enrollment code has expired; ask for a new one")
            elif existing is not None:
                raise Refused(409, "a device with this id is already enrolled")
            user = conn.execute(select(USERS).where(USERS.c.name == code.user)).one()
            box_user_pub, creates_key = user.box_pub, user.box_pub is None
            if creates_key:  # this laptop's key becomes the user's; nothing secret is kept
                box_user_pub = unb64(req.user_box_pub)
                conn.execute(
                    update(USERS)
                    .where(USERS.c.name == user.name)
                    .values(box_pub=box_user_pub, box_sealed=None)
                )
            if existing is None:
                conn.execute(
                    insert(DEVICES).values(
                        device_id=req.device_id,
                        user=user.name,
                        sign_pub=sign_pub,
                        box_pub=box_pub,
                        enrolled_ms=now,
                        last_seq=0,
                        head_hash=GENESIS,
                    )
                )
                conn.execute(
                    update(ENROLL_CODES)
                    .where(ENROLL_CODES.c.code_hash == digest)
                    .values(used_ms=now, used_by=req.device_id)
                )
                if creates_key:
                    grants.record_origin(conn, req.device_id, user.name, now)
                admin.audit(conn, user.name, "enroll", f"device {req.device_id}")
            holds = grants.grant_of(conn, req.device_id) == b""
            recovery = self.recovery_pub(conn)
        return EnrollResponse(
            user=user.name,
            role=user.role,
            supervisor=user.supervisor,
            user_box_pub=b64(box_user_pub),
            holds_user_key=holds,
            server_sign_pub=self.sign_pub,
            recovery_pub=recovery,
        )
