//! Owns `inspectdb`'s code generation: Rust model code from the [`TableInfo`]s of an
//! existing database, recognising junction tables (two foreign keys, unique as a pair or
//! as a composite primary key, with or without extra columns) as many-to-many relations:
//! implicit when the table has nothing else and follows throughline's naming, through a
//! generated model otherwise.
//!
//! The code compiles whatever the names: every table and column name is written as an
//! escaped string literal (`table = "..."`, `column = "..."`), and Rust names are made
//! from them ASCII-only, never a keyword, a digit first, or a name the generated code
//! uses (`Self`, `Option`, `Registry`, ...), with a numbered suffix when two names would
//! come out the same. Unique constraints (single-column ones included) and indexes keep
//! the database's own names.

use crate::introspect::{ColumnInfo, IndexInfo, TableInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// What inspectdb found, and the code it wrote.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The generated Rust source.
    pub code: String,
    /// Junction tables recognised, as (table, source table, target table, implicit).
    pub relations: Vec<(String, String, String, bool)>,
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// `blog_article` → `BlogArticle`.
fn camel(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect()
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn ident(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    // Runs of underscores (from `größe`) are not snake case: one is enough.
    let mut collapsed = String::new();
    for c in cleaned.chars() {
        if !(c == '_' && collapsed.ends_with('_')) {
            collapsed.push(c);
        }
    }
    let cleaned = collapsed;
    let cleaned = if cleaned.chars().all(|c| c == '_') {
        format!("field{cleaned}")
    } else if cleaned.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        format!("f_{cleaned}")
    } else {
        cleaned
    };
    if KEYWORDS.contains(&cleaned.as_str()) {
        format!("{cleaned}_")
    } else {
        cleaned
    }
}

/// Type names the generated code uses: a model must not shadow them.
const RESERVED_TYPES: &[&str] = &[
    "Self",
    "Option",
    "Some",
    "None",
    "String",
    "Vec",
    "Box",
    "Result",
    "Ok",
    "Err",
    "ForeignKey",
    "Registry",
    "Model",
    "Choices",
    "Conflict",
    "Counting",
    "Database",
    "Executor",
    "TextField",
    "Transaction",
    "Value",
];

/// A model name for `table`: CamelCase, ASCII, not starting with a digit, not reserved.
fn model_name(table: &str) -> String {
    let name = camel(table);
    let name = if name.is_empty() {
        "Table".to_owned()
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("T{name}")
    } else {
        name
    };
    if RESERVED_TYPES.contains(&name.as_str()) {
        format!("{name}Model")
    } else {
        name
    }
}

/// `name`, or `name2`, `name3`, ... (`name_2` for snake-case names), the first not in
/// `used`; recorded in `used`.
fn unique_name(name: String, used: &mut BTreeSet<String>, snake_case: bool) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = if snake_case {
            format!("{name}_{n}")
        } else {
            format!("{name}{n}")
        };
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

/// A Rust string literal for `text` (quotes, backslashes and control characters escaped).
fn lit(text: &str) -> String {
    format!("{text:?}")
}

/// The field name of each column of `table`: a foreign key's without its `_id`, every name
/// a valid, distinct identifier.
fn field_names(table: &TableInfo) -> BTreeMap<String, String> {
    let mut used = BTreeSet::new();
    table
        .columns
        .iter()
        .map(|c| {
            let base = if table.foreign_key(&c.name).is_some() {
                field_name(&c.name)
            } else {
                ident(&c.name)
            };
            (c.name.clone(), unique_name(base, &mut used, true))
        })
        .collect()
}

/// The Rust type of decimal columns.
const DECIMAL: &str = "throughline::Decimal";

/// The `max_digits` and `decimal_places` of a decimal column declared `numeric(p, s)`, and
/// whether they are a guess: 28 and 10 for a column without a precision (PostgreSQL's
/// `numeric`, Django's SQLite `decimal`), 28 digits at most (rust_decimal's).
fn decimal_digits(sql_type: &str) -> ((u8, u8), bool) {
    let declared = sql_type
        .split_once('(')
        .and_then(|(_, rest)| rest.split(')').next())
        .map(|inside| {
            let mut parts = inside.split(',').map(|n| n.trim().parse::<u32>().ok());
            (parts.next().flatten(), parts.next().flatten().or(Some(0)))
        });
    match declared {
        Some((Some(digits), Some(places))) if (1..=28).contains(&digits) && places <= digits => {
            ((digits as u8, places as u8), false)
        }
        Some((Some(_), Some(places))) => ((28, places.min(28) as u8), true),
        _ => ((28, 10), true),
    }
}

/// The Rust type of a column (without `Option`), and a max length for text.
fn rust_type(column: &ColumnInfo) -> (String, Option<u32>, Option<&'static str>) {
    let t = column.sql_type.as_str();
    let length = t
        .split_once('(')
        .and_then(|(_, rest)| rest.trim_end_matches(')').split(',').next())
        .and_then(|n| n.trim().parse::<u32>().ok());
    let base = t.split('(').next().unwrap_or(t).trim();
    // MySQL's boolean.
    if t == "tinyint(1)" {
        return ("bool".into(), None, None);
    }
    match base {
        "integer" | "int" | "int4" | "mediumint" => ("i32".into(), None, None),
        "bigint" | "int8" | "bigserial" => ("i64".into(), None, None),
        "smallint" | "int2" | "tinyint" | "smallserial" => ("i16".into(), None, None),
        "serial" => ("i32".into(), None, None),
        "real" | "double" | "double precision" | "float" | "float8" | "float4" => {
            ("f64".into(), None, None)
        }
        "numeric" | "decimal" | "decimal_text" => (
            DECIMAL.into(),
            None,
            decimal_digits(t).1.then_some(
                "a decimal column without a precision within 28 digits, given max_digits and decimal_places that are a guess",
            ),
        ),
        "bool" | "boolean" => ("bool".into(), None, None),
        "varchar" | "character varying" | "nvarchar" | "varying character" => {
            ("String".into(), length, None)
        }
        "char" | "character" | "nchar" | "bpchar" => ("String".into(), length, None),
        "text" | "clob" | "" | "tinytext" | "mediumtext" | "longtext" => {
            ("String".into(), None, None)
        }
        "date" => ("throughline::chrono::NaiveDate".into(), None, None),
        "datetime"
        | "timestamp"
        | "timestamp with time zone"
        | "timestamptz"
        | "timestamp without time zone" => (
            "throughline::chrono::DateTime<throughline::chrono::Utc>".into(),
            None,
            None,
        ),
        "json" | "jsonb" => ("throughline::serde_json::Value".into(), None, None),
        "uuid" => ("throughline::uuid::Uuid".into(), None, None),
        "blob" | "bytea" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary" => {
            ("Vec<u8>".into(), None, None)
        }
        _ => (
            "String".into(),
            None,
            Some("an unrecognised column type read as text"),
        ),
    }
}

