//! PKCS#12 (`.pfx`, `.p12`): the private key and certificates out of a password-
//! protected bundle, as the Azure SDKs take them (`AZURE_CLIENT_CERTIFICATE_PASSWORD`).
//!
//! Read: the encryption OpenSSL 3 and current Windows write (PBES2: PBKDF2-HMAC-SHA-256
//! with AES-CBC), the legacy one older tools and `openssl pkcs12 -legacy` write
//! (SHA-1 PKCS#12 key derivation with 3DES for keys and 40-bit RC2 for certificates),
//! and bundles written without encryption. The integrity MAC (HMAC-SHA-1 or -SHA-256)
//! is checked first, so a wrong password is said to be one.

use crate::error::Error;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, InnerIvInit, KeyIvInit};
use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode, Sequence};
use hmac::{Mac, SimpleHmac};
use pkcs8::spki::AlgorithmIdentifierRef;
use sha1::Sha1;
use sha2::Sha256;
use sha2::digest::core_api::BlockSizeUser;
use sha2::digest::{Digest, FixedOutputReset};

const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");

#[derive(Sequence)]
struct Pfx<'a> {
    _version: u8,
    auth_safe: ContentInfo<'a>,
    mac_data: Option<MacData<'a>>,
}

#[derive(Sequence)]
struct ContentInfo<'a> {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    content: Option<AnyRef<'a>>,
}

#[derive(Sequence)]
struct MacData<'a> {
    mac: DigestInfo<'a>,
    salt: OctetStringRef<'a>,
    #[asn1(default = "one")]
    iterations: u32,
}

fn one() -> u32 {
    1
}

#[derive(Sequence)]
struct DigestInfo<'a> {
    algorithm: AlgorithmIdentifierRef<'a>,
    digest: OctetStringRef<'a>,
}

#[derive(Sequence)]
struct EncryptedData<'a> {
    _version: u8,
    content: EncryptedContentInfo<'a>,
}

#[derive(Sequence)]
struct EncryptedContentInfo<'a> {
    _content_type: ObjectIdentifier,
    algorithm: AlgorithmIdentifierRef<'a>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    encrypted: Option<OctetStringRef<'a>>,
}

#[derive(Sequence)]
struct SafeBag<'a> {
    id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    value: AnyRef<'a>,
    _attributes: Option<AnyRef<'a>>,
}

#[derive(Sequence)]
struct CertBag<'a> {
    id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    value: OctetStringRef<'a>,
}

#[derive(Sequence)]
struct EncryptedPrivateKey<'a> {
    algorithm: AlgorithmIdentifierRef<'a>,
    encrypted: OctetStringRef<'a>,
}

#[derive(Sequence)]
struct LegacyPbeParameters<'a> {
    salt: OctetStringRef<'a>,
    iterations: u32,
}

/// What a PKCS#12 bundle holds: the private key (PKCS#8 DER) and the certificates
/// (DER), in file order.
pub(super) struct Contents {
    pub(super) key: Vec<u8>,
    pub(super) certificates: Vec<Vec<u8>>,
}

fn invalid(why: &str) -> Error {
    Error::InvalidInput(format!("the client certificate's PKCS#12 file {why}"))
}

fn malformed(_: der::Error) -> Error {
    invalid("does not parse as PKCS#12 (DER)")
}

/// Reads `der` with `password` (empty: none).
pub(super) fn read(der: &[u8], password: &str) -> Result<Contents, Error> {
    let pfx = Pfx::from_der(der).map_err(malformed)?;
    let auth_safe = data_content(&pfx.auth_safe)?;
    let passwords = Passwords::new(password);
    if let Some(mac) = &pfx.mac_data {
        verify_mac(mac, auth_safe, &passwords)?;
    }
    let mut contents = Contents {
        key: Vec::new(),
        certificates: Vec::new(),
    };
    let mut key = None;
    for info in Vec::<ContentInfo<'_>>::from_der(auth_safe).map_err(malformed)? {
        let safe_contents = match info.content_type {
            DATA => data_content(&info)?.to_vec(),
            ENCRYPTED_DATA => {
                let data: EncryptedData<'_> = content(&info)?.decode_as().map_err(malformed)?;
                let encrypted = data
                    .content
                    .encrypted
                    .ok_or_else(|| invalid("has encrypted data without content"))?;
                decrypt(&data.content.algorithm, encrypted.as_bytes(), &passwords)?
            }
            other => {
                return Err(invalid(&format!(
                    "has content of type {other}, which is not data"
                )));
            }
        };
        for bag in Vec::<SafeBag<'_>>::from_der(&safe_contents).map_err(malformed)? {
            match bag.id {
                KEY_BAG => key = Some(bag.value.to_der().map_err(malformed)?),
                SHROUDED_KEY_BAG => {
                    let shrouded: EncryptedPrivateKey<'_> =
                        bag.value.decode_as().map_err(malformed)?;
                    key = Some(decrypt(
                        &shrouded.algorithm,
                        shrouded.encrypted.as_bytes(),
                        &passwords,
                    )?);
                }
                CERT_BAG => {
                    let cert: CertBag<'_> = bag.value.decode_as().map_err(malformed)?;
                    if cert.id == X509_CERTIFICATE {
                        contents.certificates.push(cert.value.as_bytes().to_vec());
                    }
                }
                _ => {}
            }
        }
    }
    contents.key = key.ok_or_else(|| invalid("has no private key; export it with its key"))?;
    Ok(contents)
}

fn content<'a>(info: &ContentInfo<'a>) -> Result<AnyRef<'a>, Error> {
    info.content.ok_or_else(|| invalid("has an empty content"))
}

