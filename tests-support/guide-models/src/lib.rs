//! Owns the models the relations guide (`docs/relations.md`) writes its examples with, and
//! a [`Guide`] of instances on an in-memory database, so that the guide's code blocks are
//! doctests of the `throughline` crate (a dev-dependency there): a school (courses,
//! students, enrollments with a grade and a status), seed 000's topics linked to systems
//! through a service, a shop (products, orders and their lines), seats and jobs to lock,
//! authors and their books.

use throughline::prelude::*;

/// An enrollment's status, a text enum with a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Choices)]
pub enum Status {
    /// Enrolled (the default).
    #[default]
    Active,
    /// Finished.
    Completed,
    /// Left.
    Dropped,
}

/// A student.
#[derive(Debug, Clone, Model)]
#[throughline(ordering("name"))]
pub struct Student {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The student's name.
    #[throughline(max_length = 100)]
    pub name: String,
    /// The student's age.
    pub age: i32,
    /// When the student joined the school.
    #[throughline(auto_now_add)]
    pub enrolled_at: DateTime<Utc>,
}

/// A course, with its students through [`Enrollment`].
#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
pub struct Course {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The course's title.
    #[throughline(max_length = 100)]
    pub title: String,
}

/// A student's enrollment in a course: the through model, with data.
#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "unique_student_course", fields("student", "course")))]
pub struct Enrollment {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The student.
    #[throughline(related_name = "enrollments")]
    pub student: ForeignKey<Student>,
    /// The course.
    #[throughline(related_name = "enrollments")]
    pub course: ForeignKey<Course>,
    /// When the link was made.
    #[throughline(auto_now_add)]
    pub enrolled_at: DateTime<Utc>,
    /// The grade: required, so `add()` without values does not compile.
    #[throughline(max_length = 2, blank)]
    pub grade: String,
    /// The status, `Active` unless given.
    pub status: Status,
}

/// Seed 000's topic, linked to systems through a service (no pair constraint).
#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "systems", to = System, through = TopicSystem, related_name = "topics"))]
pub struct Topic {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The topic's name.
    pub name: String,
}

/// A system a topic reaches.
#[derive(Debug, Clone, Model)]
pub struct System {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The system's name.
    pub name: String,
}

/// The service a topic reaches a system by.
#[derive(Debug, Clone, Model)]
pub struct Service {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The service's name.
    pub name: String,
}

/// A topic's link to a system, by a service.
#[derive(Debug, Clone, Model)]
pub struct TopicSystem {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The topic.
    #[throughline(related_name = "+")]
    pub topic: ForeignKey<Topic>,
    /// The system.
    #[throughline(related_name = "+")]
    pub system: ForeignKey<System>,
    /// The service.
    #[throughline(related_name = "+")]
    pub service: ForeignKey<Service>,
}

/// A product in stock.
#[derive(Debug, Clone, Model)]
pub struct Product {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The product's name.
    pub name: String,
    /// Its price.
    pub price: f64,
    /// Units in stock.
    pub stock: i32,
    /// Units reserved by orders.
    pub reserved: i32,
}

/// An order.
#[derive(Debug, Clone, Model)]
pub struct Order {
    /// Auto-increment key.
    pub id: Option<i64>,
}

/// A line of an order.
#[derive(Debug, Clone, Model)]
pub struct Line {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The order.
    #[throughline(related_name = "lines")]
    pub order: ForeignKey<Order>,
    /// Units ordered.
    pub qty: i32,
}

/// A seat to book (a row to lock).
#[derive(Debug, Clone, Model)]
pub struct Seat {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Whether it is booked.
    pub taken: bool,
}

/// A job in a queue (rows to skip when locked).
#[derive(Debug, Clone, Model)]
pub struct Job {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// What to do.
    pub task: String,
}

/// An author.
#[derive(Debug, Clone, Model)]
pub struct Author {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The author's name.
    pub name: String,
}

/// A book, by an author.
#[derive(Debug, Clone, Model)]
pub struct Book {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The book's title.
    pub title: String,
    /// Its author.
    #[throughline(related_name = "books")]
    pub author: ForeignKey<Author>,
}

/// Every model above.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(Student::meta())
        .register(Course::meta())
        .register(Enrollment::meta())
        .register(Topic::meta())
        .register(System::meta())
        .register(Service::meta())
        .register(TopicSystem::meta())
        .register(Product::meta())
        .register(Order::meta())
        .register(Line::meta())
        .register(Seat::meta())
        .register(Job::meta())
        .register(Author::meta())
        .register(Book::meta());
    registry
}

/// The instances the guide's examples name, saved in an in-memory database.
pub struct Guide {
    /// The database.
    pub db: Database,
    /// A course.
    pub math: Course,
    /// Another course.
    pub art: Course,
    /// Every course.
    pub courses: Vec<Course>,
    /// Students.
    pub alice: Student,
    /// A student.
    pub bob: Student,
    /// A student.
    pub carol: Student,
    /// A student not saved yet.
    pub new_student: Student,
    /// Every student.
    pub students: Vec<Student>,
    /// A topic.
    pub topic: Topic,
    /// A system.
    pub s1: System,
    /// A service.
    pub svc2: Service,
    /// An author.
    pub ann: Author,
    /// Every author.
    pub authors: Vec<Author>,
}

fn student(name: &str, age: i32) -> Student {
    Student {
        id: None,
        name: name.into(),
        age,
        enrolled_at: Utc::now(),
    }
}

/// The guide's instances, saved.
pub async fn guide() -> throughline::Result<Guide> {
    let db = Database::connect("sqlite::memory:").await?;
    throughline::create_tables(&db, &registry()).await?;
    let course = |title: &str| Course {
        id: None,
        title: title.into(),
    };
    let math = course("Math").create(&db).await?;
    let art = course("Art").create(&db).await?;
    let alice = student("alice", 20).create(&db).await?;
    let bob = student("bob", 22).create(&db).await?;
    let carol = student("carol", 19).create(&db).await?;
    let topic = Topic {
        id: None,
        name: "billing".into(),
    }
    .create(&db)
    .await?;
    let s1 = System {
        id: None,
        name: "s1".into(),
    }
    .create(&db)
    .await?;
    let svc2 = Service {
        id: None,
        name: "svc2".into(),
    }
    .create(&db)
    .await?;
    let ann = Author {
        id: None,
        name: "ann".into(),
    }
    .create(&db)
    .await?;
    Ok(Guide {
        courses: vec![math.clone(), art.clone()],
        students: vec![alice.clone(), bob.clone(), carol.clone()],
        authors: vec![ann.clone()],
        db,
        math,
        art,
        alice,
        bob,
        carol,
        new_student: student("dave", 21),
        topic,
        s1,
        svc2,
        ann,
    })
}

/// Records a relation change (the hook example's audit log).
pub fn audit(change: &throughline::LinkChange, total: u64) {
    let _ = (change, total);
}
