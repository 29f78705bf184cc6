//! Owns the expansion of `#[throughline::test]`: an `async fn(db: Database)` becomes a
//! plain `#[test]` that runs it through `throughline::testing::run` on a fresh database,
//! with the application's migrations (`migrations = MIGRATIONS`) or a registry's tables
//! (`tables = registry`) in place.

use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{ItemFn, Path, spanned::Spanned};

/// What the attribute's arguments ask for.
enum Setup {
    Empty,
    Migrations(Path),
    Tables(Path),
}

/// Parses `migrations = PATH` or `tables = PATH` (or nothing).
fn setup(args: Tokens) -> syn::Result<Setup> {
    let mut setup = Setup::Empty;
    let parser = syn::meta::parser(|meta| {
        if !matches!(setup, Setup::Empty) {
            return Err(meta.error("give one of migrations = ... and tables = ..."));
        }
        if meta.path.is_ident("migrations") {
            setup = Setup::Migrations(meta.value()?.parse()?);
        } else if meta.path.is_ident("tables") {
            setup = Setup::Tables(meta.value()?.parse()?);
        } else {
            return Err(meta.error(
                "unknown argument; expected migrations = STATIC (embed_migrations!) or tables = FUNCTION (returning a Registry)",
            ));
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(setup)
}

/// The expansion of `#[throughline::test(args)] item`.
pub(crate) fn expand(args: Tokens, item: Tokens) -> syn::Result<Tokens> {
    let setup = match setup(args)? {
        Setup::Empty => quote!(::throughline::testing::Setup::Empty),
        Setup::Migrations(path) => quote!(::throughline::testing::Setup::Migrations(&#path)),
        Setup::Tables(path) => quote!(::throughline::testing::Setup::Tables(&#path())),
    };
    let function: ItemFn = syn::parse2(item)?;
    if function.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            function.sig.fn_token.span(),
            "#[throughline::test] takes an async fn(db: Database)",
        ));
    }
    if function.sig.inputs.len() != 1 {
        return Err(syn::Error::new(
            function.sig.inputs.span(),
            "#[throughline::test] takes an async fn with one argument, the Database",
        ));
    }
    let name = &function.sig.ident;
    let attrs = &function.attrs;
    let mut inner = function.clone();
    inner.attrs.clear();
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        fn #name() {
            #inner
            ::throughline::testing::run(
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                #setup,
                #name,
            );
        }
    })
}
