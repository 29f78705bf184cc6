#!/usr/bin/env python3
"""Django 5.2's admin on the data of `throughline-bench --admin`, for the latency comparison.

Creates a SQLite file database (WAL) with the same models and rows as the throughline side
(students, courses, enrollments with grade and status; 10,000 enrollments, 50 per course),
a superuser `bench` / `bench-password`, and serves Django's admin with `runserver` (no
reloader, DEBUG off, threaded) on 127.0.0.1:PORT. `throughline-bench --admin --django`
starts it, logs in through its login form and measures the same two pages as on its own
admin: the enrollments' change list (page 1 of 10,000 rows, two foreign-key columns through
`list_select_related`) and a course's change page with its 50 enrollments inline
(`raw_id_fields` for the student, as throughline's admin types a key past 500 rows).

    python3 benches/django/admin_site.py --db /tmp/django-admin.db --port 8765
"""

import argparse
import os
import sys

PER_COURSE = 50


def configure(db):
    import django
    from django.apps import AppConfig
    from django.conf import settings

    class BenchConfig(AppConfig):
        name = "__main__"
        label = "bench"
        default_auto_field = "django.db.models.BigAutoField"

    sys.modules["__main__"].BenchConfig = BenchConfig
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        SECRET_KEY="throughline-bench-not-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF="__main__",
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": db,
                "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL"},
            }
        },
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "__main__.BenchConfig",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        STATIC_URL="/static/",
    )
    django.setup()


def define():
    from django.contrib import admin
    from django.db import models

    class Student(models.Model):
        name = models.CharField(max_length=100)
        email = models.CharField(max_length=200, unique=True)

        class Meta:
            app_label = "bench"
            ordering = ["name"]

        def __str__(self):
            return self.name

    class Course(models.Model):
        title = models.CharField(max_length=200)
        students = models.ManyToManyField(Student, through="Enrollment", related_name="courses")

        class Meta:
            app_label = "bench"
            ordering = ["title"]

        def __str__(self):
            return self.title

    class Enrollment(models.Model):
        STATUS = [("active", "Active"), ("completed", "Completed"), ("dropped", "Dropped")]
        student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrollments")
        course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
        enrolled_at = models.DateTimeField(auto_now_add=True)
        grade = models.CharField(max_length=2, blank=True)
        status = models.CharField(max_length=20, choices=STATUS, default="active")

        class Meta:
            app_label = "bench"
            constraints = [
                models.UniqueConstraint(fields=["student", "course"], name="unique_student_course")
            ]

    class EnrollmentInline(admin.TabularInline):
        model = Enrollment
        raw_id_fields = ["student"]
        extra = 3

    @admin.register(Course)
    class CourseAdmin(admin.ModelAdmin):
        list_display = ["title"]
        inlines = [EnrollmentInline]

    @admin.register(Student)
    class StudentAdmin(admin.ModelAdmin):
        list_display = ["name", "email"]
        search_fields = ["name", "email"]

    @admin.register(Enrollment)
    class EnrollmentAdmin(admin.ModelAdmin):
        list_display = ["student", "course", "grade", "status", "enrolled_at"]
        list_filter = ["status", "enrolled_at"]
        list_select_related = ["student", "course"]
        search_fields = ["grade"]

    return Student, Course, Enrollment


from django.urls import path  # noqa: E402  (the URLconf is this module)


def urls():
    from django.contrib import admin

    return [path("admin/", admin.site.urls)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args()
    fresh = not os.path.exists(args.db)
    configure(args.db)
    Student, Course, Enrollment = define()
    global urlpatterns
    urlpatterns = urls()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if fresh:
        from django.db import connection

        # The models live in this script (no migrations module): their tables directly.
        with connection.schema_editor() as editor:
            for model in (Student, Course, Enrollment):
                editor.create_model(model)
    if not Student.objects.exists():
        students = Student.objects.bulk_create(
            [
                Student(name=f"student {i:06}", email=f"student{i:06}@example.com")
                for i in range(args.rows)
            ]
        )
        courses = Course.objects.bulk_create(
            [Course(title=f"course {i:04}") for i in range(args.rows // PER_COURSE)]
        )
        Enrollment.objects.bulk_create(
            [
                Enrollment(student=s, course=courses[i // PER_COURSE], grade="B")
                for i, s in enumerate(students)
            ],
            batch_size=5000,
        )
        User.objects.create_superuser("bench", "bench@example.com", "bench-password")
    print(f"django admin ready on 127.0.0.1:{args.port}", flush=True)
    call_command("runserver", f"127.0.0.1:{args.port}", use_reloader=False, verbosity=0)


urlpatterns = []

if __name__ == "__main__":
    main()
