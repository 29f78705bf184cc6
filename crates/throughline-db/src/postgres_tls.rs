//! Owns TLS to PostgreSQL: [`SslMode`] (libpq's `sslmode`: disable, prefer, require,
//! verify-ca, verify-full) and [`PgTls`], turned into a rustls client configuration for
//! tokio-postgres-rustls. rustls runs on the ring provider; the roots are the file named by
//! `sslrootcert`, else Mozilla's (webpki-roots, bundled, the same on every machine).
//!
//! As libpq: `prefer` and `require` encrypt without checking the certificate (`require`
//! with a root file checks the chain, as `verify-ca`), `verify-ca` checks the chain and not
//! the host name, `verify-full` both. Written by hand: the two verifiers that check less
//! than rustls's own are a few lines over rustls's `WebPkiServerVerifier` and its
//! signature checks.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;
use throughline_core::{Error, Result};

/// How a PostgreSQL connection uses TLS (libpq's `sslmode`).
///
/// ```
/// use throughline_db::SslMode;
/// assert_eq!("verify-full".parse::<SslMode>().unwrap(), SslMode::VerifyFull);
/// assert!("sometimes".parse::<SslMode>().is_err());
/// assert_eq!(SslMode::default(), SslMode::Disable);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS (the default when the URL names no `sslmode`; libpq's default is `prefer`).
    #[default]
    Disable,
    /// TLS when the server offers it, without checking its certificate.
    Prefer,
    /// TLS or no connection; the certificate is not checked (unless a root file is given:
    /// then as `VerifyCa`).
    Require,
    /// TLS; the certificate must chain to the roots of `sslrootcert` (required); the host
    /// name is not checked.
    VerifyCa,
    /// TLS; the certificate must chain to a root and name the host connected to.
    VerifyFull,
}

impl std::str::FromStr for SslMode {
    type Err = Error;

    fn from_str(text: &str) -> Result<SslMode> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::Config(format!(
                    "sslmode must be disable, prefer, require, verify-ca or verify-full, got {other:?}"
                )));
            }
        })
    }
}

/// TLS settings of a PostgreSQL pool: from the URL's `sslmode` and `sslrootcert`, or set in
/// [`PgOptions`](crate::PgOptions).
///
/// ```
/// use throughline_db::{PgTls, SslMode};
/// let tls = PgTls { mode: SslMode::VerifyFull, root_cert: Some("/etc/ssl/certs/my-ca.pem".into()) };
/// assert!(tls.mode != SslMode::Disable);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgTls {
    /// How TLS is used.
    pub mode: SslMode,
    /// A PEM file of the roots the server's certificate must chain to (`sslrootcert`);
    /// `None`: Mozilla's roots.
    pub root_cert: Option<PathBuf>,
}

impl PgTls {
    /// tokio-postgres's mode for this setting: whether TLS is tried, and required.
    pub(crate) fn postgres_mode(&self) -> tokio_postgres::config::SslMode {
        match self.mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }

    /// The rustls connector for tokio-postgres.
    pub(crate) fn connector(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
        if self.mode == SslMode::VerifyCa && self.root_cert.is_none() {
            // Any public certificate chains to Mozilla's roots: without the name check
            // that would let anyone holding one in (libpq refuses it too).
            return Err(Error::Config(
                "sslmode=verify-ca needs sslrootcert=PATH, the CA of the server's certificate (or use verify-full, which also checks the host name)".to_owned(),
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, &self.root_cert) {
            (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => {
                Arc::new(AnyCertificate(provider.clone()))
            }
            (SslMode::Require | SslMode::VerifyCa, _) => {
                Arc::new(ChainOnly(self.webpki(provider.clone())?))
            }
            (SslMode::VerifyFull, _) => self.webpki(provider.clone())?,
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }

    /// rustls's own verifier over the roots.
    fn webpki(&self, provider: Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>> {
        let mut roots = RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                    .map_err(|e| {
                        Error::Config(format!(
                            "sslrootcert {}: cannot read the certificates: {e}",
                            path.display()
                        ))
                    })?;
                if certs.is_empty() {
                    return Err(Error::Config(format!(
                        "sslrootcert {}: no certificate in the file",
                        path.display()
                    )));
                }
                for cert in certs {
                    roots.add(cert).map_err(|e| {
                        Error::Config(format!("sslrootcert {}: {e}", path.display()))
                    })?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| Error::Config(format!("TLS roots: {e}")))
    }
}

/// Accepts any certificate, checking only that the handshake is signed by its key
/// (`prefer`, and `require` without a root file, as libpq).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Checks the chain to the roots but not the host name (`verify-ca`).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
