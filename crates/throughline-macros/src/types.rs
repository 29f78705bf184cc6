//! Owns reading the shape of a field's type as written: `ForeignKey<T>`,
//! `Option<ForeignKey<T>>`, `Option<i64>`, `Self`. The macro sees tokens, not resolved types,
//! so these are matched on the last path segment's name.

use quote::quote;
use syn::{GenericArgument, Ident, PathArguments, Type};

/// The `T` of `Wrapper<T>` when the type's last segment is `wrapper`.
pub(crate) fn generic_arg<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
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

/// The referred model of `ForeignKey<T>` or `Option<ForeignKey<T>>`, and whether the key
/// is optional.
pub(crate) fn foreign_key_target(ty: &Type) -> Option<(Type, bool)> {
    match generic_arg(ty, "ForeignKey") {
        Some(t) => Some((t.clone(), false)),
        None => generic_arg(ty, "Option")
            .and_then(|inner| generic_arg(inner, "ForeignKey"))
            .map(|t| (t.clone(), true)),
    }
}

/// Whether the type is `Option<i64>` (an auto-increment key when it is the key).
pub(crate) fn is_option_i64(ty: &Type) -> bool {
    generic_arg(ty, "Option").is_some_and(|inner| quote!(#inner).to_string() == "i64")
}

/// Whether `ty` names the model `name` itself (`Self` or its name).
pub(crate) fn is_self(ty: &Type, name: &Ident) -> bool {
    let text = quote!(#ty).to_string();
    text == "Self" || *name == text
}

/// The type as text without spaces (`crate::models::Tag`), and its last segment (`Tag`).
pub(crate) fn type_names(ty: &Type) -> (String, String) {
    let full = quote!(#ty).to_string().replace(' ', "");
    let simple = full.rsplit("::").next().unwrap_or(&full).to_owned();
    (full, simple)
}
