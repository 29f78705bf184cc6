//! Owns `embed_migrations!`: listing an application's migration folder when its crate is
//! compiled, and embedding each `*.json` file with `include_str!`.

use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::LitStr;

/// Expands `embed_migrations!("folder")`: an `EmbeddedMigrations` of the folder's files,
/// sorted by name; a missing folder is an error.
pub(crate) fn expand(literal: &LitStr) -> syn::Result<Tokens> {
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
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| syn::Error::new(literal.span(), format!("cannot read {dir_text}: {e}")))?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn a_missing_folder_is_a_compile_error() {
        let literal = syn::LitStr::new("no_such_migrations", proc_macro2::Span::call_site());
        let error = super::expand(&literal).unwrap_err().to_string();
        assert!(error.contains("does not exist"), "{error}");
        let present = syn::LitStr::new("src", proc_macro2::Span::call_site());
        assert!(super::expand(&present).is_ok());
    }
}
