//! The derive macros of throughline: `#[derive(Model)]` and `#[derive(Choices)]`.
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
                } else {
                    return Err(meta.error(
                        "unknown model attribute; expected table, ordering, unique, index, verbose_name or verbose_name_plural",
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
                if accessors.contains(&(target.clone(), accessor.clone())) {
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
                related_arms.push(quote!(#fname => ::throughline::RelatedSlot::load(&mut self.#ident, row, start),));
                let accessor = f
                    .related_name
                    .clone()
                    .unwrap_or_else(|| format!("{}_set", snake_case(&model_name)));
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

                fn meta() -> &'static ::throughline::ModelMeta {
                    static META: ::std::sync::LazyLock<::throughline::ModelMeta> = ::std::sync::LazyLock::new(|| {
                        let mut meta = ::throughline::ModelMeta::new(#model_name, #table, vec![#(#field_metas),*]);
                        meta.unique_constraints = vec![#(#uniques),*];
                        meta.indexes = vec![#(#indexes),*];
                        meta.ordering = vec![#(#ordering.to_owned()),*];
                        #verbose
                        #verbose_plural
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

                #[allow(unused_variables)]
                fn load_related(&mut self, field: &str, row: &::throughline::__private::Row<'_>, start: usize) -> ::throughline::Result<()> {
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
        })
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

            impl ::throughline::FieldValue for #name {
                const TYPE: ::throughline::FieldType = ::throughline::FieldType::String { max_length: Some(#max_len) };
                fn to_value(&self) -> ::throughline::Value {
                    ::throughline::Value::String(::throughline::Choices::as_str(self).to_owned())
                }
                fn decode(row: &::throughline::__private::Row<'_>, index: usize) -> ::throughline::Result<Self> {
                    let text = <String as ::throughline::__private::Decode>::decode(row, index)?;
                    Self::from_value(::throughline::Value::String(text))
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
