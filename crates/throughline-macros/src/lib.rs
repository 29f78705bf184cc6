//! The macros of throughline: `#[derive(Model)]`, `#[derive(Choices)]` and
//! `embed_migrations!` (the migration files compiled into the application's binary).
//!
//! `Model` reads the struct and its `#[throughline(...)]` attributes, reports mistakes at
//! compile time with a spanned error, and generates the `Model` implementation, one
//! `ModelMeta` (built once), typed field constants (`Student::NAME`), relation constants
//! (`Enrollment::STUDENT`, and on the target `Student::ENROLLMENTS` with a
//! `student.enrollments()` accessor).
//!
//! This is an internal crate: use the macros through the `throughline` facade.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::{
    Data, DeriveInput, Expr, Fields, GenericArgument, Ident, LitStr, PathArguments, Type,
    parse_macro_input, spanned::Spanned,
};

/// Derives `throughline::Model` for a struct with named fields.
///
/// Struct attributes: `table = "..."`, `ordering("-field", ...)`,
/// `unique(name = "...", fields("a", "b"))`, `index(name = "...", fields("a"))`,
/// `verbose_name = "..."`, `verbose_name_plural = "..."`.
///
/// Field attributes: `primary_key`, `column = "..."`, `max_length = N`, `unique`, `index`,
/// `default = <expr>`, `default_fn = path`, `auto_now_add`, `auto_now`,
/// `related_name = "..."`, `on_delete = "cascade" | "protect" | "restrict" | "set_null" |
/// "do_nothing"`, `verbose_name = "..."`, `help_text = "..."`, `blank`, `editable = false`.
#[proc_macro_derive(Model, attributes(throughline))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match model::expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Derives `throughline::Choices` (and `FieldValue`) for an enum of unit variants stored as
/// text. Variant attributes: `value = "..."` (default: the variant name in snake case),
/// `label = "..."` (default: the variant name). The default variant is marked `#[default]`
/// (with `#[derive(Default)]`) or `#[throughline(default)]`.
#[proc_macro_derive(Choices, attributes(throughline))]
pub fn derive_choices(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match choices::expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Embeds an application's migration files in its binary: `embed_migrations!("migrations")`
/// lists the folder (relative to the crate's `CARGO_MANIFEST_DIR`) when the crate is
/// compiled and expands to a `throughline::migrations::files::EmbeddedMigrations` holding
/// every `*.json` file's name and contents (through `include_str!`, so an edited file
/// rebuilds the crate). A missing folder is a compile error (a misspelled path would
/// otherwise embed nothing, and `migrate` would find nothing to apply): create it, empty
/// with a `.gitkeep`, before the first `makemigrations`. Cargo does not see a *new* file by
/// itself: add a
/// `build.rs` with `println!("cargo:rerun-if-changed=migrations");`.
///
/// ```ignore
/// static MIGRATIONS: throughline::migrations::files::EmbeddedMigrations =
///     throughline::embed_migrations!("migrations");
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let literal = parse_macro_input!(input as LitStr);
    match embed::expand(&literal) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

mod embed {
    use super::*;

    pub(super) fn expand(literal: &LitStr) -> syn::Result<Tokens> {
        let relative = literal.value();
        let base = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| {
            syn::Error::new(
                literal.span(),
                "CARGO_MANIFEST_DIR is not set: compile with cargo",
            )
        })?;
        let dir = std::path::Path::new(&base).join(&relative);
        let dir_text = dir.to_str().ok_or_else(|| {
            syn::Error::new(literal.span(), "the migrations folder's path is not UTF-8")
        })?;
        if !dir.is_dir() {
            // A misspelled folder would embed nothing, and `migrate` would then find
            // "nothing to apply": refuse at compile time instead.
            return Err(syn::Error::new(
                literal.span(),
                format!(
                    "the migrations folder {dir_text} does not exist (relative to the crate's Cargo.toml); create it (an empty folder with a .gitkeep is fine) or fix the path"
                ),
            ));
        }
        let mut files: Vec<(String, String)> = Vec::new();
        {
            let entries = std::fs::read_dir(&dir).map_err(|e| {
                syn::Error::new(literal.span(), format!("cannot read {dir_text}: {e}"))
            })?;
            for entry in entries {
                let path = entry
                    .map_err(|e| {
                        syn::Error::new(literal.span(), format!("cannot read {dir_text}: {e}"))
                    })?
                    .path();
                if path.extension().is_none_or(|x| x != "json") {
                    continue;
                }
                let (Some(name), Some(full)) =
                    (path.file_name().and_then(|n| n.to_str()), path.to_str())
                else {
                    return Err(syn::Error::new(
                        literal.span(),
                        format!("a migration file name in {dir_text} is not UTF-8"),
                    ));
                };
                files.push((name.to_owned(), full.to_owned()));
            }
        }
        files.sort();
        let entries = files
            .iter()
            .map(|(name, full)| quote!((#name, ::core::include_str!(#full))));
        Ok(quote! {
            ::throughline::migrations::files::EmbeddedMigrations {
                dir: #dir_text,
                files: &[#(#entries),*],
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod embed_tests {
    #[test]
    fn a_missing_folder_is_a_compile_error() {
        let literal = syn::LitStr::new("no_such_migrations", proc_macro2::Span::call_site());
        let error = super::embed::expand(&literal).unwrap_err().to_string();
        assert!(error.contains("does not exist"), "{error}");
        let present = syn::LitStr::new("src", proc_macro2::Span::call_site());
        assert!(super::embed::expand(&present).is_ok());
    }
}

/// `CourseTag` → `course_tag` (the same rule as throughline-core's).
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            if i > 0 && chars[i - 1].is_lowercase() {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// The `T` of `Wrapper<T>` when the type's last segment is `wrapper`.
fn generic_arg<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    if segment.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

mod model {
    use super::*;

    #[derive(Default)]
    struct ModelAttrs {
        table: Option<String>,
        ordering: Vec<String>,
        uniques: Vec<(String, Vec<String>, Span)>,
        indexes: Vec<(String, Vec<String>, Span)>,
        verbose_name: Option<String>,
        verbose_name_plural: Option<String>,
        many_to_many: Vec<ManyToMany>,
        /// Errors in `many_to_many` declarations: reported while the rest of the model is
        /// still generated, so that one mistake gives one error, not a cascade.
        errors: Vec<syn::Error>,
    }

    /// `#[throughline(many_to_many(name = "...", to = Model, through = Model, ...))]`.
    struct ManyToMany {
        name: String,
        to: Type,
        through: Option<Type>,
        through_fields: Option<(String, String)>,
        related_name: Option<String>,
        symmetrical: Option<bool>,
        table: Option<String>,
        span: Span,
    }

    fn many_to_many(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<ManyToMany> {
        let span = meta.path.span();
        let mut name = None;
        let mut to = None;
        let mut m2m = ManyToMany {
            name: String::new(),
            to: syn::parse_quote!(()),
            through: None,
            through_fields: None,
            related_name: None,
            symmetrical: None,
            table: None,
            span,
        };
        meta.parse_nested_meta(|inner| {
            let p = &inner.path;
            if p.is_ident("name") {
                name = Some(inner.value()?.parse::<LitStr>()?.value());
            } else if p.is_ident("to") {
                to = Some(inner.value()?.parse::<Type>()?);
            } else if p.is_ident("through") {
                m2m.through = Some(inner.value()?.parse::<Type>()?);
            } else if p.is_ident("through_fields") {
                let list = list_of_strings(&inner)?;
                match list.as_slice() {
                    [a, b] if !a.is_empty() && !b.is_empty() && a != b => {
                        m2m.through_fields = Some((a.clone(), b.clone()));
                    }
                    _ => return Err(inner.error("through_fields takes two different field names: through_fields(\"source_key\", \"target_key\")")),
                }
            } else if p.is_ident("related_name") {
                m2m.related_name = Some(inner.value()?.parse::<LitStr>()?.value());
            } else if p.is_ident("symmetrical") {
                m2m.symmetrical = Some(inner.value()?.parse::<syn::LitBool>()?.value);
            } else if p.is_ident("table") {
                m2m.table = Some(inner.value()?.parse::<LitStr>()?.value());
            } else {
                return Err(inner.error("expected name, to, through, through_fields, related_name, symmetrical or table"));
            }
            Ok(())
        })?;
        m2m.name = name.ok_or_else(|| meta.error("a many_to_many needs name = \"accessor\""))?;
        m2m.to = to.ok_or_else(|| meta.error("a many_to_many needs to = TargetModel"))?;
        if m2m.through.is_some() && m2m.table.is_some() {
            return Err(meta.error("cannot give a table name together with a through model: the table is the through model's (as Django)"));
        }
        if m2m.through.is_none() && m2m.through_fields.is_some() {
            return Err(meta.error("through_fields needs a through model"));
        }
        Ok(m2m)
    }

    struct FieldInfo {
        ident: Ident,
        ty: Type,
        primary_key: bool,
        column: Option<String>,
        max_length: Option<u32>,
        unique: bool,
        index: bool,
        default: Option<Expr>,
        default_fn: Option<syn::Path>,
        auto_now_add: bool,
        auto_now: bool,
        related_name: Option<String>,
        on_delete: Option<String>,
        verbose_name: Option<String>,
        help_text: Option<String>,
        blank: bool,
        editable: bool,
        /// The referred model, for `ForeignKey<T>` / `Option<ForeignKey<T>>`.
        target: Option<Type>,
        nullable_fk: bool,
    }

    fn list_of_strings(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Vec<String>> {
        let content;
        syn::parenthesized!(content in meta.input);
        let items = content.parse_terminated(|p| p.parse::<LitStr>(), syn::Token![,])?;
        Ok(items.into_iter().map(|l| l.value()).collect())
    }

    fn named_list(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<(String, Vec<String>)> {
        let mut name = None;
        let mut fields = Vec::new();
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("name") {
                name = Some(inner.value()?.parse::<LitStr>()?.value());
            } else if inner.path.is_ident("fields") {
                fields = list_of_strings(&inner)?;
            } else {
                return Err(inner.error("expected `name = \"...\"` or `fields(\"a\", ...)`"));
            }
            Ok(())
        })?;
        let name = name.ok_or_else(|| meta.error("a name is required: name = \"...\""))?;
        if fields.is_empty() {
            return Err(meta.error("at least one field is required: fields(\"a\", ...)"));
        }
        Ok((name, fields))
    }

    fn model_attrs(input: &DeriveInput) -> syn::Result<ModelAttrs> {
        let mut attrs = ModelAttrs::default();
        for attr in input
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("throughline"))
        {
            attr.parse_nested_meta(|meta| {
                let span = meta.path.span();
                if meta.path.is_ident("table") {
                    attrs.table = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if meta.path.is_ident("ordering") {
                    attrs.ordering = list_of_strings(&meta)?;
                } else if meta.path.is_ident("unique") {
                    let (name, fields) = named_list(&meta)?;
                    attrs.uniques.push((name, fields, span));
                } else if meta.path.is_ident("index") {
                    let (name, fields) = named_list(&meta)?;
                    attrs.indexes.push((name, fields, span));
                } else if meta.path.is_ident("verbose_name") {
                    attrs.verbose_name = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if meta.path.is_ident("verbose_name_plural") {
                    attrs.verbose_name_plural = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if meta.path.is_ident("many_to_many") {
                    match many_to_many(&meta) {
                        Ok(relation) => attrs.many_to_many.push(relation),
                        Err(error) => attrs.errors.push(error),
                    }
                } else {
                    return Err(meta.error(
                        "unknown model attribute; expected table, ordering, unique, index, many_to_many, verbose_name or verbose_name_plural",
                    ));
                }
                Ok(())
            })?;
        }
        Ok(attrs)
    }

    fn field_info(field: &syn::Field) -> syn::Result<FieldInfo> {
        let ident = field
            .ident
            .clone()
            .ok_or_else(|| syn::Error::new(field.span(), "fields must be named"))?;
        let (target, nullable_fk) = match generic_arg(&field.ty, "ForeignKey") {
            Some(t) => (Some(t.clone()), false),
            None => match generic_arg(&field.ty, "Option")
                .and_then(|inner| generic_arg(inner, "ForeignKey"))
            {
                Some(t) => (Some(t.clone()), true),
                None => (None, false),
            },
        };
        let mut info = FieldInfo {
            ident,
            ty: field.ty.clone(),
            primary_key: false,
            column: None,
            max_length: None,
            unique: false,
            index: false,
            default: None,
            default_fn: None,
            auto_now_add: false,
            auto_now: false,
            related_name: None,
            on_delete: None,
            verbose_name: None,
            help_text: None,
            blank: false,
            editable: true,
            target,
            nullable_fk,
        };
        for attr in field
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("throughline"))
        {
            attr.parse_nested_meta(|meta| {
                let p = &meta.path;
                if p.is_ident("primary_key") {
                    info.primary_key = true;
                } else if p.is_ident("column") {
                    info.column = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if p.is_ident("max_length") {
                    info.max_length = Some(meta.value()?.parse::<syn::LitInt>()?.base10_parse()?);
                } else if p.is_ident("unique") {
                    info.unique = true;
                } else if p.is_ident("index") {
                    info.index = true;
                } else if p.is_ident("default") {
                    info.default = Some(meta.value()?.parse::<Expr>()?);
                } else if p.is_ident("default_fn") {
                    info.default_fn = Some(meta.value()?.parse::<syn::Path>()?);
                } else if p.is_ident("auto_now_add") {
                    info.auto_now_add = true;
                } else if p.is_ident("auto_now") {
                    info.auto_now = true;
                } else if p.is_ident("related_name") {
                    info.related_name = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if p.is_ident("on_delete") {
                    let value = meta.value()?.parse::<LitStr>()?;
                    let known = ["cascade", "protect", "restrict", "set_null", "do_nothing"];
                    if !known.contains(&value.value().as_str()) {
                        return Err(syn::Error::new(
                            value.span(),
                            "on_delete must be one of \"cascade\", \"protect\", \"restrict\", \"set_null\", \"do_nothing\"",
                        ));
                    }
                    info.on_delete = Some(value.value());
                } else if p.is_ident("verbose_name") {
                    info.verbose_name = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if p.is_ident("help_text") {
                    info.help_text = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if p.is_ident("blank") {
                    info.blank = true;
                } else if p.is_ident("editable") {
                    info.editable = meta.value()?.parse::<syn::LitBool>()?.value;
                } else {
                    return Err(meta.error(
                        "unknown field attribute; expected primary_key, column, max_length, unique, index, default, default_fn, auto_now_add, auto_now, related_name, on_delete, verbose_name, help_text, blank or editable",
                    ));
                }
                Ok(())
            })?;
        }
        let defaults = [
            info.default.is_some(),
            info.default_fn.is_some(),
            info.auto_now_add,
            info.auto_now,
        ];
        if defaults.iter().filter(|d| **d).count() > 1 {
            return Err(syn::Error::new(
                field.span(),
                "give at most one of default, default_fn, auto_now_add and auto_now",
            ));
        }
        if (info.related_name.is_some() || info.on_delete.is_some()) && info.target.is_none() {
            return Err(syn::Error::new(
                field.span(),
                "related_name and on_delete apply to ForeignKey<T> fields only",
            ));
        }
        if info.on_delete.as_deref() == Some("set_null") && !info.nullable_fk {
            return Err(syn::Error::new(
                field.ty.span(),
                "on_delete = \"set_null\" needs an optional key: Option<ForeignKey<T>>",
            ));
        }
        Ok(info)
    }

    /// Whether the type is `Option<i64>` (an auto-increment key when it is the key).
    fn is_option_i64(ty: &Type) -> bool {
        generic_arg(ty, "Option").is_some_and(|inner| quote!(#inner).to_string() == "i64")
    }

    pub(super) fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
        let name = &input.ident;
        if !input.generics.params.is_empty() {
            return Err(syn::Error::new(
                input.generics.span(),
                "a model cannot have generic parameters",
            ));
        }
        let Data::Struct(data) = &input.data else {
            return Err(syn::Error::new(
                name.span(),
                "#[derive(Model)] needs a struct with named fields",
            ));
        };
        let Fields::Named(named) = &data.fields else {
            return Err(syn::Error::new(
                data.fields.span(),
                "#[derive(Model)] needs a struct with named fields",
            ));
        };
        let attrs = model_attrs(input)?;
        let mut fields = named
            .named
            .iter()
            .map(field_info)
            .collect::<syn::Result<Vec<_>>>()?;
        if !fields.iter().any(|f| f.primary_key) {
            match fields.iter_mut().find(|f| f.ident == "id") {
                Some(id) => id.primary_key = true,
                None => {
                    return Err(syn::Error::new(
                        name.span(),
                        "a model needs a primary key: add `id: Option<i64>` (auto-increment) or mark a field #[throughline(primary_key)]",
                    ));
                }
            }
        }
        let pks: Vec<&FieldInfo> = fields.iter().filter(|f| f.primary_key).collect();
        if pks.len() > 1 {
            return Err(syn::Error::new(
                pks[1].ident.span(),
                "a model has exactly one primary key",
            ));
        }
        let pk = pks[0];
        let pk_index = fields.iter().position(|f| f.primary_key).unwrap_or(0);
        let auto_pk = is_option_i64(&pk.ty);
        let field_names: Vec<String> = fields.iter().map(|f| f.ident.to_string()).collect();
        for (_, list, span) in attrs.uniques.iter().chain(attrs.indexes.iter()) {
            for item in list {
                if !field_names.contains(item) {
                    return Err(syn::Error::new(*span, format!("unknown field `{item}`")));
                }
            }
        }
        for item in &attrs.ordering {
            if !field_names
                .iter()
                .any(|f| f == item.trim_start_matches('-'))
            {
                return Err(syn::Error::new(
                    name.span(),
                    format!("ordering names unknown field `{item}`"),
                ));
            }
        }

        let model_name = name.to_string();
        let mut accessors: Vec<(String, String)> = Vec::new();
        for f in &fields {
            if let Some(target) = &f.target {
                let target = quote!(#target).to_string();
                let accessor = f
                    .related_name
                    .clone()
                    .unwrap_or_else(|| format!("{}_set", snake_case(&model_name)));
                if accessor != "+" && accessors.contains(&(target.clone(), accessor.clone())) {
                    return Err(syn::Error::new(
                        f.ident.span(),
                        format!(
                            "reverse accessor `{accessor}` on {target} is already defined by another foreign key of this model; set a distinct related_name"
                        ),
                    ));
                }
                accessors.push((target, accessor));
            }
        }
        let table = attrs
            .table
            .clone()
            .unwrap_or_else(|| snake_case(&model_name));
        let pk_ty = &pk.ty;
        let pk_ident = &pk.ident;
        let pk_type = if auto_pk {
            quote!(::throughline::FieldType::AutoI64)
        } else {
            quote!(<#pk_ty as ::throughline::FieldValue>::TYPE)
        };

        let mut field_metas = Vec::new();
        let mut decoders = Vec::new();
        let mut values = Vec::new();
        let mut consts = Vec::new();
        let mut before_save = Vec::new();
        let mut related_arms = Vec::new();
        let mut key_arms = Vec::new();
        let mut batch_arms = Vec::new();
        let mut reverse_impls = Vec::new();
        for (index, f) in fields.iter().enumerate() {
            let ident = &f.ident;
            let ty = &f.ty;
            let fname = ident.to_string();
            let column = f.column.clone().unwrap_or_else(|| {
                if f.target.is_some() {
                    format!("{fname}_id")
                } else {
                    fname.clone()
                }
            });
            let mut sets = Vec::new();
            if f.primary_key {
                sets.push(quote!(f.primary_key = true;));
                if auto_pk {
                    sets.push(quote!(f.ty = ::throughline::FieldType::AutoI64; f.nullable = false; f.default = ::throughline::DefaultValue::None;));
                }
            }
            if let Some(n) = f.max_length {
                sets.push(
                    quote!(f.ty = ::throughline::FieldType::String { max_length: Some(#n) };),
                );
            }
            if f.unique {
                sets.push(quote!(f.unique = true;));
            }
            if f.index {
                sets.push(quote!(f.index = true;));
            }
            if let Some(expr) = &f.default {
                sets.push(quote!(f.default = ::throughline::DefaultValue::Const(::throughline::FieldValue::to_value(&<#ty>::from(#expr)));));
            }
            if let Some(path) = &f.default_fn {
                sets.push(quote!({
                    fn __default() -> ::throughline::Value { ::throughline::FieldValue::to_value(&<#ty>::from(#path())) }
                    f.default = ::throughline::DefaultValue::Func(__default);
                }));
            }
            if f.auto_now_add {
                sets.push(quote!(f.default = ::throughline::DefaultValue::AutoNowAdd;));
                before_save.push(quote!(if adding { self.#ident = <#ty as ::throughline::__private::Now>::now(); }));
            }
            if f.auto_now {
                sets.push(quote!(f.default = ::throughline::DefaultValue::AutoNow;));
                before_save
                    .push(quote!(self.#ident = <#ty as ::throughline::__private::Now>::now();));
            }
            if let Some(v) = &f.verbose_name {
                sets.push(quote!(f.verbose_name = #v.to_owned();));
            }
            if let Some(v) = &f.help_text {
                sets.push(quote!(f.help_text = #v.to_owned();));
            }
            if f.blank {
                sets.push(quote!(f.blank = true;));
            }
            if !f.editable {
                sets.push(quote!(f.editable = false;));
            }
            if f.target.is_some() {
                let on_delete = match f.on_delete.as_deref() {
                    Some("protect") => quote!(::throughline::OnDelete::Protect),
                    Some("restrict") => quote!(::throughline::OnDelete::Restrict),
                    Some("set_null") => quote!(::throughline::OnDelete::SetNull),
                    Some("do_nothing") => quote!(::throughline::OnDelete::DoNothing),
                    _ => quote!(::throughline::OnDelete::Cascade),
                };
                let related = match &f.related_name {
                    Some(r) => quote!(Some(#r.to_owned())),
                    None => quote!(None),
                };
                sets.push(quote!(if let Some(fk) = f.foreign_key.as_mut() { fk.on_delete = #on_delete; fk.related_name = #related; }));
            }
            field_metas.push(quote!({
                let mut f = ::throughline::FieldMeta::new(#fname, <#ty as ::throughline::FieldValue>::TYPE);
                f.column = #column.to_owned();
                f.nullable = <#ty as ::throughline::FieldValue>::NULLABLE;
                f.default = <#ty as ::throughline::FieldValue>::implicit_default();
                f.choices = <#ty as ::throughline::FieldValue>::choices();
                f.foreign_key = <#ty as ::throughline::FieldValue>::foreign_key();
                #(#sets)*
                f
            }));
            decoders.push(
                quote!(#ident: <#ty as ::throughline::FieldValue>::decode(row, start + #index)?),
            );
            values.push(quote!(::throughline::FieldValue::to_value(&self.#ident)));
            let const_name = format_ident!("{}", fname.to_uppercase());
            if let Some(target) = &f.target {
                let id_const = format_ident!("{}_ID", fname.to_uppercase());
                let nullable = f.nullable_fk;
                consts.push(quote!(
                    #[doc = concat!("The key of foreign key `", #fname, "`, for filters.")]
                    pub const #id_const: ::throughline::Field<#name, #ty> = ::throughline::Field::new(#fname);
                    #[doc = concat!("The relation across foreign key `", #fname, "`.")]
                    pub const #const_name: ::throughline::Rel<#name, #target> = ::throughline::Rel::new({
                        fn hop() -> ::throughline::__private::Hop {
                            let to = <#target as ::throughline::Model>::meta();
                            ::throughline::__private::Hop {
                                from: <#name as ::throughline::Model>::meta(),
                                to,
                                from_column: #column.to_owned(),
                                to_column: to.pk().column.clone(),
                                many: false,
                                optional: #nullable,
                            }
                        }
                        hop
                    });
                ));
                related_arms.push(quote!(#fname => ::throughline::RelatedSlot::load(&mut self.#ident, row, start, batch),));
                batch_arms.push(quote!(#fname => Ok(::std::boxed::Box::new(::throughline::__private::RelatedRows::<<#ty as ::throughline::RelatedSlot>::Target>::default())),));
                key_arms.push(quote!(#index => ::throughline::RelatedSlot::key(&self.#ident),));
                let accessor = f
                    .related_name
                    .clone()
                    .unwrap_or_else(|| format!("{}_set", snake_case(&model_name)));
                if accessor != "+" {
                    let accessor_ident = format_ident!("{}", accessor);
                    let accessor_const = format_ident!("{}", accessor.to_uppercase());
                    reverse_impls.push(quote!(
                    impl #target {
                        #[doc = concat!("The ", #model_name, " rows whose `", #fname, "` refers to a row of this model.")]
                        pub const #accessor_const: ::throughline::Rel<#target, #name> = ::throughline::Rel::new({
                            fn hop() -> ::throughline::__private::Hop {
                                let from = <#target as ::throughline::Model>::meta();
                                ::throughline::__private::Hop {
                                    from,
                                    to: <#name as ::throughline::Model>::meta(),
                                    from_column: from.pk().column.clone(),
                                    to_column: #column.to_owned(),
                                    many: true,
                                    optional: true,
                                }
                            }
                            hop
                        });

                        #[doc = concat!("The ", #model_name, " rows referring to this row (an error if it is unsaved).")]
                        pub fn #accessor_ident(&self) -> ::throughline::Result<::throughline::QuerySet<#name>> {
                            Self::#accessor_const.of(self)
                        }
                    }
                ));
                }
            } else {
                consts.push(quote!(
                    #[doc = concat!("Field `", #fname, "`, for filters and ordering.")]
                    pub const #const_name: ::throughline::Field<#name, #ty> = ::throughline::Field::new(#fname);
                ));
            }
        }
        let uniques = attrs.uniques.iter().map(|(n, list, _)| {
            quote!(::throughline::__private::throughline_core::UniqueConstraint { name: #n.to_owned(), fields: vec![#(#list.to_owned()),*] })
        });
        let indexes = attrs.indexes.iter().map(|(n, list, _)| {
            quote!(::throughline::__private::throughline_core::IndexMeta { name: #n.to_owned(), fields: vec![#(#list.to_owned()),*] })
        });
        let (m2m_metas, m2m_items) = many_to_many_items(name, &model_name, &attrs.many_to_many)?;
        let companions: Vec<Tokens> = attrs
            .many_to_many
            .iter()
            .filter(|m| m.through.is_none())
            .map(|m| {
                let ident = format_ident!("{}{}", name, camel(&m.name));
                quote!(<#ident as ::throughline::Model>::meta as fn() -> &'static ::throughline::ModelMeta)
            })
            .collect();
        let through_items = through_items(name, &model_name, &fields);
        let field_names_str: Vec<String> = fields.iter().map(|f| f.ident.to_string()).collect();
        let field_idents: Vec<&Ident> = fields.iter().map(|f| &f.ident).collect();
        let attr_errors: Vec<Tokens> = attrs
            .errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect();
        let ordering = &attrs.ordering;
        let verbose = attrs
            .verbose_name
            .as_ref()
            .map(|v| quote!(meta.verbose_name = #v.to_owned();));
        let verbose_plural = attrs
            .verbose_name_plural
            .as_ref()
            .map(|v| quote!(meta.verbose_name_plural = #v.to_owned();));

        Ok(quote! {
            impl ::throughline::Model for #name {
                const MODEL_NAME: &'static str = #model_name;
                const PK_TYPE: ::throughline::FieldType = #pk_type;
                const PK_INDEX: usize = #pk_index;

                fn meta() -> &'static ::throughline::ModelMeta {
                    static META: ::std::sync::LazyLock<::throughline::ModelMeta> = ::std::sync::LazyLock::new(|| {
                        let mut meta = ::throughline::ModelMeta::new(#model_name, #table, vec![#(#field_metas),*]);
                        meta.unique_constraints = vec![#(#uniques),*];
                        meta.indexes = vec![#(#indexes),*];
                        meta.ordering = vec![#(#ordering.to_owned()),*];
                        #verbose
                        #verbose_plural
                        meta.many_to_many = vec![#(#m2m_metas),*];
                        meta.companions = ::throughline::__private::throughline_core::schema::Companions(vec![#(#companions),*]);
                        meta
                    });
                    &META
                }

                fn from_row(row: &::throughline::__private::Row<'_>, start: usize) -> ::throughline::Result<Self> {
                    Ok(Self { #(#decoders),* })
                }

                fn to_values(&self) -> Vec<::throughline::Value> {
                    vec![#(#values),*]
                }

                fn field_value(&self, name: &str) -> Option<::throughline::Value> {
                    match name {
                        #(#field_names_str => Some(::throughline::FieldValue::to_value(&self.#field_idents)),)*
                        _ => None,
                    }
                }

                fn pk_value(&self) -> ::throughline::Value {
                    ::throughline::FieldValue::to_value(&self.#pk_ident)
                }

                fn set_pk_value(&mut self, key: ::throughline::Value) -> ::throughline::Result<()> {
                    self.#pk_ident = <#pk_ty as ::throughline::FieldValue>::from_value(key)?;
                    Ok(())
                }

                #[allow(unused_variables)]
                fn before_save(&mut self, adding: bool) {
                    #(#before_save)*
                }

                fn related_key(&self, field: usize) -> Option<&::throughline::Value> {
                    match field {
                        #(#key_arms)*
                        _ => None,
                    }
                }

                fn related_rows(field: &str) -> ::throughline::Result<::std::boxed::Box<dyn ::throughline::__private::RelatedBatch>> {
                    match field {
                        #(#batch_arms)*
                        other => Err(::throughline::Error::invalid_query(#model_name, format!("`{other}` is not a foreign key"))),
                    }
                }

                #[allow(unused_variables)]
                fn load_related(&mut self, field: &str, row: &::throughline::__private::Row<'_>, start: usize, batch: &mut dyn ::throughline::__private::RelatedBatch) -> ::throughline::Result<()> {
                    match field {
                        #(#related_arms)*
                        other => Err(::throughline::Error::invalid_query(#model_name, format!("`{other}` is not a foreign key"))),
                    }
                }
            }

            impl #name {
                #(#consts)*
            }

            #(#reverse_impls)*

            #(#m2m_items)*

            #through_items

            #(#attr_errors)*
        })
    }

    /// FNV-1a, the same hash as `throughline::through::field_key`.
    fn field_key(name: &str) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash
    }

    fn key_type(field: &str) -> Tokens {
        let hash = field_key(field);
        quote!(::throughline::__private::FieldKey<#hash>)
    }

    fn camel(name: &str) -> String {
        name.split('_')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let mut c = p.chars();
                match c.next() {
                    Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                    None => String::new(),
                }
            })
            .collect()
    }

    fn is_self(ty: &Type, name: &Ident) -> bool {
        let text = quote!(#ty).to_string();
        text == "Self" || *name == text
    }

    /// The items of each `many_to_many` declared on the model: its metadata, the generated
    /// through model of an implicit relation, the relation constants and accessors on both
    /// sides, the values alias, and the compile-time check of the through model's keys.
    fn many_to_many_items(
        name: &Ident,
        model_name: &str,
        relations: &[ManyToMany],
    ) -> syn::Result<(Vec<Tokens>, Vec<Tokens>)> {
        let mut metas = Vec::new();
        let mut items = Vec::new();
        for m2m in relations {
            let self_ref = is_self(&m2m.to, name);
            let target: Type = if self_ref {
                syn::parse_quote!(#name)
            } else {
                m2m.to.clone()
            };
            let target_name = quote!(#target).to_string().replace(' ', "");
            let target_simple = target_name
                .rsplit("::")
                .next()
                .unwrap_or(&target_name)
                .to_owned();
            let symmetrical = m2m.symmetrical.unwrap_or(self_ref);
            if symmetrical && !self_ref {
                return Err(syn::Error::new(
                    m2m.span,
                    "only a relation to the model itself can be symmetrical",
                ));
            }
            if symmetrical && m2m.related_name.is_some() {
                return Err(syn::Error::new(
                    m2m.span,
                    "a symmetrical relation has no reverse accessor, so no related_name",
                ));
            }
            let rel_name = &m2m.name;
            let rel_camel = camel(rel_name);
            let auto_created = m2m.through.is_none();
            let through_fields_given = m2m.through_fields.is_some();
            let (source_field, target_field) = match (&m2m.through_fields, self_ref) {
                (Some((a, b)), _) => (a.clone(), b.clone()),
                (None, true) => (
                    format!("from_{}", snake_case(model_name)),
                    format!("to_{}", snake_case(model_name)),
                ),
                (None, false) => (snake_case(model_name), snake_case(&target_simple)),
            };
            let through: Type = match &m2m.through {
                Some(t) => t.clone(),
                None => {
                    let ident = format_ident!("{}{}", name, rel_camel);
                    syn::parse_quote!(#ident)
                }
            };
            if let Some(explicit) = &m2m.through
                && is_self(explicit, name)
            {
                return Err(syn::Error::new(
                    m2m.span,
                    "a model cannot be its own through model",
                ));
            }
            let through_name = quote!(#through).to_string().replace(' ', "");
            let through_simple = through_name
                .rsplit("::")
                .next()
                .unwrap_or(&through_name)
                .to_owned();
            let related = if symmetrical {
                Some("+".to_owned())
            } else {
                m2m.related_name.clone()
            };
            let related_tokens = match &related {
                Some(r) => quote!(Some(#r.to_owned())),
                None => quote!(None),
            };
            metas.push(
                quote!(::throughline::__private::throughline_core::ManyToManyMeta {
                    name: #rel_name.to_owned(),
                    target: #target_simple.to_owned(),
                    through: #through_simple.to_owned(),
                    source_field: #source_field.to_owned(),
                    target_field: #target_field.to_owned(),
                    related_name: #related_tokens,
                    symmetrical: #symmetrical,
                    auto_created: #auto_created,
                    through_fields_given: #through_fields_given,
                }),
            );

            if auto_created {
                let ident = format_ident!("{}{}", name, rel_camel);
                let table = m2m
                    .table
                    .clone()
                    .unwrap_or_else(|| format!("{}_{}", snake_case(model_name), rel_name));
                let src = format_ident!("{}", source_field);
                let tgt = format_ident!("{}", target_field);
                let unique = format!("{table}_{source_field}_{target_field}_uniq");
                let doc = format!(
                    "The junction rows of {model_name}.{rel_name} (generated for an implicit many-to-many)."
                );
                items.push(quote! {
                    #[doc = #doc]
                    #[derive(Debug, Clone, ::throughline::Model)]
                    #[throughline(table = #table, unique(name = #unique, fields(#source_field, #target_field)))]
                    pub struct #ident {
                        /// Auto-increment key.
                        pub id: Option<i64>,
                        /// The source row.
                        #[throughline(related_name = "+")]
                        pub #src: ::throughline::ForeignKey<#name>,
                        /// The target row.
                        #[throughline(related_name = "+")]
                        pub #tgt: ::throughline::ForeignKey<#target>,
                    }
                });
            }

            let forward_pair = {
                let a = key_type(&source_field);
                let b = key_type(&target_field);
                quote!((#a, #b))
            };
            let reverse_pair = {
                let a = key_type(&target_field);
                let b = key_type(&source_field);
                quote!((#a, #b))
            };
            let source_key = key_type(&source_field);
            let target_key = key_type(&target_field);
            let accessor = format_ident!("{}", rel_name);
            let rel_const = format_ident!("{}", rel_name.to_uppercase());
            let relation_const = format_ident!("{}_RELATION", rel_name.to_uppercase());
            let values_alias = format_ident!("{}{}Values", name, rel_camel);
            let label = format!("{model_name}.{rel_name}");
            let doc_values = format!(
                "The values of `add_with` on {label} (the through model's fields other than its key and the two relation keys)."
            );
            let doc_accessor =
                format!("The {target_simple} rows linked to this row through {through_simple}.");
            let doc_rel = format!(
                "The path from {model_name} to {target_simple} through {through_simple}, for filters."
            );
            items.push(quote! {
                #[doc = #doc_values]
                pub type #values_alias = <#through as ::throughline::__private::ThroughValuesFor<#forward_pair>>::Values;

                const _: () = {
                    fn keys_exist<X>()
                    where
                        X: ::throughline::__private::HasForeignKey<#source_key, #name>
                            + ::throughline::__private::HasForeignKey<#target_key, #target>,
                    {
                    }
                    let _ = keys_exist::<#through>;
                };

                impl #name {
                    #[doc = #doc_rel]
                    pub const #rel_const: ::throughline::Rel<#name, #target> = ::throughline::Rel::new2(
                        {
                            fn hop() -> ::throughline::__private::Hop {
                                let from = <#name as ::throughline::Model>::meta();
                                let through = <#through as ::throughline::Model>::meta();
                                ::throughline::__private::Hop {
                                    from,
                                    to: through,
                                    from_column: from.pk().column.clone(),
                                    to_column: through.field(#source_field).map(|f| f.column.clone()).unwrap_or_default(),
                                    many: true,
                                    optional: true,
                                }
                            }
                            hop
                        },
                        {
                            fn hop() -> ::throughline::__private::Hop {
                                let through = <#through as ::throughline::Model>::meta();
                                let to = <#target as ::throughline::Model>::meta();
                                ::throughline::__private::Hop {
                                    from: through,
                                    to,
                                    from_column: through.field(#target_field).map(|f| f.column.clone()).unwrap_or_default(),
                                    to_column: to.pk().column.clone(),
                                    many: false,
                                    optional: true,
                                }
                            }
                            hop
                        },
                    );

                    #[doc = #doc_rel]
                    pub const #relation_const: ::throughline::ManyRelation<#name, #target, #through, #forward_pair> =
                        ::throughline::ManyRelation::new(#label, #label, #source_field, #target_field, #symmetrical, true);

                    #[doc = #doc_accessor]
                    pub fn #accessor(&self) -> ::throughline::ManyRelated<#name, #target, #through, #forward_pair> {
                        Self::#relation_const.of(self)
                    }
                }
            });

            if let Some(reverse) = related
                .clone()
                .or_else(|| Some(format!("{}_set", snake_case(model_name))))
                && reverse != "+"
            {
                let rev_accessor = format_ident!("{}", reverse);
                let rev_const = format_ident!("{}", reverse.to_uppercase());
                let rev_relation = format_ident!("{}_RELATION", reverse.to_uppercase());
                let rev_label = format!("{target_simple}.{reverse}");
                let rev_doc = format!(
                    "The {model_name} rows linked to this row through {through_simple} (reverse of {label})."
                );
                items.push(quote! {
                        impl #target {
                            #[doc = #rev_doc]
                            pub const #rev_const: ::throughline::Rel<#target, #name> = ::throughline::Rel::new2(
                                {
                                    fn hop() -> ::throughline::__private::Hop {
                                        let from = <#target as ::throughline::Model>::meta();
                                        let through = <#through as ::throughline::Model>::meta();
                                        ::throughline::__private::Hop {
                                            from,
                                            to: through,
                                            from_column: from.pk().column.clone(),
                                            to_column: through.field(#target_field).map(|f| f.column.clone()).unwrap_or_default(),
                                            many: true,
                                            optional: true,
                                        }
                                    }
                                    hop
                                },
                                {
                                    fn hop() -> ::throughline::__private::Hop {
                                        let through = <#through as ::throughline::Model>::meta();
                                        let to = <#name as ::throughline::Model>::meta();
                                        ::throughline::__private::Hop {
                                            from: through,
                                            to,
                                            from_column: through.field(#source_field).map(|f| f.column.clone()).unwrap_or_default(),
                                            to_column: to.pk().column.clone(),
                                            many: false,
                                            optional: true,
                                        }
                                    }
                                    hop
                                },
                            );

                            #[doc = #rev_doc]
                            pub const #rev_relation: ::throughline::ManyRelation<#target, #name, #through, #reverse_pair> =
                                ::throughline::ManyRelation::new(#rev_label, #label, #target_field, #source_field, false, false);

                            #[doc = #rev_doc]
                            pub fn #rev_accessor(&self) -> ::throughline::ManyRelated<#target, #name, #through, #reverse_pair> {
                                Self::#rev_relation.of(self)
                            }
                        }
                    });
            }
        }
        Ok((metas, items))
    }

    /// For a model with two or more foreign keys (a possible through model): which keys it
    /// has, and for each pair of them whether `add()` can fill the other fields, and the
    /// values struct of `add_with`.
    fn through_items(name: &Ident, model_name: &str, fields: &[FieldInfo]) -> Tokens {
        let fks: Vec<&FieldInfo> = fields.iter().filter(|f| f.target.is_some()).collect();
        let mut out = Vec::new();
        for fk in &fks {
            let key = key_type(&fk.ident.to_string());
            let target = fk.target.as_ref();
            out.push(
                quote!(impl ::throughline::__private::HasForeignKey<#key, #target> for #name {}),
            );
        }
        if fks.len() < 2 {
            return quote!(#(#out)*);
        }
        for f in fields.iter().filter(|f| !f.primary_key) {
            let marker = format_ident!("{}__{}", name, f.ident);
            out.push(quote!(
                #[doc(hidden)]
                #[allow(non_camel_case_types)]
                pub struct #marker;
            ));
        }
        for (i, a) in fks.iter().enumerate() {
            for b in fks.iter().skip(i + 1) {
                let (a_name, b_name) = (a.ident.to_string(), b.ident.to_string());
                let extras: Vec<&FieldInfo> = fields
                    .iter()
                    .filter(|f| !f.primary_key && f.ident != a.ident && f.ident != b.ident)
                    .collect();
                let attr_default = |f: &FieldInfo| {
                    f.default.is_some() || f.default_fn.is_some() || f.auto_now || f.auto_now_add
                };
                let mut bounds = Vec::new();
                for f in extras.iter().filter(|f| !attr_default(f)) {
                    let marker = format_ident!("{}__{}", name, f.ident);
                    let ty = &f.ty;
                    bounds.push(quote!(for<'__x> ::throughline::__private::ThroughField<#marker, #ty>: ::throughline::__private::FieldHasDefault));
                }
                let values_ident =
                    format_ident!("__{}Values{}{}", name, camel(&a_name), camel(&b_name));
                let slots: Vec<Tokens> = extras
                    .iter()
                    .map(|f| {
                        let ident = &f.ident;
                        let ty = &f.ty;
                        let doc = format!("Field `{ident}`.");
                        if attr_default(f) {
                            quote!(#[doc = #doc] pub #ident: Option<#ty>)
                        } else {
                            quote!(#[doc = #doc] pub #ident: <#ty as ::throughline::__private::ValueSlot>::Slot)
                        }
                    })
                    .collect();
                let passed: Vec<Tokens> = extras
                    .iter()
                    .map(|f| {
                        let ident = &f.ident;
                        let ty = &f.ty;
                        let fname = ident.to_string();
                        if attr_default(f) {
                            quote!(if let Some(v) = &self.#ident { out.push((#fname, ::throughline::FieldValue::to_value(v))); })
                        } else {
                            quote!(if let Some(v) = <#ty as ::throughline::__private::ValueSlot>::passed(&self.#ident) { out.push((#fname, v)); })
                        }
                    })
                    .collect();
                let doc = format!(
                    "The values of `add_with` for relations through {model_name} keyed by `{a_name}` and `{b_name}`; use the alias the relation declares."
                );
                let pair_ab = {
                    let x = key_type(&a_name);
                    let y = key_type(&b_name);
                    quote!((#x, #y))
                };
                let pair_ba = {
                    let x = key_type(&b_name);
                    let y = key_type(&a_name);
                    quote!((#x, #y))
                };
                out.push(quote! {
                    #[doc = #doc]
                    #[doc(hidden)]
                    #[derive(Debug, Clone)]
                    pub struct #values_ident {
                        #(#slots,)*
                    }

                    impl ::throughline::__private::ThroughValues for #values_ident {
                        #[allow(unused_mut)]
                        fn passed(&self) -> Vec<(&'static str, ::throughline::Value)> {
                            let mut out = Vec::new();
                            #(#passed)*
                            out
                        }
                    }

                    impl ::throughline::__private::ThroughValuesFor<#pair_ab> for #name {
                        type Values = #values_ident;
                    }
                    impl ::throughline::__private::ThroughValuesFor<#pair_ba> for #name {
                        type Values = #values_ident;
                    }
                    impl ::throughline::__private::AddWithoutValues<#pair_ab> for #name where #(#bounds,)* {}
                    impl ::throughline::__private::AddWithoutValues<#pair_ba> for #name where #(#bounds,)* {}
                });
            }
        }
        quote!(#(#out)*)
    }
}

mod choices {
    use super::*;

    pub(super) fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
        let name = &input.ident;
        let Data::Enum(data) = &input.data else {
            return Err(syn::Error::new(
                name.span(),
                "#[derive(Choices)] needs an enum of unit variants",
            ));
        };
        let mut variants = Vec::new();
        let mut values = Vec::new();
        let mut labels = Vec::new();
        let mut default = None;
        for variant in &data.variants {
            if !matches!(variant.fields, Fields::Unit) {
                return Err(syn::Error::new(
                    variant.span(),
                    "choices variants cannot carry data",
                ));
            }
            let ident = &variant.ident;
            let mut value = snake_case(&ident.to_string());
            let mut label = ident.to_string();
            let mut is_default = variant.attrs.iter().any(|a| a.path().is_ident("default"));
            for attr in variant
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("throughline"))
            {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("value") {
                        value = meta.value()?.parse::<LitStr>()?.value();
                    } else if meta.path.is_ident("label") {
                        label = meta.value()?.parse::<LitStr>()?.value();
                    } else if meta.path.is_ident("default") {
                        is_default = true;
                    } else {
                        return Err(
                            meta.error("expected value = \"...\", label = \"...\" or default")
                        );
                    }
                    Ok(())
                })?;
            }
            if values.contains(&value) {
                return Err(syn::Error::new(
                    variant.span(),
                    format!("value \"{value}\" is used twice"),
                ));
            }
            if is_default {
                if default.is_some() {
                    return Err(syn::Error::new(
                        variant.span(),
                        "only one variant can be the default",
                    ));
                }
                default = Some(ident.clone());
            }
            variants.push(ident.clone());
            values.push(value);
            labels.push(label);
        }
        if variants.is_empty() {
            return Err(syn::Error::new(
                name.span(),
                "a choices enum needs at least one variant",
            ));
        }
        let max_len = values.iter().map(|v| v.chars().count()).max().unwrap_or(1) as u32;
        let implicit_default = match &default {
            Some(ident) => quote!(::throughline::DefaultValue::Const(::throughline::Value::String(
                ::throughline::Choices::as_str(&#name::#ident).to_owned()
            ))),
            None => quote!(::throughline::DefaultValue::None),
        };
        let model_name = name.to_string();
        let (has_default, slot, passed) = if default.is_some() {
            (
                quote!(impl ::throughline::__private::HasDefault for #name {}),
                quote!(Option<#name>),
                quote!(slot.as_ref().map(::throughline::FieldValue::to_value)),
            )
        } else {
            (
                quote!(),
                quote!(#name),
                quote!(Some(::throughline::FieldValue::to_value(slot))),
            )
        };
        Ok(quote! {
            impl ::throughline::Choices for #name {
                const VARIANTS: &'static [Self] = &[#(#name::#variants),*];
                fn as_str(&self) -> &'static str {
                    match self { #(#name::#variants => #values),* }
                }
                fn label(&self) -> &'static str {
                    match self { #(#name::#variants => #labels),* }
                }
                fn from_str_value(text: &str) -> Option<Self> {
                    match text { #(#values => Some(#name::#variants),)* _ => None }
                }
            }

            #has_default

            impl ::throughline::__private::ValueSlot for #name {
                type Slot = #slot;
                fn passed(slot: &Self::Slot) -> Option<::throughline::Value> {
                    #passed
                }
            }

            impl ::throughline::FieldValue for #name {
                const TYPE: ::throughline::FieldType = ::throughline::FieldType::String { max_length: Some(#max_len) };
                fn to_value(&self) -> ::throughline::Value {
                    ::throughline::Value::String(::throughline::Choices::as_str(self).to_owned())
                }
                fn decode(row: &::throughline::__private::Row<'_>, index: usize) -> ::throughline::Result<Self> {
                    row.with_str(index, |text| {
                        <Self as ::throughline::Choices>::from_str_value(text).ok_or_else(|| ::throughline::Error::Decode {
                            column: #model_name.to_owned(),
                            reason: format!("{text:?} is not a choice of {}", #model_name),
                        })
                    })
                }
                fn from_value(value: ::throughline::Value) -> ::throughline::Result<Self> {
                    let text = value.as_str().unwrap_or_default().to_owned();
                    <Self as ::throughline::Choices>::from_str_value(&text).ok_or_else(|| ::throughline::Error::Decode {
                        column: #model_name.to_owned(),
                        reason: format!("{text:?} is not a choice of {}", #model_name),
                    })
                }
                fn implicit_default() -> ::throughline::DefaultValue {
                    #implicit_default
                }
                fn choices() -> Vec<::throughline::Choice> {
                    vec![#(::throughline::Choice { value: #values.to_owned(), label: #labels.to_owned() }),*]
                }
            }
        })
    }
}
