//! A throwaway PKI for TLS tests (feature `tls`): a CA and a server certificate it
//! signed, all PEM.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

pub struct TestPki {
    /// The CA's certificate: what a client trusts.
    pub ca_pem: String,
    /// The server's certificate, for the names given.
    pub cert_pem: String,
    /// The server's private key.
    pub key_pem: String,
}

impl TestPki {
    /// A new CA and a certificate for `names` (DNS names or IP addresses).
    pub fn new(names: &[&str]) -> TestPki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "entra-identity test CA");
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = CertificateParams::new(names).expect("server params");
        let key = KeyPair::generate().expect("server key");
        let cert = leaf
            .signed_by(&key, &ca_cert, &ca_key)
            .expect("server certificate");
        TestPki {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
