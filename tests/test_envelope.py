"""Envelope encryption (core/envelope.py) and where its master key comes from
(hotline/masterkey.py): values bound to their place, keys never in the data directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.envelope import Envelope, EnvelopeError, Place, parse_master_key
from core.registration import INFORMANT_FIELDS, Informant, open_informant, seal_informant
from hotline.masterkey import MasterKeySource, default_key_file, load_master_key
from hotline.settings import Settings, SettingsError

KEY = bytes(range(32))


def test_a_value_decrypts_only_in_its_place_and_with_its_key() -> None:
    envelope = Envelope(KEY)
    data_key = envelope.new_data_key()
    here = Place("tip_informants", 7, "name")
    blob = envelope.encrypt(data_key, "Nguyễn Thị Hoa", here)
    assert b"Hoa" not in blob and envelope.decrypt(data_key, blob, here) == "Nguyễn Thị Hoa"
    for elsewhere in (Place("tip_informants", 8, "name"), Place("tip_informants", 7, "phone")):
        with pytest.raises(EnvelopeError):
            envelope.decrypt(data_key, blob, elsewhere)
    with pytest.raises(EnvelopeError):
        envelope.decrypt(envelope.new_data_key(), blob, here)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(EnvelopeError):
        envelope.decrypt(data_key, tampered, here)
    with pytest.raises(EnvelopeError):
        envelope.decrypt(data_key, b"\x02" + blob[1:], here)
    # Two encryptions of one value differ (fresh nonces).
    assert envelope.encrypt(data_key, "x", here) != envelope.encrypt(data_key, "x", here)


def test_a_sealed_informant_needs_the_master_key_and_its_own_tip() -> None:
    informant = Informant("Nguyễn Thị Hoa", "0912345678", None)
    sealed = seal_informant(Envelope(KEY), 5, informant)
    assert sealed.address is None and sealed.key_id == Envelope(KEY).key_id
    assert open_informant(Envelope(KEY), 5, sealed) == informant
    with pytest.raises(EnvelopeError):
        open_informant(Envelope(bytes(32)), 5, sealed)
    with pytest.raises(EnvelopeError):
        open_informant(Envelope(KEY), 6, sealed)
    assert set(INFORMANT_FIELDS) == {"name", "phone", "address"}
    assert "00010203" not in repr(Envelope(KEY))


def test_master_key_text_is_checked_without_echoing_it() -> None:
    assert parse_master_key("ab" * 32) == bytes([0xAB]) * 32
    for bad in ("ab" * 31, "zz" * 32, "qq"):
        with pytest.raises(ValueError) as caught:
            parse_master_key(bad)
        assert bad not in str(caught.value)
    with pytest.raises(ValueError):
        Settings(master_key="not hex" * 10)


def test_the_default_key_file_is_created_once_outside_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = Settings(data_dir=tmp_path / "var")
    source = MasterKeySource(settings)
    first = source()
    path = default_key_file()
    assert path == tmp_path / "config" / "hotline" / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.is_relative_to(tmp_path / "var")
    assert load_master_key(settings) == parse_master_key(path.read_text())
    assert MasterKeySource(settings)().key_id == first.key_id  # read back, not made anew
    # Inside the data directory: refused.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "var"))
    with pytest.raises(SettingsError):
        load_master_key(settings)


def test_a_configured_key_or_key_file_wins(tmp_path: Path) -> None:
    assert load_master_key(Settings(master_key="cd" * 32)) == bytes([0xCD]) * 32
    path = tmp_path / "k"
    path.write_text("ef" * 32 + "\n")
    assert load_master_key(Settings(master_key_file=path)) == bytes([0xEF]) * 32
    path.write_text("nope")
    with pytest.raises(SettingsError):
        load_master_key(Settings(master_key_file=path))
    with pytest.raises(SettingsError):
        load_master_key(Settings(master_key_file=tmp_path / "missing"))
