//! Owns `inspectdb`'s code generation: Rust model code from the [`TableInfo`]s of an
//! existing database, recognising junction tables (two foreign keys, unique as a pair or
//! as a composite primary key, with or without extra columns) as many-to-many relations:
//! implicit when the table has nothing else and follows throughline's naming, through a
//! generated model otherwise.

use crate::introspect::{ColumnInfo, TableInfo};
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
    let cleaned = if cleaned.chars().next().is_some_and(|c| c.is_ascii_digit()) {
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

/// The Rust type of a column (without `Option`), and a max length for text.
fn rust_type(column: &ColumnInfo) -> (String, Option<u32>, Option<&'static str>) {
    let t = column.sql_type.as_str();
    let length = t
        .split_once('(')
        .and_then(|(_, rest)| rest.trim_end_matches(')').split(',').next())
        .and_then(|n| n.trim().parse::<u32>().ok());
    let base = t.split('(').next().unwrap_or(t).trim();
    match base {
        "integer" | "int" | "int4" | "mediumint" => ("i32".into(), None, None),
        "bigint" | "int8" | "bigserial" => ("i64".into(), None, None),
        "smallint" | "int2" | "tinyint" | "smallserial" => ("i16".into(), None, None),
        "serial" => ("i32".into(), None, None),
        "real" | "double" | "double precision" | "float" | "float8" | "float4" => {
            ("f64".into(), None, None)
        }
        "numeric" | "decimal" => ("f64".into(), None, Some("a decimal column read as f64")),
        "bool" | "boolean" => ("bool".into(), None, None),
        "varchar" | "character varying" | "nvarchar" | "varying character" => {
            ("String".into(), length, None)
        }
        "char" | "character" | "nchar" | "bpchar" => ("String".into(), length, None),
        "text" | "clob" | "" => ("String".into(), None, None),
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
        "blob" | "bytea" => ("Vec<u8>".into(), None, None),
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
    let unique = table
        .uniques
        .iter()
        .any(|u| u.iter().map(String::as_str).collect::<BTreeSet<_>>() == pair);
    (unique || pk == pair).then_some((a, b))
}

/// Generates the model code for `tables`.
pub fn generate(tables: &[TableInfo]) -> Inspection {
    let models: BTreeMap<&str, String> = tables
        .iter()
        .map(|t| (t.name.as_str(), camel(&t.name)))
        .collect();
    let model_of = |table: &str| models.get(table).cloned().unwrap_or_else(|| camel(table));
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
        let implicit = extras.is_empty() && has_id && conventional && source != target;
        let source_columns: BTreeSet<String> = tables
            .iter()
            .find(|t| t.name == fa.table)
            .map(|t| t.columns.iter().map(|c| ident(&c.name)).collect())
            .unwrap_or_default();
        let mut name = ident(&format!("{}s", snake(&target)));
        if source_columns.contains(&name)
            || relations_on.get(&source).is_some_and(|list| {
                list.iter()
                    .any(|d| d.contains(&format!("name = \"{name}\"")))
            })
        {
            name = ident(&format!("{}_{}", table.name, snake(&target)));
        }
        let mut reverse = ident(&format!("{}_set", snake(&source)));
        if !used_reverse.insert((target.clone(), reverse.clone())) {
            reverse = ident(&format!("{}_{}_set", table.name, snake(&source)));
            used_reverse.insert((target.clone(), reverse.clone()));
        }
        let declaration = if implicit {
            implicit_tables.insert(table.name.clone());
            format!(
                "#[throughline(many_to_many(name = \"{name}\", to = {target}, table = \"{}\", related_name = \"{reverse}\"))]",
                table.name
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
                field_name(&a),
                field_name(&b)
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
        let _ = writeln!(code, "/// Table `{}`.", table.name);
        let _ = writeln!(code, "#[derive(Debug, Clone, Model)]");
        let mut attrs = vec![format!("table = \"{}\"", table.name)];
        let pk = table.primary_key();
        let is_junction = junction(table).is_some();
        for unique in &table.uniques {
            if unique.len() > 1 {
                let fields: Vec<String> = unique
                    .iter()
                    .map(|c| format!("\"{}\"", field_name_in(table, c)))
                    .collect();
                attrs.push(format!(
                    "unique(name = \"{}_{}_uniq\", fields({}))",
                    table.name,
                    unique.join("_"),
                    fields.join(", ")
                ));
            }
        }
        if pk.len() > 1 && is_junction {
            let fields: Vec<String> = pk
                .iter()
                .map(|c| format!("\"{}\"", field_name_in(table, c)))
                .collect();
            attrs.push(format!(
                "unique(name = \"{}_pkey\", fields({}))",
                table.name,
                fields.join(", ")
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
            let name = match fk {
                Some(_) => field_name(&column.name),
                None => ident(&column.name),
            };
            let default_column = if fk.is_some() {
                format!("{name}_id")
            } else {
                name.clone()
            };
            if default_column != column.name {
                field_attrs.push(format!("column = \"{}\"", column.name));
            }
            let is_pk = column.primary_key && !pk_chosen;
            let auto_pk = is_pk && column.auto && pk.len() == 1;
            if column.primary_key && pk.len() > 1 && is_pk {
                let _ = writeln!(
                    code,
                    "    // The composite primary key ({}) is represented by its first column.",
                    pk.join(", ")
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
                if let Some(note) = note {
                    let _ = writeln!(
                        code,
                        "    // `{}` is {note} (declared `{}`).",
                        column.name, column.sql_type
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

fn field_name_in(table: &TableInfo, column: &str) -> String {
    if table.foreign_key(column).is_some() {
        field_name(column)
    } else {
        ident(column)
    }
}