fn data_content<'a>(info: &ContentInfo<'a>) -> Result<&'a [u8], Error> {
    if info.content_type != DATA {
        return Err(invalid(
            "is signed with a public key, which is not supported; export it with a password",
        ));
    }
    let octets: OctetStringRef<'a> = content(info)?.decode_as().map_err(malformed)?;
    Ok(octets.as_bytes())
}

/// The password in the two encodings PKCS#12 uses: UTF-8 for PBES2, and a BMPString
/// (UTF-16BE, NUL-terminated) for its own key derivation. An empty password is tried
/// both as that terminator alone and as nothing, as tools differ.
struct Passwords {
    utf8: String,
    bmp: Vec<Vec<u8>>,
}

impl Passwords {
    fn new(password: &str) -> Self {
        let mut bmp: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
        bmp.extend([0, 0]);
        let bmp = if password.is_empty() {
            vec![bmp, Vec::new()]
        } else {
            vec![bmp]
        };
        Passwords {
            utf8: password.to_string(),
            bmp,
        }
    }
}

fn verify_mac(mac: &MacData<'_>, data: &[u8], passwords: &Passwords) -> Result<(), Error> {
    let salt = mac.salt.as_bytes();
    let expected = mac.mac.digest.as_bytes();
    let ok = |bmp: &Vec<u8>| match mac.mac.algorithm.oid {
        SHA1 => Ok(hmac::<Sha1>(bmp, salt, mac.iterations, data) == expected),
        SHA256 => Ok(hmac::<Sha256>(bmp, salt, mac.iterations, data) == expected),
        other => Err(invalid(&format!(
            "has an integrity MAC over {other}, which is not supported (SHA-1 and SHA-256 are)"
        ))),
    };
    for bmp in &passwords.bmp {
        if ok(bmp)? {
            return Ok(());
        }
    }
    Err(invalid(
        "does not open with this password: set AZURE_CLIENT_CERTIFICATE_PASSWORD to the one it was exported with",
    ))
}

fn hmac<D>(password: &[u8], salt: &[u8], iterations: u32, data: &[u8]) -> Vec<u8>
where
    D: Digest + BlockSizeUser + FixedOutputReset + Clone,
{
    let key = derive::<D>(password, salt, 3, iterations, <D as Digest>::output_size());
    let mut mac = <SimpleHmac<D> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn decrypt(
    algorithm: &AlgorithmIdentifierRef<'_>,
    encrypted: &[u8],
    passwords: &Passwords,
) -> Result<Vec<u8>, Error> {
    let wrong = || {
        invalid(
            "does not decrypt with this password: set AZURE_CLIENT_CERTIFICATE_PASSWORD to the one it was exported with",
        )
    };
    match algorithm.oid {
        PBES2 => {
            let scheme = pkcs8::pkcs5::EncryptionScheme::try_from(*algorithm).map_err(malformed)?;
            scheme
                .decrypt(passwords.utf8.as_bytes(), encrypted)
                .map_err(|_| wrong())
        }
        PBE_SHA1_3DES | PBE_SHA1_RC2_40 => {
            let params: LegacyPbeParameters<'_> = algorithm
                .parameters
                .ok_or_else(|| invalid("has a legacy encryption without parameters"))?
                .decode_as()
                .map_err(malformed)?;
            let (salt, rounds) = (params.salt.as_bytes(), params.iterations);
            for bmp in &passwords.bmp {
                let iv = derive::<Sha1>(bmp, salt, 2, rounds, 8);
                let plain = if algorithm.oid == PBE_SHA1_3DES {
                    let key = derive::<Sha1>(bmp, salt, 1, rounds, 24);
                    cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
                        .expect("24-byte key, 8-byte IV")
                        .decrypt_padded_vec_mut::<Pkcs7>(encrypted)
                } else {
                    let key = derive::<Sha1>(bmp, salt, 1, rounds, 5);
                    let cipher = rc2::Rc2::new_with_eff_key_len(&key, 40);
                    cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(cipher, &iv)
                        .expect("8-byte IV")
                        .decrypt_padded_vec_mut::<Pkcs7>(encrypted)
                };
                if let Ok(plain) = plain {
                    return Ok(plain);
                }
            }
            Err(wrong())
        }
        other => Err(invalid(&format!(
            "is encrypted with {other}, which is not supported; export it with AES-256 (openssl pkcs12 -export, or Windows' AES256-SHA256)"
        ))),
    }
}

/// The PKCS#12 key derivation (RFC 7292, appendix B.2): `len` bytes of purpose `id`
/// (1 key, 2 IV, 3 MAC key) from a BMPString password and a salt.
fn derive<D>(password: &[u8], salt: &[u8], id: u8, iterations: u32, len: usize) -> Vec<u8>
where
    D: Digest + BlockSizeUser,
{
    let v = <D as BlockSizeUser>::block_size();
    let fill = |s: &[u8]| -> Vec<u8> {
        if s.is_empty() {
            return Vec::new();
        }
        s.iter()
            .copied()
            .cycle()
            .take(v * s.len().div_ceil(v))
            .collect()
    };
    let mut i = fill(salt);
    i.extend(fill(password));
    let mut out = Vec::with_capacity(len);
    loop {
        let mut a = D::new()
            .chain_update(vec![id; v])
            .chain_update(&i)
            .finalize();
        for _ in 1..iterations {
            a = D::digest(&a);
        }
        out.extend_from_slice(&a);
        if out.len() >= len {
            out.truncate(len);
            return out;
        }
        let b: Vec<u8> = a.iter().copied().cycle().take(v).collect();
        for block in i.chunks_mut(v) {
            // block = (block + b + 1) mod 2^(8v), big-endian.
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum as u8;
                carry = sum >> 8;
            }
        }
    }
}

#[cfg(test)]
mod tests;
