#!/usr/bin/env python3
"""The national quarterly report over a large installation.

    .venv/bin/python bench/reports/run.py [--database sqlite|postgres] [--mailboxes 100000]
                                          [--agencies 3000] [--days 90] [--runs 3] [--keep DIR]

Builds an installation of ``--agencies`` agencies (30 ministries and 63 provinces, the rest
their units on two levels) and ``--mailboxes`` personal mailboxes, with ``--days`` days of
usage counters ending on 30 September 2025, written straight into the counter tables with
bulk inserts (sqlite3 ``executemany`` / PostgreSQL ``COPY``), the way the usage recorder
leaves them. People differ: about 60 % use mail nearly every working day, 25 % now and
then, 15 % hardly ever; a few agencies have no headcount. Then it times
``build_report`` for the third quarter of 2025 (national: every table, the averages, the
activity and the daily series), ``--runs`` times, and once the report of one province, the
XLSX export and the charts. PostgreSQL uses $GOVMAIL_TEST_PG (like the tests) and a
database of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from govmail.reports.calendar import WorkCalendar  # noqa: E402
from govmail.reports.periods import quarter  # noqa: E402
from govmail.store.db import Store  # noqa: E402

PG_ADMIN = os.environ.get("GOVMAIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
END = date(2025, 9, 30)
CREATED = datetime(2024, 1, 1, tzinfo=UTC)
MAILBOX_COLS = [
    "day",
    "mailbox_id",
    "agency_id",
    "logins_imap",
    "logins_pop3",
    "logins_web",
    "logins_smtp",
    "logins_api",
    "failed_logins",
    "sent",
    "received",
]
AGENCY_COLS = [
    "day",
    "agency_id",
    "logins_imap",
    "logins_pop3",
    "logins_web",
    "logins_smtp",
    "logins_api",
    "failed_logins",
    "sent",
    "received",
    "active_mailboxes",
    "docs_electronic",
    "docs_paper",
    "docs_both",
    "arrivals",
    "arrivals_registered",
    "arrivals_on_time",
    "spam",
    "virus",
    "refused",
]
DOC_TYPES = ("Công văn", "Báo cáo", "Giấy mời", "Thông báo", "Quyết định", "Kế hoạch")


class Writer:
    """Bulk rows into one database: sqlite3 executemany, or psycopg COPY."""

    def __init__(self, kind: str, target: str) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.conn: object = sqlite3.connect(target)
            self.conn.execute("PRAGMA synchronous=OFF")  # type: ignore[attr-defined]
        else:
            import psycopg

            self.conn = psycopg.connect(target, autocommit=False)

    def rows(self, table: str, cols: list[str], rows: list[tuple[object, ...]]) -> None:
        if not rows:
            return
        if self.kind == "sqlite":
            marks = ",".join("?" * len(cols))
            self.conn.executemany(  # type: ignore[attr-defined]
                f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})",
                [tuple(_sqlite(v) for v in r) for r in rows],
            )
        else:
            with (
                self.conn.cursor() as cur,
                cur.copy(  # type: ignore[attr-defined]
                    f"COPY {table} ({','.join(cols)}) FROM STDIN"
                ) as copy,
            ):
                for r in rows:
                    copy.write_row(r)

    def commit(self) -> None:
        self.conn.commit()  # type: ignore[attr-defined]

    def execute(self, sql: str) -> None:
        if self.kind == "sqlite":
            self.conn.execute(sql)  # type: ignore[attr-defined]
        else:
            with self.conn.cursor() as cur:  # type: ignore[attr-defined]
                cur.execute(sql)

    def close(self) -> None:
        self.conn.close()  # type: ignore[attr-defined]


def _sqlite(v: object) -> object:
    """Values as SQLAlchemy stores them in SQLite."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def build_directory(
    w: Writer, agencies: int, mailboxes: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Domains, agencies and mailboxes; returns the agency id of every mailbox."""
    tops = [("ministry", f"Bộ Thử nghiệm {i + 1}", f"G{i + 1:02d}") for i in range(30)]
    tops += [
        ("province", f"Ủy ban nhân dân tỉnh Thử nghiệm {i + 1}", f"H{i + 1:02d}") for i in range(63)
    ]
    w.rows(
        "domain",
        ["id", "name", "active", "created_at"],
        [(i + 1, f"d{i + 1}.gov.vn", True, CREATED) for i in range(len(tops))],
    )
    rows: list[tuple[object, ...]] = []
    parent_of: dict[int, int | None] = {}
    path_of: dict[int, str] = {}
    top_of: dict[int, int] = {}
    for i, (kind, name, letter) in enumerate(tops):
        aid = i + 1
        parent_of[aid], path_of[aid], top_of[aid] = None, f"/{aid}/", aid
        rows.append(
            (aid, None, f"/{aid}/", kind, name, name[:60], f"000.00.00.{letter}", i + 1, kind, name)
        )
    next_id = len(tops) + 1
    level2: list[int] = []
    while next_id <= agencies:
        aid = next_id
        if level2 and rng.random() < 0.33:
            parent = int(rng.choice(level2))
        else:
            parent = int(rng.integers(1, len(tops) + 1))
        top = top_of[parent]
        kind = (
            "unit"
            if tops[top - 1][0] == "ministry"
            else ("department" if rng.random() < 0.6 else "district")
        )
        name = f"Đơn vị {aid} của {tops[top - 1][1]}"
        parent_of[aid], top_of[aid] = parent, top
        path_of[aid] = f"{path_of[parent]}{aid}/"
        if parent <= len(tops):
            level2.append(aid)
        code = f"{aid // 100 % 1000:03d}.{aid % 100:02d}.00.{tops[top - 1][2]}"
        rows.append((aid, parent, path_of[aid], kind, name, f"ĐV{aid}", code, None, None, None))
        next_id += 1
    # Mailboxes: agencies of very different sizes (a log-normal spread).
    weights = rng.lognormal(0.0, 0.8, agencies)
    agency_of = rng.choice(np.arange(1, agencies + 1), size=mailboxes, p=weights / weights.sum())
    per_agency = np.bincount(agency_of, minlength=agencies + 1)
    agency_rows = []
    for aid, parent, path, kind, name, short, code, domain_id, _k, _n in rows:
        n = int(per_agency[aid])
        missing = rng.random() < 0.005  # a few agencies never gave their headcount
        headcount = None if missing else n + int(rng.integers(0, max(2, n // 5) + 1))
        agency_rows.append(
            (
                aid,
                parent,
                path,
                kind,
                name,
                short,
                code,
                domain_id,
                headcount,
                CREATED if headcount is not None else None,
                True,
                CREATED,
                "{}",
            )
        )
    w.rows(
        "agency",
        [
            "id",
            "parent_id",
            "path",
            "kind",
            "name",
            "short_name",
            "code",
            "domain_id",
            "staff_headcount",
            "headcount_updated_at",
            "active",
            "created_at",
            "settings",
        ],
        agency_rows,
    )
    mailbox_rows = []
    for i in range(mailboxes):
        aid = int(agency_of[i])
        dom = top_of[aid]
        local = f"nv{i + 1}"
        mailbox_rows.append(
            (
                i + 1,
                dom,
                local,
                f"{local}@d{dom}.gov.vn",
                "person",
                f"Nguyễn Văn Thử {i + 1}",
                aid,
                "active",
                0,
                0,
                True,
                "[]",
                CREATED,
                CREATED,
            )
        )
    w.rows(
        "mailbox",
        [
            "id",
            "domain_id",
            "local_part",
            "address",
            "kind",
            "full_name",
            "agency_id",
            "status",
            "quota_bytes",
            "used_bytes",
            "listed",
            "public_fields",
            "created_at",
            "updated_at",
        ],
        mailbox_rows,
    )
    try:
        w.rows(
            "agency_profile",
            [
                "agency_id",
                "regulation_adopted",
                "regulation_date",
                "regulation_number",
                "updated_at",
            ],
            [
                (a, True, date(2010, 3, 1), f"{a}/QĐ", CREATED)
                for a in range(1, agencies + 1)
                if rng.random() < 0.7
            ],
        )
    except Exception:  # the admin console's table is not installed: no quy chế facts
        if w.kind == "postgres":
            w.conn.rollback()  # type: ignore[attr-defined]
    w.rows(
        "report_setting",
        ["key", "value", "updated_at"],
        [("filtering", json.dumps({"spam": True, "virus": True}), CREATED)],
    )
    w.commit()
    return agency_of, agencies


def build_usage(
    w: Writer, agency_of: np.ndarray, agencies: int, days: int, rng: np.random.Generator
) -> int:
    """``days`` days of counters ending on END; returns the rows written."""
    n = len(agency_of)
    kind = rng.random(n)
    p = np.where(kind < 0.60, 0.88, np.where(kind < 0.85, 0.30, 0.02))
    calendar = WorkCalendar()
    written = 0
    mailbox_ids = np.arange(1, n + 1)
    for k in range(days):
        day = END - timedelta(days=days - 1 - k)
        working = calendar.is_working_day(day)
        active = rng.random(n) < (p if working else p * 0.08)
        idx = np.nonzero(active)[0]
        m = len(idx)
        logins = {
            "logins_imap": rng.poisson(3.0, m) * (rng.random(m) < 0.55),
            "logins_pop3": rng.poisson(2.0, m) * (rng.random(m) < 0.05),
            "logins_web": rng.poisson(1.2, m) * (rng.random(m) < 0.45),
            "logins_smtp": rng.poisson(1.0, m) * (rng.random(m) < 0.3),
            "logins_api": np.zeros(m, dtype=np.int64),
        }
        none = sum(logins.values()) == 0
        logins["logins_web"] = logins["logins_web"] + none  # active: at least one login
        failed = (rng.random(m) < 0.01).astype(np.int64)
        sent = rng.poisson(2.0, m)
        received = rng.poisson(9.0, m)
        ag = agency_of[idx]
        cols = [logins[c] for c in MAILBOX_COLS[3:8]] + [failed, sent, received]
        rows = list(
            zip(
                [day] * m,
                mailbox_ids[idx].tolist(),
                ag.tolist(),
                *[c.tolist() for c in cols],
                strict=True,
            )
        )
        w.rows("usage_mailbox_day", MAILBOX_COLS, rows)
        written += m
        sums = [np.bincount(ag, weights=c, minlength=agencies + 1).astype(np.int64) for c in cols]
        act = np.bincount(ag, minlength=agencies + 1)
        arows = []
        drows = []
        for aid in np.nonzero(act)[0].tolist():
            docs = int(rng.poisson(4)) if working else 0
            e = int(rng.binomial(docs, 0.5))
            b = int(rng.binomial(docs - e, 0.4))
            arr = int(rng.poisson(6)) if working else 0
            reg = int(rng.binomial(arr, 0.95))
            arows.append(
                (
                    day,
                    aid,
                    *[int(s[aid]) for s in sums],
                    int(act[aid]),
                    e,
                    docs - e - b,
                    b,
                    arr,
                    reg,
                    int(rng.binomial(reg, 0.85)),
                    int(rng.poisson(3)),
                    int(rng.random() < 0.02),
                    int(rng.random() < 0.05),
                )
            )
            if docs:
                drows.append((day, aid, "doc", f"{DOC_TYPES[aid % 6].lower()}:electronic", e))
        # Columns: the mailbox sums come in MAILBOX_COLS order (5 logins, failed, sent, received).
        w.rows("usage_agency_day", AGENCY_COLS, arows)
        w.rows("usage_detail_day", ["day", "agency_id", "metric", "detail", "count"], drows)
        written += len(arows) + len(drows)
        w.commit()
    return written


async def time_reports(url: str, blob_dir: Path, runs: int) -> dict[str, object]:
    from govmail.reports.charts import report_charts
    from govmail.reports.exports import to_xlsx
    from govmail.reports.report import build_report

    store = Store(url, blob_dir)
    await store.open(migrate=False)
    period = quarter(2025, 3)
    out: dict[str, object] = {}
    try:
        times = []
        report = None
        steps: dict[str, float] = {}
        for _ in range(runs):
            t0 = time.perf_counter()
            last = [t0]

            def step(name: str, last: list[float] = last) -> None:
                now = time.perf_counter()
                steps[name] = round(now - last[0], 2)
                last[0] = now

            report = await build_report(store, period, progress=step)
            times.append(time.perf_counter() - t0)
        out["steps_last_run_s"] = steps
        assert report is not None
        out["national_runs_s"] = [round(x, 2) for x in times]
        out["national_median_s"] = round(statistics.median(times), 2)
        ministries = report.tables[0]
        provinces = report.tables[3]
        out["rows"] = {"ministries": len(ministries.rows), "provinces": len(provinces.rows)}
        out["computed"] = sum(
            1 for tb in report.tables for r in tb.rows if r.figure.status == "computed"
        )
        out["problems"] = len(report.problems)
        out["average_mailbox_share"] = {
            g: round(v[0], 1) if v[0] is not None else None
            for g, v in report.averages["mailbox_share"].items()
        }
        t0 = time.perf_counter()
        await build_report(store, period, agency="000.00.00.H01")
        out["province_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        xlsx = to_xlsx(report)
        out["xlsx_s"] = round(time.perf_counter() - t0, 2)
        out["xlsx_kb"] = len(xlsx) // 1024
        t0 = time.perf_counter()
        for c in report_charts(report):
            c.render("svg")
        out["charts_svg_s"] = round(time.perf_counter() - t0, 2)
    finally:
        await store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--mailboxes", type=int, default=100_000)
    ap.add_argument("--agencies", type=int, default=3_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="Keep the SQLite database in this directory")
    args = ap.parse_args()
    rng = np.random.default_rng(20251)
    work = Path(tempfile.mkdtemp(prefix="govmail-bench-reports-"))
    pg_name = f"govmail_bench_reports_{os.getpid()}"
    try:
        if args.database == "sqlite":
            data = args.keep or work
            data.mkdir(parents=True, exist_ok=True)
            db = data / "govmail.db"
            db.unlink(missing_ok=True)
            url = f"sqlite+aiosqlite:///{db}"
            target = str(db)
        else:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {pg_name}")
            base = PG_ADMIN.rsplit("/", 1)[0]
            target = f"{base}/{pg_name}"
            url = target.replace("postgresql://", "postgresql+asyncpg://")

        async def migrate() -> None:
            s = Store(url, work / "blobs")
            await s.open()
            await s.close()

        asyncio.run(migrate())
        t0 = time.perf_counter()
        w = Writer(args.database, target)
        agency_of, agencies = build_directory(w, args.agencies, args.mailboxes, rng)
        rows = build_usage(w, agency_of, agencies, args.days, rng)
        if args.database == "postgres":
            w.execute("ANALYZE")
            w.commit()
        w.close()
        load_s = time.perf_counter() - t0
        size = (Path(target).stat().st_size // (1024 * 1024)) if args.database == "sqlite" else None
        result = asyncio.run(time_reports(url, work / "blobs", args.runs))
        result = {
            "database": args.database,
            "mailboxes": args.mailboxes,
            "agencies": args.agencies,
            "days": args.days,
            "counter_rows": rows,
            "load_s": round(load_s, 1),
            "db_mb": size,
            **result,
        }
        print(json.dumps(result, ensure_ascii=False, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.database == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")


if __name__ == "__main__":
    main()
