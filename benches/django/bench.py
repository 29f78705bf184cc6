#!/usr/bin/env python3
"""SPEC §6's workloads W1–W5 in Django 5.2, beside throughline.

The same models (Student, Course, Enrollment with a unique (student, course) constraint and
a blank-by-default grade; Course.students through Enrollment), the same data sizes and the
same database settings as `throughline-bench` (SQLite file with WAL at synchronous=FULL and
at NORMAL; PostgreSQL on a fresh schema), the same protocol (one warm-up, median of
--runs). Each target runs in its own Python process (Django is configured once per
process). Unless --no-throughline, this script first runs
`cargo run --release -p throughline-bench -- --json ...` with the same arguments, then
prints throughline's, the hand-written code's and Django's times side by side.

Set-up (once; any virtualenv outside the repository):

    python3 -m venv /tmp/django-venv
    /tmp/django-venv/bin/pip install -r benches/django/requirements.txt

Run from the repository root:

    /tmp/django-venv/bin/python benches/django/bench.py [--n 10000] [--runs 7]
        [--backend sqlite|postgres|all] [--scaling] [--sql] [--no-hand]
        [--no-throughline | --throughline-json PATH]

PostgreSQL is THROUGHLINE_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import unquote, urlparse

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/test"
SINGLE_ADDS = 1000
PER_COURSE = 50
WORKLOADS = [
    ("W1", "bulk add"),
    ("W2", "set churn 10%"),
    ("W3", "1,000 single adds"),
    ("W4", "prefetch"),
    ("W5", "filter on grade"),
]
SCALING_WORKLOADS = ("W1", "W2", "W4")
SCALING_SIZES = (1000, 10000, 100000)
TARGETS = {"sqlite": ["sqlite-full", "sqlite-normal"], "postgres": ["postgres"]}


def items(workload, n):
    """The number of items a workload handles at `n` (as throughline-bench)."""
    return {"W3": min(SINGLE_ADDS, n), "W5": n // 10}.get(workload, n)


# --------------------------------------------------------------------------- worker side


def configure(target, workdir):
    """Configures Django for one target and returns a description of its settings."""
    import django
    from django.apps import AppConfig
    from django.conf import settings

    class BenchConfig(AppConfig):
        name = "__main__"
        label = "bench"
        default_auto_field = "django.db.models.BigAutoField"

    sys.modules["__main__"].BenchConfig = BenchConfig

    if target.startswith("sqlite"):
        sync = "FULL" if target == "sqlite-full" else "NORMAL"
        path = os.path.join(workdir, f"django-{target}.db")
        database = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {
                "init_command": f"PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}",
            },
        }
        import sqlite3

        described = (
            f"SQLite {sqlite3.sqlite_version} file {path}: journal_mode=WAL, "
            f"synchronous={sync}, foreign_keys=ON"
        )
        schema = None
    else:
        url = urlparse(os.environ.get("THROUGHLINE_POSTGRES_URL", DEFAULT_PG_URL))
        schema = f"dj_bench_{os.getpid()}"
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path.lstrip("/") or "postgres",
            "USER": unquote(url.username or "postgres"),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname or "127.0.0.1",
            "PORT": str(url.port or 5432),
            "OPTIONS": {"options": f"-c search_path={schema}"},
        }
        import psycopg

        admin = psycopg.connect(
            host=database["HOST"],
            port=database["PORT"],
            user=database["USER"],
            password=database["PASSWORD"],
            dbname=database["NAME"],
            autocommit=True,
        )
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.execute(f"CREATE SCHEMA {schema}")
        version = admin.execute("SHOW server_version").fetchone()[0]
        admin.close()
        described = (
            f"PostgreSQL {version} at {database['HOST']}:{database['PORT']}, "
            f"schema {schema} (psycopg {psycopg.__version__})"
        )
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        DATABASES={"default": database},
        INSTALLED_APPS=["__main__.BenchConfig"],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    return described, schema, database


def define_models():
    """The models, as seed 002 with only the grade as extra through field."""
    from django.db import models

    class Student(models.Model):
        name = models.CharField(max_length=100)
        email = models.CharField(max_length=200)

        class Meta:
            app_label = "bench"

    class Course(models.Model):
        title = models.CharField(max_length=200)
        students = models.ManyToManyField(Student, through="Enrollment", related_name="courses")

        class Meta:
            app_label = "bench"

    class Enrollment(models.Model):
        student = models.ForeignKey(Student, on_delete=models.CASCADE)
        course = models.ForeignKey(Course, on_delete=models.CASCADE)
        grade = models.CharField(max_length=2, blank=True, default="")

        class Meta:
            app_label = "bench"
            constraints = [
                models.UniqueConstraint(fields=["student", "course"], name="unique_student_course")
            ]

    return Student, Course, Enrollment


class Bench:
    """One target's data and workloads."""

    def __init__(self, n, models):
        from django.db import connection

        self.n = n
        self.Student, self.Course, self.Enrollment = models
        self.connection = connection
        Student, Course, Enrollment = models
        extra = n // 10
        students = Student.objects.bulk_create(
            [
                Student(name=f"student {i:06}", email=f"student{i:06}@example.com")
                for i in range(n + extra)
            ]
        )
        self.students = students
        self.w1 = Course.objects.create(title="W1 bulk add")
        self.w2 = Course.objects.create(title="W2 set churn")
        self.w3 = Course.objects.create(title="W3 single adds")
        self.w5 = Course.objects.create(title="W5 filter")
        self.w4 = Course.objects.bulk_create(
            [Course(title=f"W4 course {i}") for i in range(n // PER_COURSE)]
        )
        rows = [Enrollment(student=s, course=self.w2, grade="B") for s in students[:n]]
        for i, course in enumerate(self.w4):
            group = students[i * PER_COURSE : (i + 1) * PER_COURSE]
            rows.extend(Enrollment(student=s, course=course, grade="B") for s in group)
        rows.extend(
            Enrollment(student=s, course=self.w5, grade="A" if i % 10 == 0 else "B")
            for i, s in enumerate(students[:n])
        )
        Enrollment.objects.bulk_create(rows, batch_size=5000)
        self.w2_sets = [students[:n], students[extra : n + extra]]
        self.w2_state = 0
        self.w3_students = students[: min(SINGLE_ADDS, n)]
        self.table = Enrollment._meta.db_table
        self.vendor = connection.vendor
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                cursor.execute("VACUUM ANALYZE")

    def run(self, workload):
        """Runs a workload once; returns (seconds, summary)."""
        from django.db.models import Prefetch, prefetch_related_objects

        started = time.perf_counter()
        if workload == "W1":
            self.w1.students.add(*self.students[: self.n], through_defaults={"grade": "B"})
            elapsed = time.perf_counter() - started
            summary = [self.w1.students.count()]
        elif workload == "W2":
            wanted = self.w2_sets[1 - self.w2_state]
            self.w2.students.set(wanted, through_defaults={"grade": "B"})
            elapsed = time.perf_counter() - started
            self.w2_state = 1 - self.w2_state
            summary = [self.w2.students.count()]
        elif workload == "W3":
            for student in self.w3_students:
                self.w3.students.add(student)
            elapsed = time.perf_counter() - started
            summary = [self.w3.students.count()]
        elif workload == "W4":
            for course in self.w4:
                course.__dict__.pop("_prefetched_objects_cache", None)
            started = time.perf_counter()
            prefetch_related_objects(
                self.w4,
                Prefetch(
                    "enrollment_set",
                    queryset=self.Enrollment.objects.select_related("student"),
                ),
            )
            rows = 0
            for course in self.w4:
                for enrollment in course.enrollment_set.all():
                    rows += enrollment.student.id > 0
            elapsed = time.perf_counter() - started
            summary = [rows]
        elif workload == "W5":
            students = list(self.w5.students.filter(enrollment__grade="A"))
            elapsed = time.perf_counter() - started
            summary = [len(students)]
        else:
            raise ValueError(workload)
        if workload in ("W1", "W3"):
            course = self.w1 if workload == "W1" else self.w3
            with self.connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {self.table} WHERE course_id = %s", [course.id])
                if self.vendor == "postgresql":
                    cursor.execute(f"VACUUM {self.table}")
        return elapsed, summary


def counted_statements(bench, workload):
    """Runs a workload once while capturing its SQL; returns (data statements, sql)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        bench.run(workload)
    sql = [q["sql"] for q in captured.captured_queries]
    # The summary's count() query and the clean-up are not part of the workload.
    sql = [
        s
        for s in sql
        if not s.startswith(("DELETE FROM bench_enrollment WHERE course_id =", "VACUUM"))
    ]
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    data = [s for s in sql if not s.upper().startswith(control)]
    if workload in ("W1", "W2", "W3"):
        data = data[:-1]  # the count() of the summary
    calls = len(bench.w3_students) if workload == "W3" else 1
    return len(data) / calls, data[: max(1, len(data) // calls)]


def worker(args):
    """Measures every workload on one target; writes JSON to args.json."""
    workdir = tempfile.mkdtemp(prefix="django-bench-")
    described, schema, database = configure(args.worker, workdir)
    models = define_models()
    from django.db import connection

    with connection.schema_editor() as editor:
        for model in models:
            editor.create_model(model)
    sizes = SCALING_SIZES if args.scaling else (args.n,)
    workloads = SCALING_WORKLOADS if args.scaling else tuple(w for w, _ in WORKLOADS)
    results = []
    try:
        for n in sizes:
            if n != sizes[0]:
                with connection.cursor() as cursor:
                    for model in reversed(models):
                        cursor.execute(f"DELETE FROM {model._meta.db_table}")
            set_up = time.perf_counter()
            bench = Bench(n, models)
            print(
                f"  django {args.worker}: N = {n}, data set up in "
                f"{time.perf_counter() - set_up:.2f} s",
                file=sys.stderr,
                flush=True,
            )
            expected = {
                "W1": [n],
                "W2": [n],
                "W3": [min(SINGLE_ADDS, n)],
                "W4": [n],
                "W5": [n // 10],
            }
            for workload in workloads:
                statements, sql = counted_statements(bench, workload)  # the warm-up
                times = []
                for _ in range(args.runs):
                    elapsed, summary = bench.run(workload)
                    if summary != expected[workload]:
                        raise AssertionError(
                            f"{workload}: got {summary}, expected {expected[workload]}"
                        )
                    times.append(elapsed)
                results.append(
                    {
                        "workload": workload,
                        "target": args.worker,
                        "n": n,
                        "items": items(workload, n),
                        "django_s": statistics.median(times),
                        "django_min_s": min(times),
                        "django_max_s": max(times),
                        "django_statements": statements,
                        "django_sql": sql,
                    }
                )
    finally:
        connection.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if schema:
            import psycopg

            with psycopg.connect(
                host=database["HOST"],
                port=database["PORT"],
                user=database["USER"],
                password=database["PASSWORD"],
                dbname=database["NAME"],
                autocommit=True,
            ) as admin:
                admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    import django

    with open(args.json, "w") as out:
        json.dump(
            {
                "target": args.worker,
                "settings": described,
                "django": django.get_version(),
                "results": results,
            },
            out,
        )


# --------------------------------------------------------------------------- driver side


def fmt(seconds):
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def fmt_count(count):
    if count is None:
        return "-"
    return f"{count:.0f}" if float(count).is_integer() else f"{count:.2f}"


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = []
    for k, row in enumerate([header, ["-" * w for w in widths]] + rows):
        cells = [
            str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
            for i, c in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def run_throughline(args, repo):
    """Runs throughline-bench with the same arguments; returns its JSON results."""
    out = os.path.join(SCRATCH, "throughline.json")
    command = [
        "cargo",
        "run",
        "--release",
        "-q",
        "-p",
        "throughline-bench",
        "--",
        "--runs",
        str(args.runs),
        "--backend",
        args.backend,
        "--json",
        out,
    ]
    command += ["--scaling"] if args.scaling else ["--n", str(args.n)]
    if args.no_hand:
        command.append("--no-hand")
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, cwd=repo, check=True, stdout=sys.stderr)
    with open(out) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--scaling", action="store_true", help="W1, W2, W4 at N = 1k, 10k, 100k")
    parser.add_argument("--no-throughline", action="store_true", help="Django only")
    parser.add_argument(
        "--no-hand", action="store_true", help="skip throughline-bench's hand-written sides"
    )
    parser.add_argument("--throughline-json", help="use these throughline-bench results")
    parser.add_argument("--sql", action="store_true", help="print the SQL Django ran")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    import django

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    throughline = None
    if args.throughline_json:
        with open(args.throughline_json) as f:
            throughline = json.load(f)
    elif not args.no_throughline:
        throughline = run_throughline(args, repo)
    targets = (
        TARGETS["sqlite"] + TARGETS["postgres"] if args.backend == "all" else TARGETS[args.backend]
    )
    django_results = []
    settings_lines = []
    for target in targets:
        out = os.path.join(SCRATCH, f"{target}.json")
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            target,
            "--n",
            str(args.n),
            "--runs",
            str(args.runs),
            "--json",
            out,
        ]
        if args.scaling:
            command.append("--scaling")
        completed = subprocess.run(command)
        if completed.returncode != 0:
            if target == "postgres":
                print(f"SKIPPED Django on {target} (exit {completed.returncode})", file=sys.stderr)
                continue
            sys.exit(completed.returncode)
        with open(out) as f:
            data = json.load(f)
        django_results.extend(data["results"])
        settings_lines.append(f"{target}: {data['settings']}")
    tl = {}
    if throughline:
        for r in throughline["results"]:
            tl[(r["workload"], r["target"], r["n"])] = r
    titles = dict(WORKLOADS)
    rows = []
    for r in django_results:
        t = tl.get((r["workload"], r["target"], r["n"]))
        tl_s = t["throughline_s"] if t else None
        hand_s = t.get("hand_s") if t else None
        speedup = f"{r['django_s'] / tl_s:.1f}×" if tl_s else "-"
        rows.append(
            [
                f"{r['workload']} {titles[r['workload']]} (N={r['items']})",
                r["target"],
                fmt(tl_s),
                fmt(hand_s),
                fmt(r["django_s"]),
                speedup,
                f"{r['django_s'] / hand_s:.1f}×" if hand_s else "-",
                (
                    fmt_count(t["throughline_statements"])
                    + (" +tx" if t and t["throughline_transaction"] else "")
                    if t
                    else "-"
                ),
                fmt_count(r["django_statements"])
                + (" +tx" if r["workload"] in ("W1", "W2", "W3") else ""),
            ]
        )
    print(
        f"\nDjango {django.get_version()} vs throughline; median of {args.runs} runs after 1 warm-up"
    )
    for line in settings_lines:
        print("  " + line)
    if throughline:
        for name, text in throughline.get("targets", {}).items():
            print(f"  throughline {name}: {text}")
    print(
        table(
            [
                "workload",
                "target",
                "throughline",
                "hand",
                "Django",
                "Django/TL",
                "Django/hand",
                "TL stmts",
                "Django stmts",
            ],
            rows,
        )
    )
    print("\nDjango/TL = how many times faster throughline is (target: ≥10× on W1, W2, W4).")
    print(
        "hand = throughline-bench's hand-written async code (same run as throughline); "
        "Django/hand is the ceiling any Rust ORM could reach here."
    )
    print(
        "stmts = statements per call, BEGIN/COMMIT/SAVEPOINT not counted; +tx = in a transaction."
    )
    if args.sql:
        for r in django_results:
            print(f"\n{r['workload']} on {r['target']} (N={r['n']}), Django's SQL:")
            shown = r["django_sql"][:4]
            for s in shown:
                print("    " + (s if len(s) < 240 else s[:200] + f" … [{len(s)} chars]"))
            if len(r["django_sql"]) > len(shown):
                print(f"    … and {len(r['django_sql']) - len(shown)} more")


# The driver's result files (removed at exit; each worker removes its own database).
SCRATCH = None

if __name__ == "__main__":
    SCRATCH = tempfile.mkdtemp(prefix="django-bench-results-")
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
