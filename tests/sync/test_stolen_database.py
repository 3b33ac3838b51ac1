"""A stolen server database opens nothing (THREAT_MODEL.md, thief of the server database).

The attack replayed: a script reads only the server's SQLite file and tries the users'
passphrase on everything in it. Before revision 0003 it found each user's private key
sealed under Argon2id(passphrase) and opened every case of that user; now there is nothing
a passphrase opens, and a second laptop still gets its cases through a device grant.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fieldkit.sync import admin
from fieldkit.sync.client import run_sync
from fieldkit.sync.db import open_database
from fieldkit.sync.server import create_app
from fieldkit.sync.userkey import grant, own_fingerprint

from fieldkit import services
from fieldkit.crypto import CryptoError, Sealer, derive_passphrase_key, unb64
from tests.conftest import PASSPHRASE
from tests.sync.conftest import Agency, ThreadServer, assigned_case, make_agency, synced_team

MARKER = "QQSTOLENDB"


def _every_value(db: Path) -> list[tuple[str, str, Any]]:
    conn = sqlite3.connect(db)
    found = []
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        cursor = conn.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        for row in cursor:
            found += [(table, name, value) for name, value in zip(names, row, strict=True)]
    conn.close()
    return found


def _passphrase_opens(value: Any, guesses: list[str]) -> bool:
    """The old attack: any JSON value with an Argon2 salt, tried with each guess."""
    if not isinstance(value, str | bytes) or not value:
        return False
    try:
        doc = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(doc, dict) or "salt" not in doc:
        return False
    for guess in guesses:
        params = {k: int(v) for k, v in doc.get("params", {}).items()}
        kek = derive_passphrase_key(guess, unb64(doc["salt"]), params)
        for user in ("jsmith", "akhan", "bwong"):
            try:
                Sealer(kek).open(unb64(doc["sealed"]), f"fieldkit|user-key|{user}".encode())
                return True
            except CryptoError:
                continue
    return False


@pytest.fixture
def sqlite_agency(tmp_path: Path) -> Any:
    db = tmp_path / "server" / "server.db"
    engine = open_database(f"sqlite:///{db}")
    server = ThreadServer(engine).start()
    agency = make_agency(engine, server.url, tmp_path / "laptops")
    yield agency, db
    for store in agency.stores:
        store.close()
    server.stop()
    engine.dispose()


def test_the_offline_read_attack_finds_nothing_a_passphrase_opens(
    sqlite_agency: tuple[Agency, Path],
) -> None:
    agency, db = sqlite_agency
    sup, worker = assigned_case(agency, marker=MARKER)
    run_sync(sup)
    run_sync(worker)
    second = agency.laptop("jsmith")  # granted by the first through the fixture
    assert run_sync(second).keys_received == 1
    assert services.load_case(second, "C-1").people[0].name.endswith(f"{MARKER}NAME1")
    values = _every_value(db)
    assert values, "the attacker reads the file"
    assert all(v is None for t, c, v in values if (t, c) == ("users", "box_sealed"))
    guesses = ["password", "123456", PASSPHRASE]  # the real passphrase among the guesses
    opened = [(t, c) for t, c, v in values if _passphrase_opens(v, guesses)]
    assert opened == []
    raw = db.read_bytes() + Path(f"{db}-wal").read_bytes()
    assert MARKER.encode() not in raw  # and no case text in the clear


def test_a_second_laptop_waits_for_a_grant_and_a_wrong_fingerprint_grants_nothing(
    sqlite_agency: tuple[Agency, Path],
) -> None:
    from fieldkit.sync.client import enroll

    from fieldkit.errors import FieldkitError
    from fieldkit.store import Store
    from tests.conftest import FAST_ARGON

    agency, _db = sqlite_agency
    _sup, worker = synced_team(agency)
    path = agency.home / "second.fieldkit"
    second = Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    agency.stores.append(second)
    enroll(second, agency.url, admin.enroll_code(agency.engine, "jsmith").code, PASSPHRASE)
    waiting = run_sync(second)
    assert waiting.keys_received == 0
    assert any("fieldkit grant" in p for p in waiting.team_problems)
    assert any(second.device_id in p for p in run_sync(worker).team_problems)
    with pytest.raises(FieldkitError, match="not the laptop in front of you"):
        grant(worker, second.device_id, "0000-0000")
    assert run_sync(second).keys_received == 0
    grant(worker, second.device_id, own_fingerprint(second))
    assert run_sync(second).keys_received == 1


def test_a_laptop_cannot_grant_to_another_users_device(
    sqlite_agency: tuple[Agency, Path],
) -> None:
    from fieldkit.errors import FieldkitError

    agency, _db = sqlite_agency
    worker = agency.laptop("jsmith")
    other = agency.laptop("bwong")
    with pytest.raises(FieldkitError, match="not one of jsmith's"):
        grant(worker, other.device_id, own_fingerprint(other))


def test_migration_0003_empties_the_passphrase_sealed_keys(tmp_path: Path) -> None:
    """An existing deployment: its sealed user keys are dropped, its devices keep working."""
    from alembic import command
    from alembic.config import Config
    from fieldkit.sync.db import ALEMBIC_INI, MIGRATIONS, make_engine

    db = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{db}")
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO users (name, role, box_pub, box_sealed, created_ms) "
            "VALUES ('jsmith', 'worker', X'00', '{\"salt\": \"x\"}', 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO devices (device_id, user, sign_pub, box_pub, enrolled_ms, last_seq,"
            " head_hash) VALUES ('d1', 'jsmith', X'00', X'00', 1, 0, 'g')"
        )
    engine.dispose()
    engine = open_database(f"sqlite:///{db}")
    app = create_app(engine)
    assert app is not None
    engine.dispose()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT box_sealed FROM users").fetchall() == [(None,)]
    assert conn.execute("SELECT device_id, wrapped FROM user_key_grants").fetchall() == [
        ("d1", b"")
    ]
    conn.close()


def test_the_receipt_key_can_live_outside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "keys" / "receipt.key"
    monkeypatch.setenv("FIELDKIT_SERVER_RECEIPT_KEY_FILE", str(key_file))
    db = tmp_path / "srv.db"
    engine = open_database(f"sqlite:///{db}")
    first = create_app(engine).state.sync.sign_pub
    again = create_app(engine).state.sync.sign_pub
    engine.dispose()
    assert first == again
    assert key_file.stat().st_mode & 0o777 == 0o600
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM settings WHERE key='receipt_key'").fetchone() == (0,)
    conn.close()


def test_a_laptop_that_already_holds_the_key_is_not_listed_as_waiting(
    sqlite_agency: tuple[Agency, Path],
) -> None:
    """A restored laptop enrolled under a new device id keeps its user key (self-grant)."""
    from fieldkit.sync.client import enroll

    from fieldkit.store import Store
    from tests.conftest import FAST_ARGON

    agency, _db = sqlite_agency
    first = agency.laptop("jsmith")
    restored = Store.create(agency.home / "r.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    agency.stores.append(restored)
    key = first.secret("sync_user_box_key")
    assert key is not None
    restored.set_secret("sync_user_box_key", key)  # as a restored profile holds it
    code = admin.enroll_code(agency.engine, "jsmith").code
    enroll(restored, agency.url, code, PASSPHRASE)
    assert not any(restored.device_id in p for p in run_sync(first).team_problems)
