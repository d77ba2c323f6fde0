"""Benchmark of `hotline backup` and `hotline restore` on a large database.

Why: a province's year can be a million tips, and a backup that needs the database in
memory, or a restore that takes the night, would not be run. This loads N generated tips
(bench/kpi.py's generator and loader) and F attachment files into a fresh data directory,
then times the real `write_backup` and `restore_backup` (hotline/backup.py), with the
archive size and the process's peak memory.

    .venv/bin/python bench/backup.py                       # 1,000,000 tips, SQLite
    .venv/bin/python bench/backup.py --rows 100000 --files 200
    .venv/bin/python bench/backup.py --pg-url postgresql://postgres@127.0.0.1/hotline_bench_backup

With --pg-url the named database and `<name>_restored` are created and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import multiprocessing  # after the path fix: bench/queue.py would shadow `queue`
from concurrent.futures import ProcessPoolExecutor

import asyncpg
from sqlalchemy.engine import make_url

from hotline.settings import Settings
from storage.maintenance import upgrade_database

_spec = importlib.util.spec_from_file_location("bench_kpi", _HERE / "kpi.py")
assert _spec is not None and _spec.loader is not None
kpi = importlib.util.module_from_spec(_spec)
sys.modules["bench_kpi"] = kpi
_spec.loader.exec_module(kpi)

KEY = "ab" * 32
#: Half a year after the generated data ends: spam and unfounded tips older than 90 days go.
AS_OF = "2027-05-20T12:00:00+07:00"


def add_files(root: Path, count: int, size: int) -> int:
    for _i in range(count):
        key = os.urandom(16).hex()
        path = root / key[:2] / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    return count * size


async def pg_admin(url: str, *statements: str) -> None:
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        for s in statements:
            await conn.execute(s)
    finally:
        await conn.close()


#: Runs `hotline` and reports its own peak resident memory on the last stderr line: VmHWM
#: of /proc/self/status, which (unlike ru_maxrss) does not count what the parent held when
#: it forked. pg_dump and pg_restore are processes of their own, not counted.
_WRAPPER = (
    "import sys\n"
    "from hotline.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    "print('PEAK', hwm, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def cli(label: str, settings: Settings, *argv: str) -> float:
    """The real command line in a child process: its time and its peak memory."""
    env = {
        **os.environ,
        "PYTHONPATH": str(_HERE.parent),
        "HOTLINE_DATA_DIR": str(settings.data_dir),
        "HOTLINE_DATABASE_URL": settings.database_url,
        "HOTLINE_PROVINCE": settings.province,
        "HOTLINE_MASTER_KEY": KEY,
    }
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{label} failed: {done.stderr}")
    summary = [line for line in done.stdout.splitlines() if not line.startswith("  ")]
    if label.startswith("hotline retention"):
        print("    " + "\n    ".join(summary[-4:]))
    peak = int(done.stderr.strip().splitlines()[-1].split()[1]) / 1024
    print(f"  {label}: {elapsed:.1f} s; peak memory {peak:,.0f} MiB")
    return elapsed


def run_one(name: str, source: Settings, target: Settings, archive: Path, data_bytes: int) -> None:
    print(f"{name}:")
    if name == "SQLite":  # the daily run before the backup, as cron runs them
        cli("hotline retention run --dry-run", source, "retention", "run", "--as-of", AS_OF, "--dry-run")
        cli("hotline retention run", source, "retention", "run", "--as-of", AS_OF)
        cli("hotline retention run, again (nothing left)", source, "retention", "run", "--as-of", AS_OF)
    backup_s = cli("hotline backup", source, "backup", "--out", str(archive))
    size = archive.stat().st_size
    print(f"  archive {size / 2**20:,.0f} MiB ({size / 2**20 / backup_s:,.0f} MiB/s written)")
    restore_s = cli("hotline restore", target, "restore", "--from", str(archive))
    print(f"  restore {size / 2**20 / restore_s:,.0f} MiB/s read; data before: {data_bytes / 2**20:,.0f} MiB")


def _load(kind: str, where: str, rows: int, province: str) -> float:
    """Generate and load the tips (in a child process of its own, see `load_apart`)."""
    gen = kpi.Generator(province, kpi.Scenario.default())
    generated = list(gen.rows(rows))
    if kind == "sqlite":
        asyncio.run(upgrade_database(f"sqlite:///{where}", province))
        seconds = float(kpi.load_sqlite(Path(where), generated))
        db = sqlite3.connect(where)
        with db:  # each closed tip's closing move, which the retention rules date from
            db.execute(
                "INSERT INTO tip_transitions"
                " (tip_id, action, from_stage, to_stage, actor, at, reason, details)"
                " SELECT id, 'transition', NULL, stage, 'bench',"
                " COALESCE(processed_at, classified_at, verified_at, received_at),"
                " 'closing reason', '{}' FROM tips"
                " WHERE stage IN ('spam', 'unfounded', 'duplicate', 'processed')"
            )
        db.close()
        return seconds
    asyncio.run(upgrade_database(where, province))
    return float(asyncio.run(kpi.load_postgres(where, generated)))


def load_apart(kind: str, where: str, rows: int, province: str) -> float:
    """The million generated rows live in a spawned process, not in this one: the
    commands timed below are forked from here, and a child's peak memory counts what its
    parent held when it forked."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_load, kind, where, rows, province).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file-bytes", type=int, default=100_000)
    parser.add_argument("--province", default="79")
    parser.add_argument("--pg-url", help="also PostgreSQL, in this (new) database")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    os.environ["HOTLINE_MASTER_KEY"] = KEY
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import hotline.cli"], env={**os.environ, "PYTHONPATH": str(_HERE.parent)}
    )
    startup = time.perf_counter() - start
    print(f"start-up of the command line (import only), included in each figure: {startup:.1f} s")
    with tempfile.TemporaryDirectory(prefix="hotline-bench-backup-") as tmp:
        base = Path(tmp)
        if not args.skip_sqlite:
            data = base / "sqlite-source"
            db = data / "hotline.db"
            data.mkdir()
            loaded = load_apart("sqlite", str(db), args.rows, args.province)
            files = add_files(data / "attachments", args.files, args.file_bytes)
            mib = db.stat().st_size / 2**20
            print(f"SQLite: loaded {args.rows:,} tips in {loaded:.1f} s; file {mib:,.0f} MiB")
            source = Settings(data_dir=data, province=args.province, master_key=KEY)
            target = Settings(data_dir=base / "sqlite-target", province=args.province, master_key=KEY)
            run_one("SQLite", source, target, base / "sqlite.bak", db.stat().st_size + files)
            shutil.rmtree(data)
            shutil.rmtree(base / "sqlite-target")
            (base / "sqlite.bak").unlink()
        if args.pg_url:
            url = args.pg_url
            name = make_url(url).database
            restored = make_url(url).set(database=f"{name}_restored").render_as_string(hide_password=False)
            asyncio.run(
                pg_admin(
                    url,
                    f'DROP DATABASE IF EXISTS "{name}"',
                    f'DROP DATABASE IF EXISTS "{name}_restored"',
                    f'CREATE DATABASE "{name}"',
                    f'CREATE DATABASE "{name}_restored"',
                )
            )
            try:
                loaded = load_apart("postgresql", url, args.rows, args.province)
                print(f"PostgreSQL: loaded {args.rows:,} tips in {loaded:.1f} s")
                data = base / "pg-source"
                files = add_files(data / "attachments", args.files, args.file_bytes)
                source = Settings(database_url=url, data_dir=data, province=args.province, master_key=KEY)
                target = Settings(
                    database_url=restored, data_dir=base / "pg-target", province=args.province, master_key=KEY
                )
                run_one("PostgreSQL", source, target, base / "pg.bak", files)
            finally:
                asyncio.run(
                    pg_admin(
                        url,
                        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                        f'DROP DATABASE IF EXISTS "{name}_restored" WITH (FORCE)',
                    )
                )


if __name__ == "__main__":
    main()
