//! Owns `#[derive(Model)]`: reading the struct into a checked [`ModelDef`], then generating
//! the `Model` implementation (its `ModelMeta`, built once; row decoding; values; keys;
//! `select_related` slots) and the typed field constants (`Student::NAME`). The relation
//! items (relation constants, reverse accessor traits, many-to-many relations) come from
//! `relations`, the through-model traits from `through`.
//!
//! [`expand`] is the whole derive; it runs in named steps, each generating one part.

use crate::attrs::{self, FieldInfo, ModelAttrs};
use crate::names::snake_case;
use crate::relations::{self, ManyToManyItems};
use crate::through;
use crate::types::{is_option_i64, is_self};
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, Ident, Visibility, spanned::Spanned};

/// A model read from its struct and checked: what every generating step works from.
pub(crate) struct ModelDef<'a> {
    /// The struct's name.
    pub(crate) name: &'a Ident,
    /// The struct's visibility (the generated reverse traits have the same).
    pub(crate) vis: &'a Visibility,
    /// The struct's name as text (`MODEL_NAME`).
    pub(crate) model_name: String,
    pub(crate) attrs: ModelAttrs,
    pub(crate) fields: Vec<FieldInfo>,
    /// The primary key's position among `fields`.
    pub(crate) pk_index: usize,
    /// Whether the primary key is an auto-increment `Option<i64>`.
    pub(crate) auto_pk: bool,
}

impl ModelDef<'_> {
    /// The primary key field.
    pub(crate) fn pk(&self) -> &FieldInfo {
        &self.fields[self.pk_index]
    }

    /// The foreign-key fields, in declaration order.
    pub(crate) fn foreign_keys(&self) -> impl Iterator<Item = &FieldInfo> {
        self.fields.iter().filter(|f| f.target.is_some())
    }
}

/// Expands `#[derive(Model)]` on `input`.
pub(crate) fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let model = read_model(input)?;
    let many_to_many = relations::many_to_many(&model)?;
    let model_impl = model_impl(&model, &many_to_many);
    let field_consts = field_consts(&model);
    let reverse_traits = relations::reverse_foreign_keys(&model);
    let m2m_items = &many_to_many.items;
    let through_items = through::items(&model);
    let attr_errors = model.attrs.errors.iter().map(syn::Error::to_compile_error);
    Ok(quote! {
        #model_impl

        #field_consts

        #reverse_traits

        #(#m2m_items)*

        #through_items

        #(#attr_errors)*
    })
}

/// Step 1: reads the struct and its attributes, and checks what needs the whole model
/// (the primary key, the fields named by constraints and ordering, the reverse accessors).
fn read_model(input: &DeriveInput) -> syn::Result<ModelDef<'_>> {
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
    let attrs = attrs::model_attrs(input)?;
    let mut fields = named
        .named
        .iter()
        .map(attrs::field_info)
        .collect::<syn::Result<Vec<_>>>()?;
    // `ForeignKey<Self>` refers to the model by its name in generated items (`Self` would
    // name another type inside them).
    for field in &mut fields {
        if let Some(target) = &mut field.target
            && is_self(target, name)
        {
            *target = syn::parse_quote!(#name);
        }
    }
    let pk_index = primary_key(name, &mut fields)?;
    check_field_lists(name, &attrs, &fields)?;
    let model_name = name.to_string();
    relations::check_reverse_accessors(&model_name, &fields)?;
    let auto_pk = is_option_i64(&fields[pk_index].ty);
    Ok(ModelDef {
        name,
        vis: &input.vis,
        model_name,
        attrs,
        fields,
        pk_index,
        auto_pk,
    })
}

/// The primary key's position: the field marked `primary_key`, else `id` (marked here).
fn primary_key(name: &Ident, fields: &mut [FieldInfo]) -> syn::Result<usize> {
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
    Ok(fields.iter().position(|f| f.primary_key).unwrap_or(0))
}

/// The fields named by `unique`, `index`, `ordering` and `display` exist.
fn check_field_lists(name: &Ident, attrs: &ModelAttrs, fields: &[FieldInfo]) -> syn::Result<()> {
    let field_names: Vec<String> = fields.iter().map(FieldInfo::name).collect();
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
    for item in &attrs.display {
        if !field_names.contains(item) {
            return Err(syn::Error::new(
                name.span(),
                format!("display names unknown field `{item}`"),
            ));
        }
    }
    Ok(())
}

