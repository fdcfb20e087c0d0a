//! The byte stream under a WebSocket: TCP for `ws://`, TLS over TCP for
//! `wss://` (RFC 6455 §3: a `wss` URI is "secure"; §4.1: the client performs
//! the TLS handshake before sending its opening handshake, and §4.2.1 the
//! server the same before reading it). Everything above this module sees a
//! [`Stream`] and does not know which of the two it has.
//!
//! TLS is rustls on the `ring` backend. The harness as a client trusts
//! Mozilla's roots plus `--ca` files, or nothing at all (`--insecure`); as a
//! server it presents a certificate from files or a fresh self-signed one
//! (rcgen) for `localhost`, `127.0.0.1` and `::1`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// A connection's bytes, whatever carries them.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open connection: plain TCP or TLS.
pub type Stream = Box<dyn Io>;

/// A peer's WebSocket URL (RFC 6455 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub host: String,
    pub port: u16,
    /// `wss://`: TLS under the WebSocket.
    pub secure: bool,
    /// The `Host` header value: the URL's authority.
    pub authority: String,
    pub path_and_query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("malformed URL {0:?}: {1}")]
    Malformed(String, String),
    #[error("unsupported scheme {0:?} in {1:?}: use ws:// or wss://")]
    Scheme(String, String),
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let malformed = |why: &str| TargetError::Malformed(url.to_string(), why.to_string());
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| malformed(&e.to_string()))?;
        let scheme = uri.scheme_str().ok_or_else(|| malformed("no scheme"))?;
        // RFC 6455 §3: the default ports are 80 for ws and 443 for wss.
        let (secure, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "ws" => (false, 80),
            "wss" => (true, 443),
            _ => return Err(TargetError::Scheme(scheme.to_string(), url.to_string())),
        };
        let authority = uri.authority().ok_or_else(|| malformed("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(malformed("no host"));
        }
        // Not `port_u16()`: it is `None` for a port that is not a u16 too
        // (`:99999`), which silently tested port 80 instead.
        let after_host = authority
            .as_str()
            .rsplit('@')
            .next()
            .and_then(|h| h.strip_prefix(authority.host()))
            .unwrap_or_default();
        let given = after_host.strip_prefix(':').unwrap_or(after_host);
        let port = match after_host {
            "" | ":" => default_port,
            _ => after_host
                .strip_prefix(':')
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| malformed(&format!("port {given:?} is not a number from 0 to 65535")))?,
        };
        Ok(Target {
            url: url.to_string(),
            host,
            port,
            secure,
            authority: authority.as_str().to_string(),
            path_and_query: uri
                .path_and_query()
                .map_or("/".into(), |p| p.as_str().to_string()),
        })
    }
}

/// Problems with TLS material (exit code 2 at the command line).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {why}")]
    Pem { path: String, why: String },
    #[error("{0}: no certificate in it")]
    NoCertificate(String),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("--cert and --key go together")]
    HalfIdentity,
    #[error("certificate verifier: {0}")]
    Verifier(String),
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to {0}: {1}")]
    Tcp(String, std::io::Error),
    #[error("TLS handshake with {0} failed: {1}{hint}", hint = certificate_hint(.1))]
    Tls(String, std::io::Error),
    #[error("{0:?} is not a valid TLS server name")]
    ServerName(String),
}

/// For a rejected certificate: how to make the harness accept it.
fn certificate_hint(e: &std::io::Error) -> &'static str {
    let rejected = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
    if rejected {
        " (trust it with --ca FILE, or use --insecure)"
    } else {
        ""
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A [`TlsError::Pem`] for `path`, from whatever went wrong with it.
fn unreadable<E: fmt::Display>(path: &Path) -> impl Fn(E) -> TlsError + '_ {
    move |e| TlsError::Pem {
        path: path.display().to_string(),
        why: e.to_string(),
    }
}

fn read_pem(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(unreadable(path))
}

/// The certificates in `pem` (the text of `path`).
fn parse_certs(pem: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable(path))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.display().to_string()));
    }
    Ok(certs)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    parse_certs(&read_pem(path)?, path)
}

