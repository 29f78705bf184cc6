//! Owns reading `#[throughline(...)]` attributes of a model: the struct's (table, ordering,
//! constraints, indexes, names, many-to-many relations) into [`ModelAttrs`], and each
//! field's into a [`FieldInfo`]. Mistakes in one attribute are reported here, spanned on
//! the attribute; checks that need the whole model are in `model`.

use crate::types::foreign_key_target;
use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{DeriveInput, Expr, Ident, LitStr, Type, spanned::Spanned};

/// The struct attributes of a model.
#[derive(Default)]
pub(crate) struct ModelAttrs {
    pub(crate) table: Option<String>,
    pub(crate) ordering: Vec<String>,
    /// `unique(name = "...", fields(...))`: the name, the fields, the attribute's span.
    pub(crate) uniques: Vec<(String, Vec<String>, Span)>,
    /// `index(name = "...", fields(...))`, as `uniques`.
    pub(crate) indexes: Vec<(String, Vec<String>, Span)>,
    pub(crate) verbose_name: Option<String>,
    pub(crate) verbose_name_plural: Option<String>,
    /// `app = "..."`: the application, instead of the crate's package name.
    pub(crate) app: Option<String>,
    /// `display("field", ...)`: the fields naming an instance.
    pub(crate) display: Vec<String>,
    /// `default_filter = "visible"`: an associated function returning the `Q<Self>` every
    /// default query of the model applies (Django's custom default manager).
    pub(crate) default_filter: Option<syn::Ident>,
    pub(crate) many_to_many: Vec<ManyToMany>,
    /// Errors in `many_to_many` declarations: reported while the rest of the model is
    /// still generated, so that one mistake gives one error, not a cascade.
    pub(crate) errors: Vec<syn::Error>,
}

/// `#[throughline(many_to_many(name = "...", to = Model, through = Model, ...))]`.
pub(crate) struct ManyToMany {
    pub(crate) name: String,
    pub(crate) to: Type,
    pub(crate) through: Option<Type>,
    pub(crate) through_fields: Option<(String, String)>,
    pub(crate) related_name: Option<String>,
    pub(crate) symmetrical: Option<bool>,
    pub(crate) table: Option<String>,
    pub(crate) span: Span,
}

/// One field of a model and its attributes.
pub(crate) struct FieldInfo {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) primary_key: bool,
    pub(crate) column: Option<String>,
    pub(crate) max_length: Option<u32>,
    /// `max_digits` and `decimal_places` of a `Decimal` field.
    pub(crate) max_digits: Option<syn::LitInt>,
    pub(crate) decimal_places: Option<syn::LitInt>,
    pub(crate) unique: bool,
    pub(crate) index: bool,
    pub(crate) default: Option<Expr>,
    pub(crate) default_fn: Option<syn::Path>,
    pub(crate) auto_now_add: bool,
    pub(crate) auto_now: bool,
    pub(crate) related_name: Option<String>,
    pub(crate) on_delete: Option<String>,
    /// The target's field a foreign key refers to (`to_field`), when not its primary key.
    pub(crate) to_field: Option<Ident>,
    pub(crate) verbose_name: Option<String>,
    pub(crate) help_text: Option<String>,
    pub(crate) blank: bool,
    pub(crate) editable: bool,
    /// The referred model, for `ForeignKey<T>` / `Option<ForeignKey<T>>`.
    pub(crate) target: Option<Type>,
    pub(crate) nullable_fk: bool,
}

impl FieldInfo {
    /// The field's name as text.
    pub(crate) fn name(&self) -> String {
        self.ident.to_string()
    }

    /// The column: as given, else the field's name (`<name>_id` for a foreign key).
    pub(crate) fn column(&self) -> String {
        self.column.clone().unwrap_or_else(|| {
            if self.target.is_some() {
                format!("{}_id", self.ident)
            } else {
                self.ident.to_string()
            }
        })
    }

    /// Whether an attribute gives the field a default (`default`, `default_fn`,
    /// `auto_now_add`, `auto_now`), whatever its type.
    pub(crate) fn has_attr_default(&self) -> bool {
        self.default.is_some() || self.default_fn.is_some() || self.auto_now || self.auto_now_add
    }
}

fn list_of_strings(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<String>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let items = content.parse_terminated(|p| p.parse::<LitStr>(), syn::Token![,])?;
    Ok(items.into_iter().map(|l| l.value()).collect())
}

fn named_list(meta: &ParseNestedMeta<'_>) -> syn::Result<(String, Vec<String>)> {
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

fn many_to_many(meta: &ParseNestedMeta<'_>) -> syn::Result<ManyToMany> {
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

/// Reads the struct's `#[throughline(...)]` attributes.
pub(crate) fn model_attrs(input: &DeriveInput) -> syn::Result<ModelAttrs> {
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
            } else if meta.path.is_ident("app") {
                attrs.app = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("display") {
                attrs.display = list_of_strings(&meta)?;
            } else if meta.path.is_ident("default_filter") {
                let name = meta.value()?.parse::<LitStr>()?;
                attrs.default_filter = Some(name.parse::<syn::Ident>()?);
            } else if meta.path.is_ident("many_to_many") {
                match many_to_many(&meta) {
                    Ok(relation) => attrs.many_to_many.push(relation),
                    Err(error) => attrs.errors.push(error),
                }
            } else {
                return Err(meta.error(
                    "unknown model attribute; expected table, ordering, unique, index, many_to_many, verbose_name, verbose_name_plural, app, display or default_filter",
                ));
            }
            Ok(())
        })?;
    }
    Ok(attrs)
}

