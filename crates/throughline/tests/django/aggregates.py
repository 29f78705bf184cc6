"""Checks with Django 5.2 the figures tests/aggregates.rs expects from throughline.

Usage: python3 aggregates.py   (needs `pip install 'django==5.2.*'`; exits non-zero and
prints the difference when Django returns other rows)

The data and each query are those of tests/aggregates.rs: students alice 20, bob 31,
carol (no age), dave 25; courses math (alice A, bob B, carol A), art (alice B, dave A),
bio (bob C), chem (nobody), in an in-memory SQLite database.
"""

import os
import sys
import tempfile

app_dir = tempfile.mkdtemp(prefix="throughline-django-")
os.makedirs(os.path.join(app_dir, "school"))
with open(os.path.join(app_dir, "school", "__init__.py"), "w") as f:
    f.write("")
with open(os.path.join(app_dir, "school", "models.py"), "w") as f:
    f.write(
        '''
from django.db import models


class Student(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=200, unique=True)
    age = models.IntegerField(null=True)

    class Meta:
        ordering = ["name"]


class Course(models.Model):
    title = models.CharField(max_length=200)
    open = models.BooleanField(default=True)
    students = models.ManyToManyField(Student, through="Enrollment", related_name="courses")


class Enrollment(models.Model):
    student = models.ForeignKey(Student, on_delete=models.CASCADE)
    course = models.ForeignKey(Course, on_delete=models.CASCADE)
    grade = models.CharField(max_length=2, blank=True)

    class Meta:
        unique_together = [("student", "course")]
'''
    )
sys.path.insert(0, app_dir)

import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    INSTALLED_APPS=["school"],
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
)
django.setup()

from django.core.management import call_command
from django.db.models import Avg, Case, Count, Exists, Max, Min, OuterRef, Q, Subquery, Sum, Value, When

call_command("migrate", run_syncdb=True, verbosity=0)

from school.models import Course, Enrollment, Student

students = [
    Student.objects.create(name=name, email=f"{name}@example.com", age=age)
    for name, age in [("alice", 20), ("bob", 31), ("carol", None), ("dave", 25)]
]
courses = [Course.objects.create(title=t) for t in ["math", "art", "bio", "chem"]]
for s, c, grade in [(0, 0, "A"), (1, 0, "B"), (2, 0, "A"), (0, 1, "B"), (3, 1, "A"), (1, 2, "C")]:
    Enrollment.objects.create(student=students[s], course=courses[c], grade=grade)

failures = []


def check(name, got, expected):
    if got != expected:
        failures.append(f"{name}: Django returns {got!r}, the test expects {expected!r}")