/// Which server certificates the harness accepts when it is the client.
#[derive(Debug, Clone, Default)]
pub enum Trust {
    /// Mozilla's roots (webpki-roots) only.
    #[default]
    Roots,
    /// Also trust the certificates in these PEM files (`--ca`): as roots,
    /// and each also as a server's own certificate (self-signed ones).
    RootsAnd(Vec<PathBuf>),
    /// Also trust these certificates (a self-signed one the harness made).
    RootsAndCerts(Vec<CertificateDer<'static>>),
    /// Accept any certificate (`--insecure`): the TLS handshake's own
    /// signatures are still checked, the certificate chain and name are not.
    Insecure,
}

impl Trust {
    /// From the command line's `--ca` and `--insecure`.
    pub fn from_args(ca: &[PathBuf], insecure: bool) -> Trust {
        match (insecure, ca.is_empty()) {
            (true, _) => Trust::Insecure,
            (false, true) => Trust::Roots,
            (false, false) => Trust::RootsAnd(ca.to_vec()),
        }
    }
}

/// Opens connections to targets: TCP, plus TLS for `wss://`.
#[derive(Clone)]
pub struct Connector {
    tls: TlsConnector,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Connector")
    }
}

impl Connector {
    pub fn new(trust: &Trust) -> Result<Connector, TlsError> {
        let extra = match trust {
            Trust::RootsAnd(paths) => {
                let mut certs = Vec::new();
                for path in paths {
                    certs.extend(read_certs(path)?);
                }
                certs
            }
            Trust::RootsAndCerts(certs) => certs.clone(),
            Trust::Roots | Trust::Insecure => Vec::new(),
        };
        let webpki = match trust {
            Trust::Insecure => None,
            _ => {
                let mut roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                // A certificate that is not a usable trust anchor may still be
                // pinned (below).
                let _ = roots.add_parsable_certificates(extra.iter().cloned());
                let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()
                    .map_err(|e| TlsError::Verifier(e.to_string()))?;
                Some(verifier)
            }
        };
        let check = CertificateCheck {
            webpki,
            pinned: extra,
            provider: provider(),
        };
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(check))
            .with_no_client_auth();
        Ok(Connector {
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// Connects to `target` (no delay: each write leaves as its own segment,
    /// which chopped-write cases rely on), with TLS when it is `wss://`.
    pub async fn connect(&self, target: &Target) -> Result<Stream, ConnectError> {
        let tcp = Connector::tcp(target).await?;
        self.secure(tcp, target).await
    }

    /// The TCP connection alone (no delay set).
    pub async fn tcp(target: &Target) -> Result<TcpStream, ConnectError> {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| ConnectError::Tcp(format!("{}:{}", target.host, target.port), e))?;
        let _ = tcp.set_nodelay(true);
        Ok(tcp)
    }

    /// TLS over `tcp` when `target` is `wss://`; `tcp` itself otherwise.
    pub async fn secure(&self, tcp: TcpStream, target: &Target) -> Result<Stream, ConnectError> {
        if !target.secure {
            return Ok(Box::new(tcp));
        }
        let name = ServerName::try_from(target.host.clone())
            .map_err(|_| ConnectError::ServerName(target.host.clone()))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| ConnectError::Tls(format!("{}:{}", target.host, target.port), e))?;
        Ok(Box::new(tls))
    }
}

/// How a server's certificate is checked. The TLS handshake's own
/// signatures are always verified.
#[derive(Debug)]
struct CertificateCheck {
    /// The chain and name check (webpki); `None` accepts any certificate
    /// (`--insecure`).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// Certificates accepted as the server's own, byte for byte: a
    /// self-signed certificate given with `--ca`, which webpki refuses as an
    /// end entity when it is marked as a CA (as `openssl req -x509` makes it).
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CertificateCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.webpki {
            None => Ok(ServerCertVerified::assertion()),
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The harness's (or a reference server's) TLS identity when it is the
/// server.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    /// The certificate chain presented, as PEM: what clients must trust.
    pub cert_pem: String,
    certs: Vec<CertificateDer<'static>>,
    /// True when the harness made the certificate itself.
    pub self_signed: bool,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("self_signed", &self.self_signed)
            .finish_non_exhaustive()
    }
}

/// A client that has not finished its TLS handshake by then is dropped: a
/// stalled peer must not hold a task forever (the fuzzing server scales it
/// with `--timeout-scale`).
pub const TLS_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);

