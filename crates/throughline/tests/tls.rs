//! TLS to PostgreSQL (issue 18): `sslmode` and `sslrootcert` in the URL, against the local
//! cluster (`.ci/run` makes sure it runs with `ssl = on`; Debian's PostgreSQL serves its
//! self-signed "snakeoil" certificate).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use throughline::{Database, Error, Value};

/// The URL of the test database with `params` added, or `None` when PostgreSQL is not
/// reachable outside CI.
async fn url_with(params: &str) -> Option<String> {
    let base = common::postgres_url();
    let plain = match Database::connect(&base).await {
        Ok(db) => db,
        Err(error) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {base} is unreachable in CI: {error}");
            }
            eprintln!("PostgreSQL unreachable, TLS tests not run: {error}");
            return None;
        }
    };
    drop(plain);
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{separator}{params}"))
}

/// Whether the connection of `db` is encrypted.
async fn encrypted(db: &Database) -> bool {
    let rows = throughline::raw::rows(
        db,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        vec![],
    )
    .await
    .unwrap();
    rows[0][0] == Value::Bool(true)
}

/// The server's certificate file, as the server reports it.
async fn server_certificate(db: &Database) -> String {
    let rows = throughline::raw::rows(db, "SHOW ssl_cert_file", vec![])
        .await
        .unwrap();
    rows[0][0].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_from_the_url() {
    let Some(disable) = url_with("sslmode=disable").await else {
        return;
    };
    let db = Database::connect(&disable).await.unwrap();
    assert!(!encrypted(&db).await);
    let certificate = server_certificate(&db).await;

    for mode in ["prefer", "require"] {
        let url = url_with(&format!("sslmode={mode}")).await.unwrap();
        let db = Database::connect(&url).await.unwrap();
        assert!(encrypted(&db).await, "{mode} encrypts");
    }

    // The server's self-signed certificate as the root: the chain holds.
    let url = url_with(&format!("sslmode=verify-ca&sslrootcert={certificate}"))
        .await
        .unwrap();
    let db = Database::connect(&url).await.unwrap();
    assert!(encrypted(&db).await);

    // Mozilla's roots (no sslrootcert) do not sign a self-signed certificate.
    let url = url_with("sslmode=verify-full").await.unwrap();
    let err = Database::connect(&url).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("certificate") && message.contains("sslrootcert"),
        "{message}"
    );
}

#[tokio::test]
async fn bad_tls_settings_are_config_errors() {
    let base = common::postgres_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    let err = Database::connect(&format!("{base}{separator}sslmode=sometimes"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let err = Database::connect(&format!(
        "{base}{separator}sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("/nonexistent/ca.pem")),
        "{err}"
    );
    // A root file without a mode that reads it would leave the certificate unchecked.
    let err = Database::connect(&format!("{base}{separator}sslrootcert=/tmp/ca.pem"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("sslrootcert")),
        "{err}"
    );
    // verify-ca without the CA: any public certificate would pass.
    let err = Database::connect(&format!("{base}{separator}sslmode=verify-ca"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("sslrootcert")),
        "{err}"
    );
}
