//! Owns the relation items of `#[derive(Model)]`: foreign keys (their metadata, the
//! forward relation constant `Enrollment::STUDENT`), their reverse accessors, and
//! many-to-many relations (metadata, the generated through model of an implicit relation,
//! the forward constants and accessor, the reverse accessors, the values alias and the
//! compile-time check of the through model's keys).
//!
//! # Reverse accessors live in a generated trait
//!
//! The reverse side of a relation declared on model `M` (the rows of `M` referring to a
//! target row: `student.enrollments()`, `student.courses()`) is an item of the *target*
//! type, which may be defined in another crate, where an inherent impl is refused (E0116).
//! So each reverse side is an extension trait declared beside `M`, with `M`'s visibility,
//! and implemented for the target:
//!
//! - a foreign key `M.field` → trait `{M}{Field}Reverse` (`Enrollment.student` →
//!   `EnrollmentStudentReverse`) with `const ACCESSOR: Rel<Self, M>` and
//!   `fn accessor(&self)`;
//! - a many-to-many `M.name` → trait `{M}{Name}Reverse` (`Course.students` →
//!   `CourseStudentsReverse`) with `ACCESSOR`, `ACCESSOR_RELATION` and `fn accessor(&self)`.
//!
//! The accessor is the `related_name`, else `{m}_set`; `related_name = "+"` (and a
//! symmetrical relation) generates no trait. The trait is in scope wherever `M`'s module is
//! glob-imported (`use models::*`) or `M` is defined.

use crate::attrs::{FieldInfo, ManyToMany};
use crate::model::ModelDef;
use crate::names::{
    default_reverse_accessor, implicit_through, key_pair, key_type, reverse_trait, snake_case,
};
use crate::types::{is_self, type_names};
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{Ident, Type};

/// The reverse accessor of a foreign key: its `related_name`, else `{model}_set`.
fn reverse_accessor(model_name: &str, f: &FieldInfo) -> String {
    f.related_name
        .clone()
        .unwrap_or_else(|| default_reverse_accessor(model_name))
}

