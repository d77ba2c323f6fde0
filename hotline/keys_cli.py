"""`hotline keys check` and `hotline keys rotate`: the master key's custody at the command
line (docs/security.md, "Keys"). Messages go to operators, in English like the rest of the
command line; they name kinds and record ids, never a decrypted value."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from core.envelope import Envelope, parse_master_key
from hotline.masterkey import load_master_key, load_new_master_key
from hotline.settings import Settings, SettingsError
from storage.db import create_engine
from storage.files import DirectoryStore
from storage.keys import BATCH, KeyReport, RotationReport, check, rotate


def register(sub: Any) -> None:
    """Add `hotline keys ...` to the `hotline` parser's subcommands."""
    keys = sub.add_parser("keys", help="the master key: check that everything opens, rotate it")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    chk = keys_sub.add_parser("check", help="open every encrypted value; exit 1 if any does not")
    chk.set_defaults(run=cmd_keys_check)
    rot = keys_sub.add_parser(
        "rotate", help="wrap every data key again under HOTLINE_NEW_MASTER_KEY (or --new-key-file)"
    )
    rot.add_argument("--new-key-file", type=Path, help="a file holding the new key (64 hex characters)")
    rot.add_argument("--batch", type=int, default=BATCH, help=f"tips per transaction ({BATCH})")
    rot.set_defaults(run=cmd_keys_rotate)


def _store(settings: Settings, envelope: Envelope) -> DirectoryStore:
    return DirectoryStore(settings.attachments_path, lambda: envelope)


def _new_key(settings: Settings, path: Path | None) -> bytes | None:
    if path is None:
        return load_new_master_key(settings)
    try:
        return parse_master_key(path.read_text(encoding="ascii"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SettingsError(f"--new-key-file {path}: {exc}") from None


def cmd_keys_check(settings: Settings, args: argparse.Namespace) -> int:
    del args
    try:
        current = load_master_key(settings)
        new = load_new_master_key(settings)
    except (SettingsError, ValueError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    envelope = Envelope(current) if new is None else Envelope(new, previous=[current])

    async def run() -> KeyReport:
        engine = create_engine(settings.effective_database_url)
        try:
            return await check(engine, envelope, _store(settings, envelope))
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    for kind, count in sorted(report.checked.items()):
        print(f"{kind}: {count} checked, {report.failed.get(kind, 0)} failed")
    if report.failures:
        for example in report.examples:
            print(f"does not open: {example}", file=sys.stderr)
        print(
            f"hotline: {report.failures} encrypted values do not open with the key(s) given", file=sys.stderr
        )
        return 1
    print("every encrypted value opens")
    return 0


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    try:
        old = load_master_key(settings)
        new = _new_key(settings, args.new_key_file)
    except (SettingsError, ValueError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    if new is None:
        where = "HOTLINE_NEW_MASTER_KEY, HOTLINE_NEW_MASTER_KEY_FILE or --new-key-file"
        print(f"hotline: give the new key: {where}", file=sys.stderr)
        return 2
    if new == old:
        print("hotline: the new key is the current one; nothing to rotate", file=sys.stderr)
        return 2
    if args.batch < 1:
        print("hotline: --batch must be at least 1", file=sys.stderr)
        return 2
    envelope = Envelope(new, previous=[old])

    async def run() -> RotationReport:
        engine = create_engine(settings.effective_database_url)
        try:
            return await rotate(
                engine, envelope, _store(settings, envelope), batch=args.batch,
                progress=lambda line: print(line, file=sys.stderr),
            )  # fmt: skip
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    print(
        f"rewrapped under key {envelope.key_id}: {report.tips} tips, {report.informants} informants,"
        f" {report.contacts} support contacts, {report.support_messages} support messages,"
        f" {report.files} files"
    )
    print("next: set HOTLINE_MASTER_KEY to the new key on every worker, then run `hotline keys check`")
    return 0