n = Count("students")
check(
    "counts",
    [(c.title, c.n) for c in Course.objects.annotate(n=n).order_by("-n", "title")],
    [("math", 3), ("art", 2), ("bio", 1), ("chem", 0)],
)
check(
    "through-field filter",
    [
        (c.title, (c.n, c.a))
        for c in Course.objects.annotate(
            n=Count("students"), a=Count("students", filter=Q(enrollment__grade="A"))
        ).order_by("title")
    ],
    [("art", (2, 1)), ("bio", (1, 0)), ("chem", (0, 0)), ("math", (3, 2))],
)
check(
    "ages",
    [
        (c.title, (c.s, c.a, c.mn, c.mx))
        for c in Course.objects.annotate(
            s=Sum("students__age"),
            a=Avg("students__age"),
            mn=Min("students__age"),
            mx=Max("students__age"),
        ).order_by("title")
    ],
    [
        ("art", (45, 22.5, 20, 25)),
        ("bio", (31, 31.0, 31, 31)),
        ("chem", (None, None, None, None)),
        ("math", (51, 25.5, 20, 31)),
    ],
)
check(
    "reverse side",
    [
        (s.name, (s.n, s.d))
        for s in Student.objects.annotate(
            n=Count("courses"), d=Count("courses__title", distinct=True)
        )
    ],
    [("alice", (2, 2)), ("bob", (2, 2)), ("carol", (1, 1)), ("dave", (1, 1))],
)
check(
    "filter then annotate",
    [
        (c.title, c.n)
        for c in Course.objects.filter(students__age__gte=25).annotate(n=n).order_by("title")
    ],
    [("art", 1), ("bio", 1), ("math", 1)],
)
check(
    "annotate then filter",
    [
        (c.title, c.n)
        for c in Course.objects.annotate(n=n).filter(students__age__gte=20).order_by("title")
    ],
    [("art", 4), ("bio", 1), ("math", 6)],
)
check(
    "having",
    list(Course.objects.annotate(n=n).filter(n__gt=1).order_by("title").values_list("title", flat=True)),
    ["art", "math"],
)
check(
    "exclude having",
    list(Course.objects.annotate(n=n).exclude(n__gt=1).order_by("title").values_list("title", flat=True)),
    ["bio", "chem"],
)
check(
    "where and having",
    [
        (c.title, c.n)
        for c in Course.objects.annotate(n=n).filter(~Q(title="math"), n__gte=1).order_by("title")
    ],
    [("art", 2), ("bio", 1)],
)
check(
    "annotation read after a filter across the relation",
    [
        (c.title, c.n)
        for c in Course.objects.annotate(n=n).filter(students__name="bob").filter(n__gte=3)
    ],
    [("math", 3)],
)
agg = Student.objects.aggregate(
    c=Count("id"), s=Sum("age"), a=Avg("age"), mn=Min("age"), mx=Max("age")
)
check(
    "aggregate",
    (agg["c"], agg["s"], round(agg["a"], 9), agg["mn"], agg["mx"]),
    (4, 76, round(76 / 3, 9), 20, 31),
)
empty = Student.objects.filter(name="nobody").aggregate(c=Count("id"), s=Sum("age"), mx=Max("age"))
check("aggregate of no row", (empty["c"], empty["s"], empty["mx"]), (0, None, None))
check(
    "aggregate across a relation",
    Course.objects.filter(title__in=["math", "art"]).aggregate(s=Sum("students__age"))["s"],
    96,
)
check(
    "filtered count",
    Enrollment.objects.aggregate(n=Count("id", filter=Q(grade="A")))["n"],
    3,
)
check(
    "groups",
    [(r["grade"], r["n"]) for r in Enrollment.objects.values("grade").annotate(n=Count("id")).order_by("grade")],
    [("A", 3), ("B", 2), ("C", 1)],
)
check(
    "groups across a foreign key",
    [
        (r["course__title"], (r["n"], r["mx"]))
        for r in Enrollment.objects.values("course__title")
        .annotate(n=Count("id"), mx=Max("student__age"))
        .filter(n__gte=2)
        .order_by("-n")
    ],
    [("math", (3, 31)), ("art", (2, 25))],
)
check(
    "two keys",
    [
        ((r["grade"], r["course__title"]), r["n"])
        for r in Enrollment.objects.exclude(grade="C")
        .values("grade", "course__title")
        .annotate(n=Count("id"))
        .order_by("grade", "course__title")
    ],
    [(("A", "art"), 1), (("A", "math"), 2), (("B", "art"), 1), (("B", "math"), 1)],
)
band = Case(When(age__gte=25, then=Value("older")), default=Value("other"))
check(
    "groups of a CASE, default ordering left out",
    sorted((r["band"], r["n"]) for r in Student.objects.annotate(band=band).values("band").annotate(n=Count("id"))),
    [("older", 2), ("other", 2)],
)
has_a = Exists(Enrollment.objects.filter(course=OuterRef("pk"), grade="A"))
check(
    "exists",
    [(c.title, c.a) for c in Course.objects.annotate(a=has_a).order_by("title")],
    [("art", True), ("bio", False), ("chem", False), ("math", True)],
)
check(
    "filter on exists",
    list(Course.objects.filter(has_a).order_by("title").values_list("title", flat=True)),
    ["art", "math"],
)
check(
    "exclude on exists",
    list(Course.objects.exclude(has_a).order_by("title").values_list("title", flat=True)),
    ["bio", "chem"],
)
count_sub = Subquery(
    Enrollment.objects.filter(course=OuterRef("pk")).values("course").annotate(n=Count("*")).values("n")
)
check(
    "count in a subquery, then a filter across the relation",
    [
        (c.title, c.n or 0)
        for c in Course.objects.annotate(n=count_sub)
        .filter(students__age__gte=20)
        .distinct()
        .order_by("title")
    ],
    [("art", 2), ("bio", 1), ("math", 3)],
)
last_name = Subquery(
    Student.objects.filter(courses=OuterRef("pk"), age__isnull=False).order_by("-name").values("name")[:1]
)
check(
    "first related value",
    [(c.title, c.last) for c in Course.objects.annotate(last=last_name).order_by("title")],
    [("art", "dave"), ("bio", "bob"), ("chem", None), ("math", "bob")],
)
check(
    "subquery beside a count, as a condition",
    [
        (c.title, (c.n, c.last))
        for c in Course.objects.annotate(n=Count("students"), last=last_name)
        .filter(last="bob")
        .order_by("title")
    ],
    [("bio", (1, "bob")), ("math", (3, "bob"))],
)
check(
    "negated condition in an aggregate's filter",
    [
        (c.title, c.n)
        for c in Course.objects.annotate(n=Count("students", filter=~Q(enrollment__grade="A"))).order_by("title")
    ],
    [("art", 1), ("bio", 1), ("chem", 0), ("math", 1)],
)
check(
    "exclude of a comparison across the relation",
    list(Course.objects.exclude(students__age__gt=25).order_by("title").values_list("title", flat=True)),
    ["art", "chem"],
)
check(
    "exclude on a NULL sum",
    list(Course.objects.annotate(s=Sum("students__age")).exclude(s__gt=40).values_list("title", flat=True)),
    ["bio"],
)
check(
    "filter after values().annotate()",
    [(r["open"], r["n"]) for r in Course.objects.values("open").annotate(n=Count("students")).filter(students__age__gte=25)],
    [(True, 6)],
)
check(
    "group by a key across the relation",
    sorted(
        ((r["students__name"] or ""), r["n"])
        for r in Course.objects.values("students__name").annotate(n=Count("id"))
    ),
    [("", 1), ("alice", 2), ("bob", 2), ("carol", 1), ("dave", 1)],
)

# aggregates_of_sliced_distinct_and_filtered_querysets
check(
    "aggregate of a slice",
    tuple(Student.objects.order_by("name")[:2].aggregate(n=Count("id"), s=Sum("age")).values()),
    (2, 51),
)
check(
    "aggregate of an offset slice",
    tuple(Student.objects.order_by("name")[1:3].aggregate(n=Count("id"), s=Sum("age"), m=Max("age")).values()),
    (2, 31, 31),
)
check(
    "aggregate across a multi-valued filter",
    tuple(Student.objects.filter(courses__open=True).aggregate(n=Count("id"), s=Sum("age")).values()),
    (6, 127),
)
check(
    "aggregate of a distinct queryset",
    tuple(Student.objects.filter(courses__open=True).distinct().aggregate(n=Count("id"), s=Sum("age")).values()),
    (4, 76),
)
check(
    "aggregate of a queryset filtered on an annotation",
    tuple(
        Course.objects.annotate(k=Count("students")).filter(k__gt=1).aggregate(n=Count("id"), t=Min("title")).values()
    ),
    (2, "art"),
)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("Django agrees with every figure")
