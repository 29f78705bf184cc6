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

async fn enroll(course: &Course, student: &Student, db: &Database) {
    let _ = course.students().add([student], db).await;
}

fn main() {}
