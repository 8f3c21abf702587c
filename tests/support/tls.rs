//! A TLS endpoint on loopback in front of a plain TCP service (DynamoDB Local), with a
//! certificate for `localhost` from the test CA in `tls/` (made with openssl, valid until
//! 2126; the key signs nothing but this endpoint). Clients trust it through `AWS_CA_BUNDLE`.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The test CA's certificate: the bundle a client names in `AWS_CA_BUNDLE`.
pub fn ca_bundle() -> std::path::PathBuf {
    crate::repo_root().join("tests/support/tls/ca.pem")
}

/// Serves TLS on a free loopback port and relays each connection to `upstream` (an
/// `http://host:port` URL); answers the `https://localhost:<port>` URL to call instead.
/// The relay runs on the caller's runtime and stops with it.
pub async fn proxy(upstream: &str) -> String {
    let dir = crate::repo_root().join("tests/support/tls");
    let certs = CertificateDer::pem_file_iter(dir.join("localhost.pem"))
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .expect("the test certificate");
    let key = PrivateKeyDer::from_pem_file(dir.join("localhost.key")).expect("the test key");
    // Its own provider: the process may link more than one, and then there is no default.
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .expect("the test TLS configuration");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                crate::relay(&mut tls, &upstream).await;
            });
        }
    });
    format!("https://localhost:{port}")
}
