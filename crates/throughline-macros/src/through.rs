//! Owns what makes any model with foreign keys usable as a through model: a
//! `HasForeignKey` impl per key (checked by the relations naming it), and for a model with
//! two or more keys, per pair of keys, the values struct of `add_with` and the
//! `AddWithoutValues` impl whose bounds make `add()` compile only when every other field
//! has a default (SPEC §8.1).

use crate::attrs::FieldInfo;
use crate::model::ModelDef;
use crate::names::{camel, key_pair, key_type};
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};

/// The through-model items of `model`.
pub(crate) fn items(model: &ModelDef<'_>) -> Tokens {
    let name = model.name;
    let fks: Vec<&FieldInfo> = model.foreign_keys().collect();
    let mut out = Vec::new();
    for fk in &fks {
        let key = key_type(&fk.name());
        let target = fk.target.as_ref();
        out.push(quote!(impl ::throughline::__private::HasForeignKey<#key, #target> for #name {}));
    }
    if fks.len() < 2 {
        return quote!(#(#out)*);
    }
    out.extend(field_markers(model));
    for (i, a) in fks.iter().enumerate() {
        for b in fks.iter().skip(i + 1) {
            out.push(key_pair_items(model, a, b));
        }
    }
    quote!(#(#out)*)
}

/// A marker type per field but the key (`Enrollment__grade`), naming the field in the
/// `ThroughField` bound, so that the compiler's message names it.
fn field_markers<'a>(model: &'a ModelDef<'a>) -> impl Iterator<Item = Tokens> + 'a {
    model.fields.iter().filter(|f| !f.primary_key).map(|f| {
        let marker = format_ident!("{}__{}", model.name, f.ident);
        quote!(
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            pub struct #marker;
        )
    })
}

/// For the relations keyed by foreign keys `a` and `b` (either way round): the values
/// struct of `add_with`, and `AddWithoutValues` when the other fields all have defaults.
fn key_pair_items(model: &ModelDef<'_>, a: &FieldInfo, b: &FieldInfo) -> Tokens {
    let name = model.name;
    let model_name = &model.model_name;
    let (a_name, b_name) = (a.name(), b.name());
    let extras: Vec<&FieldInfo> = model
        .fields
        .iter()
        .filter(|f| !f.primary_key && f.ident != a.ident && f.ident != b.ident)
        .collect();
    let bounds = extras.iter().filter(|f| !f.has_attr_default()).map(|f| {
        let marker = format_ident!("{}__{}", name, f.ident);
        let ty = &f.ty;
        quote!(for<'__x> ::throughline::__private::ThroughField<#marker, #ty>: ::throughline::__private::FieldHasDefault)
    });
    let bounds: Vec<Tokens> = bounds.collect();
    let values_ident = format_ident!("__{}Values{}{}", name, camel(&a_name), camel(&b_name));
    let slots = extras.iter().map(|f| {
        let ident = &f.ident;
        let ty = &f.ty;
        let doc = format!("Field `{ident}`.");
        if f.has_attr_default() {
            quote!(#[doc = #doc] pub #ident: Option<#ty>)
        } else {
            quote!(#[doc = #doc] pub #ident: <#ty as ::throughline::__private::ValueSlot>::Slot)
        }
    });
    // `Default` when every slot may be left empty (bounds under a binder, so that a false
    // one removes the impl rather than failing to compile).
    let slot_types = extras.iter().map(|f| {
        let ty = &f.ty;
        if f.has_attr_default() {
            quote!(Option<#ty>)
        } else {
            quote!(<#ty as ::throughline::__private::ValueSlot>::Slot)
        }
    });
    let slot_idents = extras.iter().map(|f| &f.ident);
    let passed = extras.iter().map(|f| {
        let ident = &f.ident;
        let ty = &f.ty;
        let fname = ident.to_string();
        // A key declared with `to_field` passes the referred field's value.
        if let Some((_, referred)) = crate::model::referred(f) {
            let value = quote!(::throughline::__private::ReferringKey::referring_value);
            if f.has_attr_default() {
                quote!(if let Some(v) = &self.#ident { out.push((#fname, #value(v, #referred))); })
            } else {
                quote!({
                    let v = #value(&self.#ident, #referred);
                    if !v.is_null() { out.push((#fname, v)); }
                })
            }
        } else if f.has_attr_default() {
            quote!(if let Some(v) = &self.#ident { out.push((#fname, ::throughline::FieldValue::to_value(v))); })
        } else {
            quote!(if let Some(v) = <#ty as ::throughline::__private::ValueSlot>::passed(&self.#ident) { out.push((#fname, v)); })
        }
    });
    let doc = format!(
        "The values of `add_with` for relations through {model_name} keyed by `{a_name}` and `{b_name}`; use the alias the relation declares."
    );
    let pair_ab = key_pair(&a_name, &b_name);
    let pair_ba = key_pair(&b_name, &a_name);
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[derive(Debug, Clone)]
        pub struct #values_ident {
            #(#slots,)*
        }

        impl ::core::default::Default for #values_ident
        where
            #(for<'__x> #slot_types: ::throughline::__private::OptionalSlot,)*
        {
            fn default() -> Self {
                Self { #(#slot_idents: ::core::default::Default::default(),)* }
            }
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
    }
}