/// Two foreign keys of one model to the same target need distinct reverse accessors.
pub(crate) fn check_reverse_accessors(model_name: &str, fields: &[FieldInfo]) -> syn::Result<()> {
    let mut accessors: Vec<(String, String)> = Vec::new();
    for f in fields {
        if let Some(target) = &f.target {
            let target = quote!(#target).to_string();
            let accessor = reverse_accessor(model_name, f);
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
    Ok(())
}

/// The statements completing a foreign key's `FieldMeta`: `on_delete` and `related_name`.
pub(crate) fn foreign_key_meta(f: &FieldInfo) -> Tokens {
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
    quote!(if let Some(fk) = f.foreign_key.as_mut() { fk.on_delete = #on_delete; fk.related_name = #related; })
}

/// The forward relation constant of foreign key `f` (`Enrollment::STUDENT`), an item of
/// the model's inherent impl.
pub(crate) fn forward_foreign_key(model: &ModelDef<'_>, f: &FieldInfo) -> Tokens {
    let name = model.name;
    let fname = f.name();
    let const_name = format_ident!("{}", fname.to_uppercase());
    let target = f.target.as_ref();
    let column = f.column();
    let nullable = f.nullable_fk;
    quote!(
        #[doc = concat!("The relation across foreign key `", #fname, "`.")]
        pub const #const_name: ::throughline::Rel<#name, #target> = ::throughline::Rel::new(
            || ::throughline::__private::forward_hop::<#name, #target>(#column, #nullable)
        );
    )
}

/// The reverse accessor trait of every foreign key of the model (but `related_name = "+"`).
pub(crate) fn reverse_foreign_keys(model: &ModelDef<'_>) -> Tokens {
    let name = model.name;
    let vis = model.vis;
    let model_name = &model.model_name;
    let traits = model.foreign_keys().filter_map(|f| {
        let accessor = reverse_accessor(model_name, f);
        if accessor == "+" {
            return None;
        }
        let target = f.target.as_ref()?;
        let (_, target_simple) = type_names(target);
        let fname = f.name();
        let column = f.column();
        let trait_ident = reverse_trait(name, &fname);
        let accessor_ident = format_ident!("{}", accessor);
        let accessor_const = format_ident!("{}", accessor.to_uppercase());
        let trait_doc = format!(
            "The reverse side of foreign key `{model_name}.{fname}`, for {target_simple}: `{accessor}()` and `{accessor_const}`. Generated beside {model_name}: in scope where {model_name} is defined or its module glob-imported."
        );
        let const_doc =
            format!("The {model_name} rows whose `{fname}` refers to a row of this model.");
        let fn_doc = format!(
            "The {model_name} rows referring to this row (an error if it is unsaved)."
        );
        Some(quote! {
            #[doc = #trait_doc]
            #vis trait #trait_ident: ::throughline::Model {
                #[doc = #const_doc]
                const #accessor_const: ::throughline::Rel<Self, #name>;

                #[doc = #fn_doc]
                fn #accessor_ident(&self) -> ::throughline::Result<::throughline::QuerySet<#name>> {
                    Self::#accessor_const.of(self)
                }
            }

            impl #trait_ident for #target {
                const #accessor_const: ::throughline::Rel<Self, #name> = ::throughline::Rel::new(
                    || ::throughline::__private::reverse_hop::<#target, #name>(#column)
                );
            }
        })
    });
    quote!(#(#traits)*)
}

/// What the model's many-to-many relations generate.
#[derive(Default)]
pub(crate) struct ManyToManyItems {
    /// One `ManyToManyMeta` per relation, for `ModelMeta::many_to_many`.
    pub(crate) metas: Vec<Tokens>,
    /// The `meta` functions of the generated through models, for `ModelMeta::companions`.
    pub(crate) companions: Vec<Tokens>,
    /// The items beside the model.
    pub(crate) items: Vec<Tokens>,
}

/// One many-to-many relation as the generated items see it, sides and keys resolved.
struct Relation<'a> {
    name: &'a Ident,
    vis: &'a syn::Visibility,
    model_name: &'a str,
    m2m: &'a ManyToMany,
    /// The target type (the model's name for a relation to itself).
    target: Type,
    target_simple: String,
    through: Type,
    through_simple: String,
    symmetrical: bool,
    /// The through model's keys to the declaring model and to the target.
    source_field: String,
    target_field: String,
    /// The reverse accessor as declared (`"+"` for a symmetrical relation).
    related: Option<String>,
    /// `Model.name`, the relation's name in messages and hooks.
    label: String,
}

/// Every `many_to_many` declared on the model.
pub(crate) fn many_to_many(model: &ModelDef<'_>) -> syn::Result<ManyToManyItems> {
    let mut out = ManyToManyItems::default();
    for m2m in &model.attrs.many_to_many {
        let relation = resolve(model, m2m)?;
        out.metas.push(relation.meta());
        if m2m.through.is_none() {
            let ident = implicit_through(model.name, &m2m.name);
            out.companions.push(
                quote!(<#ident as ::throughline::Model>::meta as fn() -> &'static ::throughline::ModelMeta),
            );
            out.items.push(relation.implicit_through_model());
        }
        out.items.push(relation.forward_items());
        if let Some(reverse) = relation.reverse_trait() {
            out.items.push(reverse);
        }
    }
    Ok(out)
}

/// Resolves a declaration's target, through model, keys and reverse accessor, and refuses
/// the combinations that cannot work.
fn resolve<'a>(model: &'a ModelDef<'a>, m2m: &'a ManyToMany) -> syn::Result<Relation<'a>> {
    let name = model.name;
    let model_name = model.model_name.as_str();
    let self_ref = is_self(&m2m.to, name);
    let target: Type = if self_ref {
        syn::parse_quote!(#name)
    } else {
        m2m.to.clone()
    };
    let (_, target_simple) = type_names(&target);
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
            let ident = implicit_through(name, &m2m.name);
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
    let (_, through_simple) = type_names(&through);
    let related = if symmetrical {
        Some("+".to_owned())
    } else {
        m2m.related_name.clone()
    };
    Ok(Relation {
        name,
        vis: model.vis,
        model_name,
        m2m,
        target,
        target_simple,
        through,
        through_simple,
        symmetrical,
        source_field,
        target_field,
        related,
        label: format!("{model_name}.{}", m2m.name),
    })
}

