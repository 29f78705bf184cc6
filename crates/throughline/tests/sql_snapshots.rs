//! Snapshots of the SQL that querysets and write builders render, on both backends, without
//! a database. Each snapshot is `sql` then the parameters; its name ends in the backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::models::*;
use throughline::prelude::*;
use throughline::{Backend, QuerySet, Value};
use throughline_query::{
    Conflict, DeleteQuery, FieldName, InsertQuery, Projection, SelectQuery, Statement, UpdateQuery,
};

const BACKENDS: [(Backend, &str); 2] =
    [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")];

fn show(stmt: &Statement) -> String {
    format!("{}\n{:?}", stmt.sql, stmt.params)
}

/// Snapshots `render` on each backend as `{name}__sqlite` and `{name}__postgres`.
fn snap(name: &str, render: impl Fn(Backend) -> Statement) {
    for (backend, suffix) in BACKENDS {
        insta::assert_snapshot!(format!("{name}__{suffix}"), show(&render(backend)));
    }
}

/// Snapshots the select of a queryset.
fn snap_select<M: Model>(name: &str, qs: &QuerySet<M>) {
    snap(name, |backend| qs.query().render(backend).unwrap());
}

/// Snapshots the select of a queryset with another projection (count, exists, values).
fn snap_projection<M: Model>(name: &str, qs: &QuerySet<M>, projection: Projection) {
    let mut query: SelectQuery = qs.query().clone();
    query.projection = projection;
    snap(name, |backend| query.render(backend).unwrap());
}

#[test]
fn select_simple_filter() {
    snap_select(
        "select_simple_filter",
        &Student::objects().filter(Student::NAME.eq("alice")),
    );
}

#[test]
fn select_and_or_not_with_nullable_field() {
    // (name = 'alice' OR age > 20) AND NOT age = 30: the negated condition on the nullable
    // `age` keeps rows whose age is NULL.
    snap_select(
        "select_and_or_not_nullable",
        &Student::objects()
            .filter((Student::NAME.eq("alice") | Student::AGE.gt(20)) & !Student::AGE.eq(30)),
    );
    snap_select(
        "select_ne_nullable",
        &Student::objects().filter(Student::AGE.ne(30)),
    );
    snap_select(
        "select_exclude_nullable",
        &Student::objects().exclude(Student::AGE.lt(18) | Student::NAME.eq("bob")),
    );
    snap_select(
        "select_not_is_null",
        &Student::objects().filter(!Student::AGE.is_null(true)),
    );
}

#[test]
fn select_text_lookups() {
    // `%`, `_`, `*` and `\` are escaped in the patterns.
    snap_select(
        "select_contains",
        &Student::objects().filter(Student::NAME.contains("50%_a*\\")),
    );
    snap_select(
        "select_icontains",
        &Student::objects().filter(Student::NAME.icontains("Al_i")),
    );
    snap_select(
        "select_startswith",
        &Student::objects().filter(Student::NAME.startswith("Al?")),
    );
    snap_select(
        "select_iexact",
        &Student::objects().filter(Student::NAME.iexact("ALICE")),
    );
}

#[test]
fn select_is_in() {
    snap_select(
        "select_is_in_empty",
        &Student::objects().filter(Student::ID.is_in(Vec::<i64>::new())),
    );
    snap_select(
        "select_is_in_empty_excluded",
        &Student::objects().exclude(Student::ID.is_in(Vec::<i64>::new())),
    );
    snap_select(
        "select_is_in",
        &Student::objects().filter(Student::ID.is_in([1i64, 2, 3])),
    );
}

#[test]
fn select_across_relations() {
    snap_select(
        "select_filter_across_fk",
        &Enrollment::objects().filter(Enrollment::STUDENT.then(Student::NAME).eq("alice")),
    );
    snap_select(
        "select_filter_across_nullable_fk",
        &Book::objects().filter(Book::EDITOR.then(Author::NAME).eq("ed")),
    );
    snap_select(
        "select_filter_across_reverse_fk",
        &Student::objects().filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A")),
    );
    // One call: both conditions (and the chain on to the course) use one enrollment join.
    snap_select(
        "select_reverse_fk_one_call_shared_join",
        &Student::objects().filter(
            Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A")
                & Student::ENROLLMENTS
                    .join(Enrollment::COURSE)
                    .then(Course::TITLE)
                    .eq("math"),
        ),
    );
    // Two calls: each has its own enrollment join.
    snap_select(
        "select_reverse_fk_two_calls_two_joins",
        &Student::objects()
            .filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A"))
            .filter(
                Student::ENROLLMENTS
                    .join(Enrollment::COURSE)
                    .then(Course::TITLE)
                    .eq("math"),
            ),
    );
    // Forward joins are shared across calls.
    snap_select(
        "select_forward_fk_two_calls_shared_join",
        &Enrollment::objects()
            .filter(Enrollment::STUDENT.then(Student::NAME).eq("alice"))
            .filter(Enrollment::STUDENT.then(Student::AGE).gt(20)),
    );
    // A negated condition across a nullable forward key keeps rows without the key.
    snap_select(
        "select_exclude_across_nullable_fk",
        &Book::objects().exclude(Book::EDITOR.then(Author::NAME).eq("ed")),
    );
    snap_select(
        "select_exclude_across_reverse_fk",
        &Student::objects().exclude(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("F")),
    );
    snap_select(
        "select_exclude_across_reverse_fk_two_conditions",
        &Student::objects().exclude(
            Student::ENROLLMENTS.then(Enrollment::GRADE).eq("F")
                & Student::ENROLLMENTS
                    .then(Enrollment::STATUS)
                    .eq(Status::Dropped),
        ),
    );
}

#[test]
fn select_ordering_and_slicing() {
    snap_select(
        "select_order_by_across_fk_limit_offset",
        &Enrollment::objects()
            .order_by([
                Enrollment::STUDENT.then(Student::NAME).asc(),
                Enrollment::GRADE.desc(),
            ])
            .limit(10)
            .offset(20),
    );
    // Ordering by the reverse relation a filter call crosses: the ordering has its own join.
    snap_select(
        "select_filter_and_order_by_same_reverse_fk",
        &Student::objects()
            .filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A"))
            .order_by([Student::ENROLLMENTS.then(Enrollment::GRADE).asc()]),
    );
    snap_select(
        "select_offset_without_limit",
        &Course::objects().order_by([Course::TITLE.asc()]).offset(5),
    );
}

#[test]
fn select_count_and_exists() {
    snap_projection(
        "count_simple",
        &Student::objects().filter(Student::AGE.gte(18)),
        Projection::Count,
    );
    snap_projection(
        "count_distinct_across_reverse_fk",
        &Student::objects()
            .filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A"))
            .distinct(),
        Projection::Count,
    );
    snap_projection(
        "count_limit",
        &Student::objects().limit(3),
        Projection::Count,
    );
    snap_projection(
        "exists_across_reverse_fk",
        &Student::objects().filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A")),
        Projection::Exists,
    );
}

#[test]
fn select_related_and_values() {
    snap_select(
        "select_related",
        &Enrollment::objects()
            .filter(Enrollment::GRADE.eq("A"))
            .select_related(Enrollment::STUDENT)
            .select_related(Enrollment::COURSE),
    );
    snap_select(
        "select_related_nullable_fk",
        &Book::objects().select_related(Book::EDITOR),
    );
    snap_projection(
        "values_across_fk",
        &Enrollment::objects().filter(Enrollment::COURSE.then(Course::OPEN).eq(true)),
        Projection::Columns(vec![
            Enrollment::STUDENT.then(Student::NAME).path(),
            Enrollment::COURSE.then(Course::TITLE).path(),
            Enrollment::GRADE.path(),
        ]),
    );
    // Values of the reverse relation a filter call crosses: the values have their own join.
    snap_projection(
        "values_reverse_fk_after_filter",
        &Student::objects().filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A")),
        Projection::Columns(vec![
            Student::NAME.path(),
            Student::ENROLLMENTS.then(Enrollment::GRADE).path(),
        ]),
    );
}

#[test]
fn insert_with_conflicts() {
    let fields: Vec<FieldName> = ["name", "email", "age"].map(FieldName::from).to_vec();
    let rows = vec![
        vec![
            Value::from("alice"),
            Value::from("alice@example.com"),
            Value::from(Some(20i32)),
        ],
        vec![
            Value::from("bob"),
            Value::from("bob@example.com"),
            Value::Null,
        ],
    ];
    let returning: Vec<FieldName> = Student::meta()
        .fields
        .iter()
        .map(|f| f.name.as_str().into())
        .collect();
    let insert = |conflict: Conflict| InsertQuery {
        model: Student::meta(),
        fields: fields.clone(),
        rows: rows.clone(),
        conflict,
        returning: returning.clone(),
    };
    snap("insert_conflict_ignore", |backend| {
        insert(Conflict::Ignore).render(backend).unwrap()
    });
    snap("insert_conflict_update", |backend| {
        insert(Conflict::Update {
            target: vec!["email".into()],
            fields: vec!["name".into(), "age".into()],
        })
        .render(backend)
        .unwrap()
    });
    snap(
        "insert_enrollment_conflict_update_unique_together",
        |backend| {
            InsertQuery {
                model: Enrollment::meta(),
                fields: ["student", "course", "grade", "status"]
                    .map(FieldName::from)
                    .to_vec(),
                rows: vec![vec![
                    Value::from(1i64),
                    Value::from(2i64),
                    Value::from("A"),
                    Value::from("active"),
                ]],
                conflict: Conflict::Update {
                    target: vec!["student".into(), "course".into()],
                    fields: vec!["grade".into()],
                },
                returning: vec!["id".into()],
            }
            .render(backend)
            .unwrap()
        },
    );
}

#[test]
fn update_and_delete() {
    snap("update_local_filter", |backend| {
        UpdateQuery {
            model: Enrollment::meta(),
            set: vec![("grade".into(), Value::from("B"))],
            computed: Vec::new(),
            groups: Enrollment::objects()
                .filter(Enrollment::GRADE.eq("C"))
                .query()
                .groups
                .clone(),
        }
        .render(backend)
        .unwrap()
    });
    snap("update_filter_across_fk", |backend| {
        UpdateQuery {
            model: Enrollment::meta(),
            set: vec![
                ("grade".into(), Value::from("B")),
                ("status".into(), Value::from("completed")),
            ],
            computed: Vec::new(),
            groups: Enrollment::objects()
                .filter(Enrollment::STUDENT.then(Student::NAME).eq("alice"))
                .exclude(Enrollment::COURSE.then(Course::OPEN).eq(false))
                .query()
                .groups
                .clone(),
        }
        .render(backend)
        .unwrap()
    });
    snap("delete_filter_across_reverse_fk", |backend| {
        DeleteQuery {
            model: Student::meta(),
            groups: Student::objects()
                .filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("F"))
                .query()
                .groups
                .clone(),
            returning: Vec::new(),
        }
        .render(backend)
        .unwrap()
    });
    snap("delete_exclude_across_reverse_fk", |backend| {
        DeleteQuery {
            model: Student::meta(),
            groups: Student::objects()
                .exclude(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A"))
                .query()
                .groups
                .clone(),
            returning: Vec::new(),
        }
        .render(backend)
        .unwrap()
    });
}

#[test]
fn delete_returning() {
    snap("delete_returning", |backend| {
        DeleteQuery {
            model: Student::meta(),
            groups: Student::objects()
                .filter(Student::AGE.is_null(true))
                .query()
                .groups
                .clone(),
            returning: vec!["id".into()],
        }
        .render(backend)
        .unwrap()
    });
}

#[test]
fn create_tables() {
    let registry = registry();
    for (name, meta) in [
        ("create_table_enrollment", Enrollment::meta()),
        ("create_table_book", Book::meta()),
    ] {
        for (backend, suffix) in BACKENDS {
            let sql = throughline_query::create_table(meta, &registry, backend).unwrap();
            insta::assert_snapshot!(format!("{name}__{suffix}"), sql.join("\n"));
        }
    }
}