/// Reads one field and its `#[throughline(...)]` attributes, and checks that they agree
/// with each other and with the field's type.
pub(crate) fn field_info(field: &syn::Field) -> syn::Result<FieldInfo> {
    let ident = field
        .ident
        .clone()
        .ok_or_else(|| syn::Error::new(field.span(), "fields must be named"))?;
    let (target, nullable_fk) = match foreign_key_target(&field.ty) {
        Some((target, nullable)) => (Some(target), nullable),
        None => (None, false),
    };
    let mut info = FieldInfo {
        ident,
        ty: field.ty.clone(),
        primary_key: false,
        column: None,
        max_length: None,
        max_digits: None,
        decimal_places: None,
        unique: false,
        index: false,
        default: None,
        default_fn: None,
        auto_now_add: false,
        auto_now: false,
        related_name: None,
        on_delete: None,
        to_field: None,
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
        attr.parse_nested_meta(|meta| field_attr(&mut info, &meta))?;
    }
    check_field(&info, field)?;
    Ok(info)
}

/// A `Decimal` field needs both `max_digits` (1 to 28) and `decimal_places` (at most
/// `max_digits`), as Django's `DecimalField`; neither applies to another type (the
/// generated decoding requires a decimal type when they are given).
fn check_decimal(info: &FieldInfo, field: &syn::Field) -> syn::Result<()> {
    match (&info.max_digits, &info.decimal_places) {
        (None, None) => {
            if looks_like_decimal(&field.ty) {
                return Err(syn::Error::new(
                    field.ty.span(),
                    "a Decimal field needs #[throughline(max_digits = N, decimal_places = M)] (N from 1 to 28, M at most N)",
                ));
            }
            Ok(())
        }
        (Some(digits), Some(places)) => {
            let max: u8 = digits.base10_parse()?;
            let scale: u8 = places.base10_parse()?;
            if !(1..=28).contains(&max) {
                return Err(syn::Error::new(
                    digits.span(),
                    "max_digits must be 1 to 28 (rust_decimal holds 28 digits)",
                ));
            }
            if scale > max {
                return Err(syn::Error::new(
                    places.span(),
                    "decimal_places cannot exceed max_digits",
                ));
            }
            Ok(())
        }
        _ => Err(syn::Error::new(
            field.span(),
            "give both max_digits and decimal_places",
        )),
    }
}

/// Whether `ty` is written `Decimal` or `Option<Decimal>` (any path ending so).
fn looks_like_decimal(ty: &Type) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if last.ident == "Decimal" {
        return true;
    }
    if last.ident == "Option"
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
    {
        return looks_like_decimal(inner);
    }
    false
}

/// One item of a field's `#[throughline(...)]`.
fn field_attr(info: &mut FieldInfo, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let p = &meta.path;
    if p.is_ident("primary_key") {
        info.primary_key = true;
    } else if p.is_ident("column") {
        info.column = Some(meta.value()?.parse::<LitStr>()?.value());
    } else if p.is_ident("max_length") {
        info.max_length = Some(meta.value()?.parse::<syn::LitInt>()?.base10_parse()?);
    } else if p.is_ident("max_digits") {
        info.max_digits = Some(meta.value()?.parse::<syn::LitInt>()?);
    } else if p.is_ident("decimal_places") {
        info.decimal_places = Some(meta.value()?.parse::<syn::LitInt>()?);
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
    } else if p.is_ident("to_field") {
        let value = meta.value()?.parse::<LitStr>()?;
        let mut ident = syn::parse_str::<Ident>(&value.value())
            .map_err(|_| syn::Error::new(value.span(), "to_field must name a field"))?;
        // Errors about the field (a misspelled name) point at the attribute's text.
        ident.set_span(value.span());
        info.to_field = Some(ident);
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
            "unknown field attribute; expected primary_key, column, max_length, max_digits, decimal_places, unique, index, default, default_fn, auto_now_add, auto_now, related_name, on_delete, to_field, verbose_name, help_text, blank or editable",
        ));
    }
    Ok(())
}

/// The checks between a field's attributes and its type.
fn check_field(info: &FieldInfo, field: &syn::Field) -> syn::Result<()> {
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
    check_decimal(info, field)?;
    if (info.related_name.is_some() || info.on_delete.is_some() || info.to_field.is_some())
        && info.target.is_none()
    {
        return Err(syn::Error::new(
            field.span(),
            "related_name, on_delete and to_field apply to ForeignKey<T> fields only",
        ));
    }
    if info.on_delete.as_deref() == Some("set_null") && !info.nullable_fk {
        return Err(syn::Error::new(
            field.ty.span(),
            "on_delete = \"set_null\" needs an optional key: Option<ForeignKey<T>>",
        ));
    }
    Ok(())
}