impl Relation<'_> {
    /// The relation's `ManyToManyMeta`.
    fn meta(&self) -> Tokens {
        let rel_name = &self.m2m.name;
        let target_simple = &self.target_simple;
        let through_simple = &self.through_simple;
        let source_field = &self.source_field;
        let target_field = &self.target_field;
        let symmetrical = self.symmetrical;
        let auto_created = self.m2m.through.is_none();
        let through_fields_given = self.m2m.through_fields.is_some();
        let related = match &self.related {
            Some(r) => quote!(Some(#r.to_owned())),
            None => quote!(None),
        };
        quote!(::throughline::__private::throughline_core::ManyToManyMeta {
            name: #rel_name.to_owned(),
            target: #target_simple.to_owned(),
            through: #through_simple.to_owned(),
            source_field: #source_field.to_owned(),
            target_field: #target_field.to_owned(),
            related_name: #related,
            symmetrical: #symmetrical,
            auto_created: #auto_created,
            through_fields_given: #through_fields_given,
        })
    }

    /// The through model of an implicit relation: a key and the two foreign keys, unique
    /// as a pair.
    fn implicit_through_model(&self) -> Tokens {
        let name = self.name;
        let model_name = self.model_name;
        let rel_name = &self.m2m.name;
        let target = &self.target;
        let ident = implicit_through(name, rel_name);
        let table = self
            .m2m
            .table
            .clone()
            .unwrap_or_else(|| format!("{}_{}", snake_case(model_name), rel_name));
        let (source_field, target_field) = (&self.source_field, &self.target_field);
        let src = format_ident!("{}", source_field);
        let tgt = format_ident!("{}", target_field);
        let unique = format!("{table}_{source_field}_{target_field}_uniq");
        let doc = format!(
            "The junction rows of {model_name}.{rel_name} (generated for an implicit many-to-many)."
        );
        quote! {
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
        }
    }

    /// The values alias, the check of the through model's keys, and on the declaring model
    /// the relation constants and the accessor.
    fn forward_items(&self) -> Tokens {
        let name = self.name;
        let model_name = self.model_name;
        let rel_name = &self.m2m.name;
        let target = &self.target;
        let through = &self.through;
        let (target_simple, through_simple) = (&self.target_simple, &self.through_simple);
        let (source_field, target_field) = (&self.source_field, &self.target_field);
        let label = &self.label;
        let forward_pair = key_pair(source_field, target_field);
        let source_key = key_type(source_field);
        let target_key = key_type(target_field);
        let accessor = format_ident!("{}", rel_name);
        let rel_const = format_ident!("{}", rel_name.to_uppercase());
        let relation_const = format_ident!("{}_RELATION", rel_name.to_uppercase());
        let values_alias = format_ident!("{}Values", implicit_through(name, rel_name));
        let doc_values = format!(
            "The values of `add_with` on {label} (the through model's fields other than its key and the two relation keys)."
        );
        let doc_accessor =
            format!("The {target_simple} rows linked to this row through {through_simple}.");
        let doc_rel = format!(
            "The path from {model_name} to {target_simple} through {through_simple}, for filters."
        );
        quote! {
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
                    || ::throughline::__private::into_through_hop::<#name, #through>(#source_field),
                    || ::throughline::__private::out_of_through_hop::<#through, #target>(#target_field),
                );

                #[doc = #doc_rel]
                pub const #relation_const: ::throughline::ManyRelation<#name, #target, #through, #forward_pair> =
                    ::throughline::ManyRelation::new(#label, #label, #rel_name, true);

                #[doc = #doc_accessor]
                pub fn #accessor(&self) -> ::throughline::ManyRelated<#name, #target, #through, #forward_pair> {
                    Self::#relation_const.of(self)
                }
            }
        }
    }

    /// The reverse accessor trait (none for `related_name = "+"` or a symmetrical
    /// relation), implemented for the target.
    fn reverse_trait(&self) -> Option<Tokens> {
        let reverse = self
            .related
            .clone()
            .unwrap_or_else(|| default_reverse_accessor(self.model_name));
        if reverse == "+" {
            return None;
        }
        let name = self.name;
        let vis = self.vis;
        let model_name = self.model_name;
        let target = &self.target;
        let through = &self.through;
        let (target_simple, through_simple) = (&self.target_simple, &self.through_simple);
        let (source_field, target_field) = (&self.source_field, &self.target_field);
        let label = &self.label;
        let reverse_pair = key_pair(target_field, source_field);
        let rel_name = &self.m2m.name;
        let trait_ident = reverse_trait(name, rel_name);
        let rev_accessor = format_ident!("{}", reverse);
        let rev_const = format_ident!("{}", reverse.to_uppercase());
        let rev_relation = format_ident!("{}_RELATION", reverse.to_uppercase());
        let rev_label = format!("{target_simple}.{reverse}");
        let rev_doc = format!(
            "The {model_name} rows linked to this row through {through_simple} (reverse of {label})."
        );
        let trait_doc = format!(
            "The reverse side of many-to-many `{label}`, for {target_simple}: `{reverse}()`, `{rev_const}` and `{rev_relation}`. Generated beside {model_name}: in scope where {model_name} is defined or its module glob-imported."
        );
        // The values of `add_with` from the target's side have a name of their own
        // (`StudentCoursesValues` for `student.courses()`), the same fields as the forward
        // direction's.
        let target_name = if target_simple == "Self" {
            model_name.to_string()
        } else {
            target_simple.to_string()
        };
        let reverse_values =
            format_ident!("{}{}Values", target_name, crate::names::camel(&reverse));
        let reverse_values_doc = format!(
            "The values of `add_with` on {rev_label} (the reverse of {label}): the through model's fields other than its key and the two relation keys."
        );
        Some(quote! {
            #[doc = #reverse_values_doc]
            pub type #reverse_values = <#through as ::throughline::__private::ThroughValuesFor<#reverse_pair>>::Values;

            #[doc = #trait_doc]
            #vis trait #trait_ident: ::throughline::Model {
                #[doc = #rev_doc]
                const #rev_const: ::throughline::Rel<Self, #name>;

                #[doc = #rev_doc]
                const #rev_relation: ::throughline::ManyRelation<Self, #name, #through, #reverse_pair>;

                #[doc = #rev_doc]
                fn #rev_accessor(&self) -> ::throughline::ManyRelated<Self, #name, #through, #reverse_pair> {
                    Self::#rev_relation.of(self)
                }
            }

            impl #trait_ident for #target {
                const #rev_const: ::throughline::Rel<Self, #name> = ::throughline::Rel::new2(
                    || ::throughline::__private::into_through_hop::<#target, #through>(#target_field),
                    || ::throughline::__private::out_of_through_hop::<#through, #name>(#source_field),
                );

                const #rev_relation: ::throughline::ManyRelation<Self, #name, #through, #reverse_pair> =
                    ::throughline::ManyRelation::new(#rev_label, #label, #rel_name, false);
            }
        })
    }
}