fn on_delete(action: &str) -> Option<&'static str> {
    match action {
        "CASCADE" => None,
        "RESTRICT" => Some("protect"),
        "SET NULL" => Some("set_null"),
        _ => Some("do_nothing"),
    }
}

/// Whether `table` is a junction: exactly two foreign keys, unique together (a unique
/// constraint or a composite primary key).
fn junction(table: &TableInfo) -> Option<(String, String)> {
    if table.foreign_keys.len() != 2 {
        return None;
    }
    let a = table.foreign_keys[0].column.clone();
    let b = table.foreign_keys[1].column.clone();
    let pair: BTreeSet<&str> = [a.as_str(), b.as_str()].into();
    let pk: BTreeSet<&str> = table.primary_key().into_iter().collect();
    let unique = table.uniques.iter().any(|u| {
        u.columns
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>()
            == pair
    });
    (unique || pk == pair).then_some((a, b))
}

/// Generates the model code for `tables`.
pub fn generate(tables: &[TableInfo]) -> Inspection {
    let mut used_models = BTreeSet::new();
    let models: BTreeMap<&str, String> = tables
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                unique_name(model_name(&t.name), &mut used_models, false),
            )
        })
        .collect();
    let model_of = |table: &str| {
        models
            .get(table)
            .cloned()
            .unwrap_or_else(|| model_name(table))
    };
    let fields_of: BTreeMap<&str, BTreeMap<String, String>> = tables
        .iter()
        .map(|t| (t.name.as_str(), field_names(t)))
        .collect();
    let no_fields = BTreeMap::new();
    let field_of = |table: &TableInfo, column: &str| -> String {
        fields_of
            .get(table.name.as_str())
            .unwrap_or(&no_fields)
            .get(column)
            .cloned()
            .unwrap_or_else(|| ident(column))
    };
    // The field a foreign key refers to when it is not its table's primary key (`to_field`).
    let referred_field = |fk: &crate::introspect::ForeignKeyInfo| -> Option<String> {
        let target = tables.iter().find(|t| t.name == fk.table)?;
        let primary = target.primary_key();
        if primary.len() == 1 && primary[0] == fk.to_column {
            return None;
        }
        Some(field_of(target, &fk.to_column))
    };
    let mut relations_on: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut found = Vec::new();
    let mut implicit_tables = BTreeSet::new();
    let mut used_reverse: BTreeSet<(String, String)> = BTreeSet::new();
    for table in tables {
        let Some((a, b)) = junction(table) else {
            continue;
        };
        let (Some(fa), Some(fb)) = (table.foreign_key(&a), table.foreign_key(&b)) else {
            continue;
        };
        let source = model_of(&fa.table);
        let target = model_of(&fb.table);
        let extras: Vec<&ColumnInfo> = table
            .columns
            .iter()
            .filter(|c| c.name != a && c.name != b && !(c.auto && c.primary_key))
            .collect();
        let has_id = table.columns.iter().any(|c| c.name == "id" && c.auto);
        let conventional =
            a == format!("{}_id", snake(&source)) && b == format!("{}_id", snake(&target));
        // Implicit only if the table holds nothing an implicit junction would not recreate
        // with the same names: its pair constraint named as throughline names it (or
        // unnamed), no other constraint, no index but the foreign keys' own.
        let pair_name = format!("{}_{}_{}_uniq", table.name, snake(&source), snake(&target));
        let names_kept = table
            .uniques
            .iter()
            .all(|u| u.columns.len() == 2 && u.name.as_ref().is_none_or(|n| *n == pair_name))
            && table.indexes.iter().all(|i| {
                matches!(i.columns.as_slice(), [c] if (*c == a || *c == b)
                && i.name.as_ref().is_none_or(|n| *n == format!("{}_{c}_idx", table.name)))
            });
        let to_keys = referred_field(fa).is_none() && referred_field(fb).is_none();
        let implicit = extras.is_empty()
            && has_id
            && conventional
            && source != target
            && names_kept
            && to_keys;
        let source_columns: BTreeSet<String> = fields_of
            .get(fa.table.as_str())
            .map(|fields| fields.values().cloned().collect())
            .unwrap_or_default();
        let mut name = ident(&format!("{}s", snake(&target)));
        if source_columns.contains(&name)
            || relations_on.get(&source).is_some_and(|list| {
                list.iter()
                    .any(|d| d.contains(&format!("name = \"{name}\"")))
            })
        {
            name = ident(&format!(
                "{}_{}",
                snake(&model_of(&table.name)),
                snake(&target)
            ));
        }
        let mut reverse = ident(&format!("{}_set", snake(&source)));
        if !used_reverse.insert((target.clone(), reverse.clone())) {
            reverse = ident(&format!(
                "{}_{}_set",
                snake(&model_of(&table.name)),
                snake(&source)
            ));
            used_reverse.insert((target.clone(), reverse.clone()));
        }
        let declaration = if implicit {
            implicit_tables.insert(table.name.clone());
            format!(
                "#[throughline(many_to_many(name = \"{name}\", to = {target}, table = {}, related_name = \"{reverse}\"))]",
                lit(&table.name)
            )
        } else {
            let through = model_of(&table.name);
            let self_ref = if source == target {
                ", symmetrical = false"
            } else {
                ""
            };
            format!(
                "#[throughline(many_to_many(name = \"{name}\", to = {target}, through = {through}, through_fields(\"{}\", \"{}\"), related_name = \"{reverse}\"{self_ref}))]",
                field_of(table, &a),
                field_of(table, &b)
            )
        };
        relations_on
            .entry(source.clone())
            .or_default()
            .push(declaration);
        found.push((
            table.name.clone(),
            fa.table.clone(),
            fb.table.clone(),
            implicit,
        ));
    }

    let mut code = String::new();
    let _ = writeln!(
        code,
        "//! Models generated by `throughline inspectdb` from an existing database."
    );
    let _ = writeln!(
        code,
        "//! Review them: names, `Option`s and relations are guesses from the catalogue."
    );
    let _ = writeln!(code);
    let _ = writeln!(code, "#![allow(dead_code)]");
    let _ = writeln!(code);
    let _ = writeln!(code, "use throughline::prelude::*;");
    let mut registered = Vec::new();
    for table in tables {
        if implicit_tables.contains(&table.name) {
            continue;
        }
        let model = model_of(&table.name);
        registered.push(model.clone());
        let _ = writeln!(code);
        let _ = writeln!(code, "/// Table {}.", lit(&table.name));
        let _ = writeln!(code, "#[derive(Debug, Clone, Model)]");
        let mut attrs = vec![format!("table = {}", lit(&table.name))];
        let pk = table.primary_key();
        let is_junction = junction(table).is_some();
        let field_list = |columns: &[String]| -> String {
            columns
                .iter()
                .map(|c| format!("\"{}\"", field_of(table, c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Unnamed single-column uniques (SQLite's inline UNIQUE) stay on the field.
        let mut unique_columns: BTreeSet<&str> = BTreeSet::new();
        for unique in &table.uniques {
            match (&unique.name, unique.columns.as_slice()) {
                (None, [column]) => {
                    unique_columns.insert(column.as_str());
                }
                // PostgreSQL's default name is also what a field's `unique` is called.
                (Some(name), [column])
                    if *name
                        == throughline_core::schema::single_unique_name(
                            &table.name,
                            column,
                            false,
                        ) =>
                {
                    unique_columns.insert(column.as_str());
                }
                (name, columns) => {
                    let name = name
                        .clone()
                        .unwrap_or_else(|| format!("{}_{}_uniq", table.name, columns.join("_")));
                    attrs.push(format!(
                        "unique(name = {}, fields({}))",
                        lit(&name),
                        field_list(columns)
                    ));
                }
            }
        }
        for index in &table.indexes {
            let IndexInfo { name, columns } = index;
            let name = name
                .clone()
                .unwrap_or_else(|| format!("{}_{}_idx", table.name, columns.join("_")));
            attrs.push(format!(
                "index(name = {}, fields({}))",
                lit(&name),
                field_list(columns)
            ));
        }
        if pk.len() > 1 && is_junction {
            let columns: Vec<String> = pk.iter().map(|c| (*c).to_owned()).collect();
            attrs.push(format!(
                "unique(name = {}, fields({}))",
                lit(&format!("{}_pkey", table.name)),
                field_list(&columns)
            ));
        }
        let _ = writeln!(code, "#[throughline({})]", attrs.join(", "));
        for relation in relations_on.get(&model).into_iter().flatten() {
            let _ = writeln!(code, "{relation}");
        }
        let _ = writeln!(code, "pub struct {model} {{");
        let mut pk_chosen = false;
        let mut fk_targets: BTreeMap<String, usize> = BTreeMap::new();
        for fk in &table.foreign_keys {
            *fk_targets.entry(fk.table.clone()).or_default() += 1;
        }
        for (index, column) in table.columns.iter().enumerate() {
            let mut field_attrs = Vec::new();
            let fk = table.foreign_key(&column.name);
            let name = field_of(table, &column.name);
            let default_column = if fk.is_some() {
                format!("{name}_id")
            } else {
                name.clone()
            };
            if default_column != column.name {
                field_attrs.push(format!("column = {}", lit(&column.name)));
            }
            if unique_columns.contains(column.name.as_str()) && !column.primary_key {
                field_attrs.push("unique".into());
            }
            let is_pk = column.primary_key && !pk_chosen;
            let auto_pk = is_pk && column.auto && pk.len() == 1;
            if column.primary_key && pk.len() > 1 && is_pk {
                let _ = writeln!(
                    code,
                    "    // The composite primary key {:?} is represented by its first column.",
                    pk
                );
            }
            if pk.is_empty() && index == 0 && !pk_chosen {
                let _ = writeln!(
                    code,
                    "    // The table has no primary key: its first column stands for one."
                );
            }
            let stands_for_pk = is_pk || (pk.is_empty() && index == 0);
            if stands_for_pk {
                pk_chosen = true;
            }
            let ty = if let Some(fk) = fk {
                let target = model_of(&fk.table);
                let target = if target == model {
                    "Self".to_owned()
                } else {
                    target
                };
                if is_junction
                    || fk_targets.get(&fk.table).copied().unwrap_or(0) > 1
                    || fk.table == table.name
                {
                    field_attrs.push("related_name = \"+\"".into());
                }
                if let Some(action) = on_delete(&fk.on_delete)
                    && (action != "set_null" || column.nullable)
                {
                    field_attrs.push(format!("on_delete = \"{action}\""));
                }
                if let Some(field) = referred_field(fk) {
                    field_attrs.push(format!("to_field = {}", lit(&field)));
                }
                let ty = format!("ForeignKey<{target}>");
                if column.nullable {
                    format!("Option<{ty}>")
                } else {
                    ty
                }
            } else if auto_pk {
                "Option<i64>".into()
            } else {
                let (ty, length, note) = rust_type(column);
                if let Some(length) = length.filter(|_| ty == "String") {
                    field_attrs.push(format!("max_length = {length}"));
                }
                if ty == DECIMAL {
                    let ((digits, places), _) = decimal_digits(&column.sql_type);
                    field_attrs.push(format!("max_digits = {digits}, decimal_places = {places}"));
                }
                if let Some(note) = note {
                    let _ = writeln!(
                        code,
                        "    // {} is {note} (declared {}).",
                        lit(&column.name),
                        lit(&column.sql_type)
                    );
                }
                if column.nullable && !stands_for_pk {
                    format!("Option<{ty}>")
                } else {
                    ty
                }
            };
            if stands_for_pk && (!auto_pk || name != "id") {
                field_attrs.insert(0, "primary_key".into());
            }
            if !field_attrs.is_empty() {
                let _ = writeln!(code, "    #[throughline({})]", field_attrs.join(", "));
            }
            let _ = writeln!(code, "    pub {name}: {ty},");
        }
        let _ = writeln!(code, "}}");
    }
    let _ = writeln!(code);
    let _ = writeln!(code, "/// Every model above, registered.");
    let _ = writeln!(code, "pub fn registry() -> Registry {{");
    let _ = writeln!(code, "    let mut registry = Registry::new();");
    for model in &registered {
        let _ = writeln!(code, "    registry.register({model}::meta());");
    }
    let _ = writeln!(code, "    registry");
    let _ = writeln!(code, "}}");
    Inspection {
        code,
        relations: found,
    }
}

/// The field name of a foreign-key column (`author_id` → `author`).
fn field_name(column: &str) -> String {
    ident(
        column
            .strip_suffix("_id")
            .filter(|s| !s.is_empty())
            .unwrap_or(column),
    )
}