impl ServerTls {
    /// A fresh self-signed certificate for the loopback names.
    pub fn self_signed() -> Result<ServerTls, TlsError> {
        let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        let generated = rcgen::generate_simple_self_signed(names)?;
        let key = PrivateKeyDer::Pkcs8(generated.key_pair.serialize_der().into());
        let cert = generated.cert.der().clone();
        ServerTls::new(vec![cert], key, generated.cert.pem(), true)
    }

    /// The certificate chain and key from PEM files (`--cert`, `--key`).
    pub fn from_files(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
        let pem = read_pem(cert)?;
        let certs = parse_certs(&pem, cert)?;
        let key = PrivateKeyDer::from_pem_slice(read_pem(key)?.as_bytes()).map_err(unreadable(key))?;
        ServerTls::new(certs, key, pem, false)
    }

    /// From the command line: files when both are given, else self-signed.
    pub fn from_args(cert: Option<&Path>, key: Option<&Path>) -> Result<ServerTls, TlsError> {
        match (cert, key) {
            (Some(c), Some(k)) => ServerTls::from_files(c, k),
            (None, None) => ServerTls::self_signed(),
            _ => Err(TlsError::HalfIdentity),
        }
    }

    fn new(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_pem: String,
        self_signed: bool,
    ) -> Result<ServerTls, TlsError> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs.clone(), key)?;
        Ok(ServerTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            cert_pem,
            certs,
            self_signed,
        })
    }

    /// What a client must trust to accept this identity.
    pub fn trust(&self) -> Trust {
        Trust::RootsAndCerts(self.certs.clone())
    }

    /// Runs the server side of the TLS handshake on `tcp`, for at most `limit`.
    pub async fn accept(&self, tcp: TcpStream, limit: Duration) -> std::io::Result<Stream> {
        let accepting = self.acceptor.accept(tcp);
        match tokio::time::timeout(limit, accepting).await {
            Ok(Ok(tls)) => Ok(Box::new(tls)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no TLS handshake within {limit:?}"),
            )),
        }
    }
}

/// Accepts one connection's stream: TLS when `tls` is given (its handshake
/// bounded by `limit`), else TCP as is.
pub async fn accept(tcp: TcpStream, tls: Option<&ServerTls>, limit: Duration) -> std::io::Result<Stream> {
    let _ = tcp.set_nodelay(true);
    match tls {
        Some(tls) => tls.accept(tcp, limit).await,
        None => Ok(Box::new(tcp)),
    }
}

/// The URL scheme for a listener with or without TLS.
pub fn scheme(tls: bool) -> &'static str {
    if tls {
        "wss"
    } else {
        "ws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("ws://127.0.0.1:9001/chat?x=1").expect("valid");
        assert_eq!(
            (t.host.as_str(), t.port, t.path_and_query.as_str(), t.secure),
            ("127.0.0.1", 9001, "/chat?x=1", false)
        );
        assert_eq!(t.authority, "127.0.0.1:9001");
        let v6 = Target::parse("ws://[::1]:80").expect("valid");
        assert_eq!((v6.host.as_str(), v6.path_and_query.as_str()), ("::1", "/"));
        let tls = Target::parse("wss://localhost/x").expect("valid");
        assert_eq!((tls.port, tls.secure), (443, true));
        assert_eq!(Target::parse("ws://h").expect("valid").port, 80);
        assert!(matches!(Target::parse("http://x"), Err(TargetError::Scheme(..))));
        assert!(Target::parse("ws://").is_err());
        assert!(Target::parse("not a url").is_err());
        for bad in ["ws://h:99999/", "ws://h:65536", "ws://[::1]:70000/"] {
            assert!(
                matches!(Target::parse(bad), Err(TargetError::Malformed(..))),
                "{bad}"
            );
        }
        assert_eq!(Target::parse("ws://h:/").expect("empty port").port, 80);
        assert_eq!(Target::parse("ws://u@h:8080/").expect("user info").port, 8080);
    }

    #[test]
    fn identities_and_trust() {
        let id = ServerTls::self_signed().expect("rcgen");
        assert!(id.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(Connector::new(&id.trust()).is_ok());
        assert!(Connector::new(&Trust::Insecure).is_ok());
        assert!(matches!(
            ServerTls::from_args(Some(Path::new("x.pem")), None),
            Err(TlsError::HalfIdentity)
        ));
        let missing = Connector::new(&Trust::RootsAnd(vec!["/nonexistent/ca.pem".into()]));
        assert!(matches!(missing, Err(TlsError::Pem { .. })));
    }
}
