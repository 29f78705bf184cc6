//! The throughline side of W1–W8: each workload is the one ORM call an application writes
//! for it, on any executor (the pool, or a [`throughline::Counting`] wrapper around it in
//! the warm-up run, to record the statements).

use crate::models::{
    Course, CourseStudentsValues, Enrollment, EnrollmentCourseReverse, EnrollmentStudentReverse,
    Student,
};
use throughline::expr::when;
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

/// W7 (issue 19's re-add with differing values): adds `students`, all linked already,
/// with `grade`, under `policy`: `Skip` (the default) leaves the rows alone and reports them
/// as differing, `Update` writes the grade into them.
pub async fn readd(
    course: &Course,
    students: &[Student],
    grade: &str,
    policy: OnExisting,
    exec: &impl Executor,
) -> throughline::Result<AddOutcome> {
    let values = CourseStudentsValues {
        grade: Some(grade.into()),
    };
    course
        .students()
        .on_existing(policy)
        .add_with(students, values, exec)
        .await
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
        linked += add_one(course, student, exec).await?.linked.len();
    }
    Ok(linked)
}

/// W3's and W8's single add: one student, the grade's default.
pub async fn add_one(
    course: &Course,
    student: &Student,
    exec: &impl Executor,
) -> throughline::Result<AddOutcome> {
    course.students().add([student], exec).await
}

/// W8's read: the course's students.
pub async fn students(course: &Course, exec: &impl Executor) -> throughline::Result<Vec<Student>> {
    course.students().all(exec).await
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

/// The courses with the number of their students and the mean grade points of their
/// enrollments: what W6 reads for each course.
pub type AnnotatedCourses = Vec<(Course, (i64, Option<f64>))>;

/// W6: `courses` (by key), each with its number of students and the mean of its
/// enrollments' grade points (A 4.0, B 3.0, C 2.0, anything else 0.0), computed by the
/// database in one statement, by course key.
pub async fn aggregates(
    courses: &[Course],
    exec: &impl Executor,
) -> throughline::Result<AnnotatedCourses> {
    let grade = Course::ENROLLMENTS.then(Enrollment::GRADE);
    let points = when(grade.eq("A"), 4.0)
        .when(grade.eq("B"), 3.0)
        .when(grade.eq("C"), 2.0)
        .otherwise(0.0);
    Course::objects()
        .filter(Course::ID.is_in(courses.iter().filter_map(|c| c.id)))
        .annotate((Course::STUDENTS.count(), points.avg()))
        .order_by([Course::ID.asc()])
        .all(exec)
        .await
}
