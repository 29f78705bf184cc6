//! What the hand-written side returns, shared by its SQLite, PostgreSQL and MariaDB code:
//! the same information as the ORM call it stands for (SPEC §6), in plain structs, with the
//! number of statements it ran.

/// The hand-written code hashes keys with foldhash, as throughline does: a careful engineer
/// does not pay for SipHash on integer keys.
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// A map hashed as [`HashSet`].
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A through row, decoded straight into a struct.
#[derive(Debug, Clone)]
pub struct EnrollmentRow {
    /// The row's key.
    pub id: i64,
    /// The student's key.
    pub student_id: i64,
    /// The course's key.
    pub course_id: i64,
    /// The grade.
    pub grade: String,
}

/// A student row.
#[derive(Debug, Clone)]
pub struct StudentRow {
    /// The key.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// A through row with its student (W4).
#[derive(Debug, Clone)]
pub struct LinkRow {
    /// The through row.
    pub enrollment: EnrollmentRow,
    /// Its student, loaded by the join.
    pub student: StudentRow,
}

/// A course with its number of students and mean grade points (W6), decoded from one
/// row of the grouped query.
#[derive(Debug, Clone)]
pub struct CourseStats {
    /// The course's key.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its enrollments.
    pub students: i64,
    /// The mean of its enrollments' grade points (A 4, B 3, C 2, else 0); `None` without
    /// any row to average.
    pub mean_points: Option<f64>,
}

/// What an add did: as `throughline::AddOutcome`.
#[derive(Debug, Clone, Default)]
pub struct AddResult {
    /// Targets newly linked, in the order given.
    pub linked: Vec<i64>,
    /// Targets that were linked before.
    pub already_linked: Vec<i64>,
    /// Already-linked targets whose stored grade differs from the given one.
    pub differing: Vec<(i64, String)>,
    /// Already-linked targets whose grade was updated (the update policy, W7u).
    pub updated: Vec<i64>,
}

/// What a set did: as `throughline::SetOutcome`.
#[derive(Debug, Clone, Default)]
pub struct SetResult {
    /// Targets that stayed linked.
    pub kept: Vec<i64>,
    /// The add of the new ones.
    pub added: AddResult,
    /// The deleted through rows, in full.
    pub removed: Vec<EnrollmentRow>,
}

/// A hand-written call's result and the statements it ran (BEGIN/COMMIT not counted).
#[derive(Debug)]
pub struct Counted<T> {
    /// The result.
    pub value: T,
    /// Data statements run.
    pub statements: usize,
}

/// Keeps the first occurrence of each key, in order (the ORM deduplicates targets too).
pub fn dedupe(ids: &[i64]) -> Vec<i64> {
    let mut seen = HashSet::with_capacity_and_hasher(ids.len(), Default::default());
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// Splits `wanted` into newly linked and already linked, given the keys an
/// `INSERT ... ON CONFLICT DO NOTHING RETURNING` returned.
pub fn split_inserted(wanted: &[i64], inserted: &HashSet<i64>) -> AddResult {
    let mut out = AddResult::default();
    for id in wanted {
        if inserted.contains(id) {
            out.linked.push(*id);
        } else {
            out.already_linked.push(*id);
        }
    }
    out
}

/// Sorts `wanted` (deduplicated) against `stored`, the stored grades of its pairs that
/// exist (read in one statement; emptied here), in the order given: the already linked
/// targets, those of them whose grade differs from `grade` with the stored grade (as the
/// ORM reports them), and the missing targets, returned to be inserted.
pub fn classify(
    wanted: &[i64],
    stored: &mut HashMap<i64, String>,
    grade: &str,
) -> (AddResult, Vec<i64>) {
    let mut result = AddResult::default();
    let mut missing = Vec::new();
    result.already_linked.reserve(stored.len());
    for id in wanted {
        match stored.remove(id) {
            Some(stored_grade) => {
                result.already_linked.push(*id);
                if stored_grade != grade {
                    result.differing.push((*id, stored_grade));
                }
            }
            None => missing.push(*id),
        }
    }
    (result, missing)
}

/// Merges into `result` the insert of its missing targets (`added`: those the insert
/// returned are linked, the others were linked meanwhile by another writer).
pub fn merge_added(result: &mut AddResult, added: AddResult) {
    result.linked = added.linked;
    result.already_linked.extend(added.already_linked);
}

/// Groups W4's rows by course, aligned with `courses`, each course's rows in id order (as
/// the ORM's prefetch returns them). Sorted here, not by an `ORDER BY`: PostgreSQL would
/// sort every joined row before sending the first, and on SQLite the `ORDER BY` measured
/// slower (see `hand_sqlite::LINKS`); rows that arrive in order cost one check.
pub fn group_links(courses: &[i64], rows: Vec<LinkRow>) -> Vec<Vec<LinkRow>> {
    let mut index = HashMap::with_capacity_and_hasher(courses.len(), Default::default());
    for (i, course) in courses.iter().enumerate() {
        index.insert(*course, i);
    }
    let mut groups: Vec<Vec<LinkRow>> = courses.iter().map(|_| Vec::new()).collect();
    for row in rows {
        if let Some(i) = index.get(&row.enrollment.course_id) {
            groups[*i].push(row);
        }
    }
    for group in &mut groups {
        if !group.is_sorted_by_key(|row| row.enrollment.id) {
            group.sort_by_key(|row| row.enrollment.id);
        }
    }
    groups
}
