use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Student {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "students", to = Student, through = Enrollment))]
struct Course {
    id: Option<i64>,
    title: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "unique_student_course", fields("student", "course")))]
struct Enrollment {
    id: Option<i64>,
    #[throughline(related_name = "enrollments")]
    student: ForeignKey<Student>,
    #[throughline(related_name = "enrollments")]
    course: ForeignKey<Course>,
    grade: String,
}

// `grade` has no default: the values struct has no `Default` (no silent blank grade).
fn blank() -> CourseStudentsValues {
    <CourseStudentsValues as Default>::default()
}

fn main() {
    let _ = blank;
}
