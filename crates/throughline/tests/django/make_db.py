"""Creates a SQLite database with Django 5.2, for throughline's inspectdb test.

Usage: python3 make_db.py PATH.db   (needs `pip install 'django==5.2.*'`)

The models are seed 002's school: students and courses linked through an Enrollment model
with extra fields, and an implicit many-to-many from courses to tags.
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
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)


class Course(models.Model):
    title = models.CharField(max_length=200)
    students = models.ManyToManyField(Student, through="Enrollment", related_name="courses")
    tags = models.ManyToManyField(Tag, blank=True)


class Enrollment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"

    student = models.ForeignKey(Student, on_delete=models.CASCADE)
    course = models.ForeignKey(Course, on_delete=models.CASCADE)
    enrolled_at = models.DateTimeField(auto_now_add=True)
    grade = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)

    class Meta:
        unique_together = [("student", "course")]
'''
    )
sys.path.insert(0, app_dir)

import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    INSTALLED_APPS=["school"],
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
)
django.setup()

from django.core.management import call_command

call_command("migrate", run_syncdb=True, verbosity=0)
print(sys.argv[1])
