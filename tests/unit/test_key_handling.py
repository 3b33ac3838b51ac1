"""Key handling: `init --recovery-key` takes only a recovery-keygen public key, key-file
errors are one line, passphrases are checked with zxcvbn (THREAT_MODEL.md, thief of a
powered-off laptop)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldkit.crypto import X25519PrivateKey
from fieldkit.errors import FieldkitError
from fieldkit.keyfiles import check_strength
from tests.conftest import PASSPHRASE, run_cli

ENV = {"FIELDKIT_PASSPHRASE": PASSPHRASE}


def _one_line_refusal(result: object, expected: str) -> None:
    assert result.returncode == 1  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err and "OpenSSL" not in err and "Error(" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert expected in err


@pytest.fixture
def agency_key(tmp_path: Path) -> Path:
    key = tmp_path / "agency.key"
    assert run_cli("recovery-keygen", str(key)).returncode == 0
    assert key.stat().st_mode & 0o777 == 0o600
    return key


def test_init_refuses_the_private_recovery_key(tmp_path: Path, agency_key: Path) -> None:
    result = run_cli("init", "--recovery-key", str(agency_key), env=ENV)
    _one_line_refusal(result, "PRIVATE recovery key")
    assert not (tmp_path / "home" / "default.fieldkit").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty"),
        ("not a key at all", "not a recovery public key"),
        (
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIA==\n-----END PRIVATE KEY-----\n",
            "PRIVATE recovery key",
        ),
        ("fieldkit-recovery-public-v1 AAAA", "damaged"),
        ("\xff\xfe", "not a recovery public key"),
    ],
    ids=["empty", "junk", "pem-private", "truncated", "binary"],
)
def test_init_refuses_anything_but_a_recovery_public_key(
    tmp_path: Path, content: str, expected: str
) -> None:
    key = tmp_path / "bad.pub"
    key.write_text(content, encoding="utf-8")
    _one_line_refusal(run_cli("init", "--recovery-key", str(key), env=ENV), expected)


def test_a_bare_public_key_is_refused_since_it_cannot_be_told_from_a_private_one(
    tmp_path: Path,
) -> None:
    from fieldkit.crypto import b64

    key = tmp_path / "bare.pub"
    key.write_text(b64(X25519PrivateKey.generate().private_bytes_raw()) + "\n")
    _one_line_refusal(run_cli("init", "--recovery-key", str(key), env=ENV), "recovery-keygen")


def test_passphrase_reset_refuses_the_public_half_and_an_empty_file(
    tmp_path: Path, agency_key: Path
) -> None:
    assert run_cli("init", "--recovery-key", f"{agency_key}.pub", env=ENV).returncode == 0
    reset = ("passphrase", "reset", "--recovery-private-key")
    _one_line_refusal(run_cli(*reset, f"{agency_key}.pub"), "PUBLIC key")
    empty = tmp_path / "empty.key"
    empty.write_text("")
    _one_line_refusal(run_cli(*reset, str(empty)), "is empty")
    done = run_cli(*reset, str(agency_key), env={"FIELDKIT_NEW_PASSPHRASE": "quiet river lamp ox"})
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("weak", ["password123", "jsmith2026", "aaaaaaaaaaaa", "qwertyuiop"])
def test_a_weak_passphrase_is_refused_at_init(weak: str, tmp_path: Path) -> None:
    result = run_cli("init", "--user", "jsmith", env={"FIELDKIT_PASSPHRASE": weak})
    _one_line_refusal(result, "too weak")
    assert not (tmp_path / "home" / "default.fieldkit").exists()


def test_the_length_rule_still_holds_and_strong_ones_pass() -> None:
    with pytest.raises(FieldkitError, match="too short"):
        check_strength("Xy7#")
    check_strength(PASSPHRASE)
    check_strength("demo passphrase")  # `make demo` keeps working


def test_a_profile_can_demand_a_stronger_passphrase(tmp_path: Path) -> None:
    profile = tmp_path / "agency.toml"
    profile.write_text('extends = "ontario-std7"\nname = "strict"\nmin_passphrase_score = 4\n')
    from fieldkit.practice.profile_load import load_profile

    assert load_profile(profile).min_passphrase_score == 4
    with pytest.raises(FieldkitError, match="too weak"):
        check_strength("pw for test", 4)  # scores 3
    check_strength("pw for test", 3)
