//! Owns `#[derive(Choices)]`: a text enum of unit variants as a field type (`Choices`,
//! `FieldValue`, and `HasDefault` when a variant is the default), each variant's stored
//! value and label read from its attributes.

use crate::names::snake_case;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, spanned::Spanned};

/// Expands `#[derive(Choices)]` on `input`.
pub(crate) fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
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
                    return Err(meta.error("expected value = \"...\", label = \"...\" or default"));
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
        impl ::throughline::__private::PrimaryKey for #name {
            type Key = #name;
        }

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

        /// Serializes as its stored value.
        impl ::throughline::__private::serde::Serialize for #name {
            fn serialize<S: ::throughline::__private::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(::throughline::Choices::as_str(self))
            }
        }

        /// Deserializes from its stored value; another text is an error listing the choices.
        impl<'de> ::throughline::__private::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::throughline::__private::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                let text = <::std::string::String as ::throughline::__private::serde::Deserialize>::deserialize(deserializer)?;
                <Self as ::throughline::Choices>::from_str_value(&text).ok_or_else(|| {
                    <D::Error as ::throughline::__private::serde::de::Error>::custom(format!(
                        "{text:?} is not a choice of {} (one of: {})",
                        #model_name,
                        [#(#values),*].join(", ")
                    ))
                })
            }
        }

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
                        column: index.to_string(),
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
