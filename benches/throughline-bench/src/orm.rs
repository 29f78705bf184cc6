//! The throughline side of W1–W5: each workload is the one ORM call an application writes
//! for it, on any executor (the pool, or a [`throughline::Counting`] wrapper around it in
//! the warm-up run, to record the statements).

use crate::models::{Course, CourseStudentsValues, Enrollment, EnrollmentStudentReverse, Student};
use throughline::prelude::*;
use throughline::{AddOutcome, SetOutcome};

/// W1: links `students` to `course` with a grade, one call.
pub async fn bulk_add(
    course: &Course,
    students: &[Student],
    exec: &impl Executor,
) -> throughline::Result<AddOutcome> {
    let values = CourseStudentsValues {
        grade: Some("B".into()),
    };
    course.students().add_with(students, values, exec).await
}

/// W2: makes `students` the course's students (new rows get a grade).
pub async fn set(
    course: &Course,
    students: &[Student],
    exec: &impl Executor,
) -> throughline::Result<SetOutcome<Enrollment>> {
    let values = CourseStudentsValues {
        grade: Some("B".into()),
    };
    course.students().set_with(students, values, exec).await
}

/// W3: one `add` call per student.
pub async fn single_adds(
    course: &Course,
    students: &[Student],
    exec: &impl Executor,
) -> throughline::Result<usize> {
    let mut linked = 0;
    for student in students {
        linked += course.students().add([student], exec).await?.linked.len();
    }
    Ok(linked)
}

/// W4: every through row of `courses`, each with its student loaded.
pub async fn prefetch(
    courses: &[Course],
    exec: &impl Executor,
) -> throughline::Result<Vec<Vec<Enrollment>>> {
    Course::STUDENTS_RELATION.prefetch(courses, exec).await
}

/// W5: the course's students whose enrollment has `grade`.
pub async fn filter(
    course: &Course,
    grade: &str,
    exec: &impl Executor,
) -> throughline::Result<Vec<Student>> {
    course
        .students()
        .filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq(grade))?
        .all(exec)
        .await
}
