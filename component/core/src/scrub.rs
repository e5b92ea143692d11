//! Removing secrets from text a service or proxy sent back.
//!
//! An echo of a request does not always quote a secret verbatim: a query string or
//! form body carries it percent-encoded (`~` as `%7E`, space as `+`, hex in either
//! case), and an `Authorization: Basic` header or a logged body carries it in base64,
//! standard or URL-safe, padded or not, at any byte offset inside a longer value.
//! Every such form is replaced, and callers scrub before they shorten text, so a
//! secret cut in half by a length limit cannot leave its prefix behind.

// Runs over whatever a service sent: no input may panic or overflow here.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";
/// Shorter values are not scrubbed: replacing every `a` would make text unreadable,
/// and no real secret is that short.
const MIN_SECRET: usize = 4;
/// A base64 piece of a secret shorter than this is not looked for: a short run of
/// base64 characters matches ordinary words too often.
const MIN_BASE64_PIECE: usize = 8;

/// `text` with every form of every secret replaced by [`REDACTED`].
pub fn scrub<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().map(AsRef::as_ref) {
        if secret.len() < MIN_SECRET {
            continue;
        }
        for needle in forms(secret.as_bytes()) {
            out = replace_encoded(&out, needle.as_bytes());
        }
    }
    out
}

/// The secret itself, then its base64 encodings: whole (padded and not), then the
/// characters that only the secret's bits decide at each of the three alignments in
/// a longer encoded value. Longest first, so a whole encoding is replaced as one.
fn forms(secret: &[u8]) -> Vec<String> {
    let mut forms = vec![String::from_utf8_lossy(secret).into_owned()];
    for engine in [&STANDARD, &URL_SAFE] {
        forms.push(engine.encode(secret));
    }
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for offset in 0..3usize {
            let mut shifted = vec![0u8; offset];
            shifted.extend_from_slice(secret);
            let encoded = engine.encode(&shifted);
            // Characters before `first` hold bits of the bytes in front; from `last`
            // on, bits of the bytes after (or padding bits).
            let bits = |bytes: usize| bytes.saturating_mul(8);
            let first = bits(offset).div_ceil(6);
            let last = bits(shifted.len()) / 6;
            if let Some(piece) = encoded.get(first..last)
                && piece.len() >= MIN_BASE64_PIECE
            {
                forms.push(piece.to_string());
            }
            if offset == 0 {
                // Alone, the last character is the secret's too.
                forms.push(encoded);
            }
        }
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

/// Replaces each occurrence of `needle` in `text`, where any byte may also appear
/// percent-encoded (either hex case) and a space as `+`.
fn replace_encoded(text: &str, needle: &[u8]) -> String {
    let hay = text.as_bytes();
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while let Some(rest) = hay.get(i..) {
        let Some(&first) = rest.first() else { break };
        match match_at(rest, needle) {
            Some(len) => {
                out.extend_from_slice(REDACTED.as_bytes());
                i = i.saturating_add(len);
            }
            None => {
                out.push(first);
                i = i.saturating_add(1);
            }
        }
    }
    // A match starts and ends on character boundaries (it begins with the secret's
    // first byte or an ASCII `%`, and ends after a whole secret), so this is UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The length in `hay` of an encoded `needle` starting at its first byte.
fn match_at(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let mut i = 0usize;
    for &want in needle {
        let got = *hay.get(i)?;
        let escaped = hay
            .get(i.saturating_add(1)..i.saturating_add(3))
            .filter(|_| got == b'%');
        let step = match escaped {
            Some(hex) if decode_hex(hex) == Some(want) => 3,
            _ if got == want => 1,
            _ if got == b'+' && want == b' ' => 1,
            _ => return None,
        };
        i = i.saturating_add(step);
    }
    Some(i)
}

fn decode_hex(hex: &[u8]) -> Option<u8> {
    let s = std::str::from_utf8(hex).ok()?;
    u8::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr~t/va+lue 42=";

    #[test]
    fn raw_and_percent_encoded_forms_are_replaced() {
        let form: String = form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
        assert!(form.contains("%7E") && form.contains('+'), "{form}");
        for echo in [
            SECRET.to_string(),
            form.clone(),
            // Hex in lower case.
            form.to_ascii_lowercase(),
            form.replace("%7E", "%7e"),
            // encodeURIComponent style: `~` kept, space as %20.
            "s3cr~t%2Fva%2Blue%2042%3D".to_string(),
        ] {
            let out = scrub(&format!("before {echo} after"), &[SECRET]);
            assert_eq!(out, format!("before {REDACTED} after"), "{echo}");
        }
    }

    #[test]
    fn base64_forms_are_replaced_at_every_alignment() {
        for engine in [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            for prefix in ["", "u:", "ab:"] {
                let encoded = engine.encode(format!("{prefix}{SECRET}"));
                let out = scrub(&format!("Basic {encoded}"), &[SECRET]);
                assert!(out.contains(REDACTED), "{prefix:?} {encoded} -> {out}");
                // At most the characters shared with the neighbouring bytes remain.
                let left = out.replace("Basic ", "").replace(REDACTED, "");
                assert!(left.len() <= 6, "{encoded} -> {out}");
            }
        }
    }

    #[test]
    fn short_secrets_and_unrelated_text_are_left_alone() {
        assert_eq!(scrub("a b c", &["", "a"]), "a b c");
        assert_eq!(scrub("100% done, 50%", &[SECRET]), "100% done, 50%");
        assert_eq!(scrub("naïve ☃ text", &["ï ☃x"]), "naïve ☃ text");
        assert_eq!(
            scrub("naïve ☃ text", &["ve ☃ t"]),
            format!("naï{REDACTED}ext")
        );
    }
}