/// Step 2: `impl Model for ...`.
fn model_impl(model: &ModelDef<'_>, many_to_many: &ManyToManyItems) -> Tokens {
    let name = model.name;
    let model_name = &model.model_name;
    let pk = model.pk();
    let pk_ty = &pk.ty;
    let pk_ident = &pk.ident;
    let pk_index = model.pk_index;
    // A key with a `max_length` is that string type, so that a foreign key to it is
    // declared alike (MySQL refuses a `longtext` column referring to a `varchar(5)` key;
    // Django declares the referring column as the key's too).
    let pk_type = if model.auto_pk {
        quote!(::throughline::FieldType::AutoI64)
    } else if let Some(n) = pk.max_length {
        quote!(::throughline::FieldType::String { max_length: Some(#n) })
    } else {
        quote!(<#pk_ty as ::throughline::FieldValue>::TYPE)
    };
    let meta = model_meta(model, many_to_many);
    // A value that does not decode names the model and field it was read for.
    let decoders = model.fields.iter().enumerate().map(|(index, f)| {
        let ident = &f.ident;
        let fname = f.name();
        let decoded = decode_field(f, quote!(start + #index));
        let decoded = quote!(#decoded
            .map_err(|e| ::throughline::__private::in_field(e, #model_name, #fname))?);
        let decoded = at_scale(f, decoded);
        quote!(#ident: #decoded)
    });
    let mapped = model.fields.iter().enumerate().map(|(index, f)| {
        let ident = &f.ident;
        let fname = f.name();
        let decoded = decode_field(
            f,
            quote!(*columns.get(#index).ok_or_else(|| ::throughline::Error::invalid_query(
                #model_name,
                "a column is missing for a field",
            ))?),
        );
        let decoded = quote!(#decoded
            .map_err(|e| ::throughline::__private::in_field(e, #model_name, #fname))?);
        let decoded = at_scale(f, decoded);
        quote!(#ident: #decoded)
    });
    let values: Vec<Tokens> = model.fields.iter().map(field_to_value).collect();
    let field_names: Vec<String> = model.fields.iter().map(FieldInfo::name).collect();
    let before_save = model.fields.iter().map(before_save);
    let RelatedArms {
        key_arms,
        batch_arms,
        load_arms,
    } = related_arms(model);
    let default_ordering = default_ordering(model);
    let declared_type = declared_type(model);
    let default_filter = model.attrs.default_filter.as_ref().map(|function| {
        quote! {
            fn default_filter() -> ::std::option::Option<::throughline::Filter> {
                ::std::option::Option::Some(::throughline::Q::<Self>::into_filter(Self::#function()))
            }
        }
    });
    quote! {
        impl ::throughline::Model for #name {
            const MODEL_NAME: &'static str = #model_name;
            const PK_TYPE: ::throughline::FieldType = #pk_type;
            const PK_INDEX: usize = #pk_index;
            type Key = <#pk_ty as ::throughline::__private::PrimaryKey>::Key;

            fn meta() -> &'static ::throughline::ModelMeta {
                #meta
            }
            #declared_type
            #default_ordering
            #default_filter

            fn from_row(row: &::throughline::__private::Row<'_>, start: usize) -> ::throughline::Result<Self> {
                Ok(Self { #(#decoders),* })
            }

            fn from_row_mapped(row: &::throughline::__private::Row<'_>, columns: &[usize]) -> ::throughline::Result<Self> {
                Ok(Self { #(#mapped),* })
            }

            fn to_values(&self) -> Vec<::throughline::Value> {
                vec![#(#values),*]
            }

            fn field_value(&self, name: &str) -> Option<::throughline::Value> {
                match name {
                    #(#field_names => Some(#values),)*
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
                    #(#load_arms)*
                    other => Err(::throughline::Error::invalid_query(#model_name, format!("`{other}` is not a foreign key"))),
                }
            }
        }
    }
}

/// The body of `Model::meta()`: the `ModelMeta`, built once.
fn model_meta(model: &ModelDef<'_>, many_to_many: &ManyToManyItems) -> Tokens {
    let model_name = &model.model_name;
    let table = model
        .attrs
        .table
        .clone()
        .unwrap_or_else(|| snake_case(model_name));
    let field_metas = model.fields.iter().map(|f| field_meta(f, model.auto_pk));
    let attrs = &model.attrs;
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
    let app = match &attrs.app {
        Some(app) => quote!(#app),
        None => quote!(env!("CARGO_PKG_NAME")),
    };
    let display = &attrs.display;
    let m2m_metas = &many_to_many.metas;
    let companions = &many_to_many.companions;
    quote! {
        static META: ::std::sync::LazyLock<::throughline::ModelMeta> = ::std::sync::LazyLock::new(|| {
            let mut meta = ::throughline::ModelMeta::new(#model_name, #table, ::std::vec::Vec::from([#(#field_metas),*]));
            meta.unique_constraints = vec![#(#uniques),*];
            meta.indexes = vec![#(#indexes),*];
            meta.ordering = vec![#(#ordering.to_owned()),*];
            #verbose
            #verbose_plural
            meta.app = #app.to_owned();
            meta.display = vec![#(#display.to_owned()),*];
            meta.many_to_many = vec![#(#m2m_metas),*];
            meta.companions = ::throughline::__private::throughline_core::schema::Companions(vec![#(#companions),*]);
            meta
        });
        &META
    }
}

/// A decimal field's decoded value brought to its decimal places (SQLite returns what was
/// written); other fields' values as decoded.
fn at_scale(f: &FieldInfo, decoded: Tokens) -> Tokens {
    match &f.decimal_places {
        Some(places) => {
            let ty = &f.ty;
            quote!(<#ty as ::throughline::__private::DecimalField>::at_scale(#decoded, #places))
        }
        None => decoded,
    }
}

/// One field's `FieldMeta`: what its type implies (`__private::field_meta`), then what its
/// attributes say.
fn field_meta(f: &FieldInfo, auto_pk: bool) -> Tokens {
    let ty = &f.ty;
    let fname = f.name();
    let column = f.column();
    let mut sets = Vec::new();
    if f.primary_key {
        sets.push(quote!(f.primary_key = true;));
        if auto_pk {
            sets.push(quote!(f.ty = ::throughline::FieldType::AutoI64; f.nullable = false; f.default = ::throughline::DefaultValue::None;));
        }
    }
    if let Some(n) = f.max_length {
        sets.push(quote!(f.ty = ::throughline::FieldType::String { max_length: Some(#n) };));
    }
    if let (Some(digits), Some(places)) = (&f.max_digits, &f.decimal_places) {
        sets.push(quote!(f.ty = ::throughline::FieldType::Decimal { max_digits: #digits, decimal_places: #places };));
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
    }
    if f.auto_now {
        sets.push(quote!(f.default = ::throughline::DefaultValue::AutoNow;));
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
        sets.push(relations::foreign_key_meta(f));
    }
    if let Some((referred_ty, name)) = referred(f) {
        sets.push(quote!(
            f.ty = #referred_ty;
            if let Some(fk) = f.foreign_key.as_mut() { fk.to_field = Some(#name.to_owned()); }
        ));
    }
    let implied = quote!(::throughline::__private::field_meta::<#ty>(#fname, #column));
    if sets.is_empty() {
        return implied;
    }
    quote!({
        let mut f = #implied;
        #(#sets)*
        f
    })
}

/// `Model::declared_type`: the fields whose attributes narrow their type (`max_length`,
/// decimal digits), for keys to them declared with `to_field`. Nothing for a model without
/// such fields (the trait's default).
fn declared_type(model: &ModelDef<'_>) -> Tokens {
    let arms: Vec<Tokens> = model
        .fields
        .iter()
        .filter_map(|f| {
            let name = f.name();
            let ty = if let Some(n) = f.max_length {
                quote!(::throughline::FieldType::String { max_length: Some(#n) })
            } else if let (Some(digits), Some(places)) = (&f.max_digits, &f.decimal_places) {
                quote!(::throughline::FieldType::Decimal { max_digits: #digits, decimal_places: #places })
            } else {
                return None;
            };
            Some(quote!(#name => Some(#ty),))
        })
        .collect();
    if arms.is_empty() {
        return quote!();
    }
    quote! {
        fn declared_type(name: &str) -> Option<::throughline::FieldType> {
            match name {
                #(#arms)*
                _ => None,
            }
        }
    }
}

/// The expression decoding field `f` from `row` at `index`: a `Result` of the field's type.
/// A key declared with `to_field` is read as a value of the target field's type.
fn decode_field(f: &FieldInfo, index: Tokens) -> Tokens {
    let ty = &f.ty;
    match referred(f) {
        Some((referred_ty, name)) => quote!(
            <#ty as ::throughline::__private::ReferringKey>::decode_referring(row, #index, #referred_ty, #name)
        ),
        None => quote!(<#ty as ::throughline::FieldValue>::decode(row, #index)),
    }
}

/// The value field `f` stores in its column (a `to_field` key: the target field's value).
fn field_to_value(f: &FieldInfo) -> Tokens {
    let ident = &f.ident;
    match referred(f) {
        Some((_, name)) => quote!(
            ::throughline::__private::ReferringKey::referring_value(&self.#ident, #name)
        ),
        None => quote!(::throughline::FieldValue::to_value(&self.#ident)),
    }
}

/// For a foreign key declared with `to_field`: the expression of the referred field's
/// storage type (read from the target's field constant, so a misspelled or missing field is
/// a compile error) and the field's name.
pub(crate) fn referred(f: &FieldInfo) -> Option<(Tokens, String)> {
    let field = f.to_field.as_ref()?;
    let target = f.target.as_ref()?;
    let constant = Ident::new(&field.to_string().to_uppercase(), field.span());
    let name = field.to_string();
    Some((
        quote!(::throughline::__private::referred_type(&<#target>::#constant, #name)),
        name,
    ))
}

/// What `before_save` does for one field: fill `auto_now` always, `auto_now_add` when
/// adding; a `to_field` key takes the target field's value.
fn before_save(f: &FieldInfo) -> Option<Tokens> {
    let ident = &f.ident;
    let ty = &f.ty;
    if let Some((_, name)) = referred(f) {
        Some(
            quote!(::throughline::__private::ReferringKey::prepare_referring(&mut self.#ident, #name);),
        )
    } else if f.auto_now_add {
        Some(quote!(if adding { self.#ident = <#ty as ::throughline::__private::Now>::now(); }))
    } else if f.auto_now {
        Some(quote!(self.#ident = <#ty as ::throughline::__private::Now>::now();))
    } else {
        None
    }
}

/// The match arms of `related_key`, `related_rows` and `load_related`: one per foreign key.
struct RelatedArms {
    key_arms: Vec<Tokens>,
    batch_arms: Vec<Tokens>,
    load_arms: Vec<Tokens>,
}

fn related_arms(model: &ModelDef<'_>) -> RelatedArms {
    let mut arms = RelatedArms {
        key_arms: Vec::new(),
        batch_arms: Vec::new(),
        load_arms: Vec::new(),
    };
    for (index, f) in model.fields.iter().enumerate() {
        if f.target.is_none() {
            continue;
        }
        let ident = &f.ident;
        let ty = &f.ty;
        let fname = f.name();
        arms.load_arms.push(quote!(#fname => ::throughline::RelatedSlot::load(&mut self.#ident, row, start, batch),));
        arms.batch_arms.push(quote!(#fname => Ok(::std::boxed::Box::new(::throughline::__private::RelatedRows::<<#ty as ::throughline::RelatedSlot>::Target>::default())),));
        arms.key_arms
            .push(quote!(#index => ::throughline::RelatedSlot::key(&self.#ident),));
    }
    arms
}

/// `Model::default_ordering` when the ordering names a foreign key: that entry orders by
/// the related model's ordering (`Self::COURSE.asc()`), the others by their field.
fn default_ordering(model: &ModelDef<'_>) -> Tokens {
    // A key to the model itself orders by its own column (following it would not end;
    // Django refuses such an ordering as an infinite loop).
    let own_name = model.name.to_string();
    let names_a_key = |entry: &str| {
        let name = entry.trim_start_matches('-');
        model.fields.iter().any(|f| {
            f.name() == name
                && f.target.as_ref().is_some_and(|target| {
                    let (_, simple) = crate::types::type_names(target);
                    simple != "Self" && simple != own_name
                })
        })
    };
    if !model.attrs.ordering.iter().any(|e| names_a_key(e)) {
        return quote!();
    }
    let terms = model.attrs.ordering.iter().map(|entry| {
        let name = entry.trim_start_matches('-');
        let descending = entry.starts_with('-');
        if names_a_key(entry) {
            let rel = format_ident!("{}", name.to_uppercase());
            if descending {
                quote!(terms.extend(Self::#rel.desc());)
            } else {
                quote!(terms.extend(Self::#rel.asc());)
            }
        } else {
            quote!(terms.push(::throughline::OrderBy::named(#entry));)
        }
    });
    quote! {
        fn default_ordering() -> ::std::option::Option<::std::vec::Vec<::throughline::OrderBy>> {
            let mut terms = ::std::vec::Vec::new();
            #(#terms)*
            ::std::option::Option::Some(terms)
        }
    }
}

/// Step 3: the typed constants on the model: `NAME` per field, and for a foreign key
/// `STUDENT_ID` (its key) and `STUDENT` (the relation).
fn field_consts(model: &ModelDef<'_>) -> Tokens {
    let name = model.name;
    let consts = model.fields.iter().map(|f| {
        let ty = &f.ty;
        let fname = f.name();
        let const_name = format_ident!("{}", fname.to_uppercase());
        if f.target.is_some() {
            let id_const = format_ident!("{}_ID", fname.to_uppercase());
            let relation = relations::forward_foreign_key(model, f);
            quote!(
                #[doc = concat!("The key of foreign key `", #fname, "`, for filters.")]
                pub const #id_const: ::throughline::Field<#name, #ty> = ::throughline::Field::new(#fname);
                #relation
            )
        } else {
            quote!(
                #[doc = concat!("Field `", #fname, "`, for filters and ordering.")]
                pub const #const_name: ::throughline::Field<#name, #ty> = ::throughline::Field::new(#fname);
            )
        }
    });
    quote! {
        impl #name {
            #(#consts)*
        }
    }
}
