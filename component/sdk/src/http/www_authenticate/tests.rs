use super::*;
use ::http::HeaderValue;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`: what Key Vault
/// sends after a revocation. Its standard base64 holds `+`/`/` only with the right
/// bytes, so a JSON with `?>` (0x3f 0x3e) exercises both alphabets.
const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
const CLAIMS_WITH_63: &str = r#"{"access_token":{"xms_cc":{"values":["cp1"]},"note":"??>>"}}"#;

fn headers(values: &[&str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        map.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
    }
    map
}

fn cae(claims_param: &str) -> String {
    format!(
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", \
         error=\"insufficient_claims\", claims=\"{claims_param}\""
    )
}

#[test]
fn key_vaults_challenge_yields_its_claims() {
    let value = cae(&STANDARD.encode(CLAIMS));
    assert_eq!(
        claims_challenge(&headers(&[&value])).as_deref(),
        Some(CLAIMS)
    );
}

#[test]
fn either_alphabet_padded_or_not() {
    // The fixture really does need the two alphabets to differ.
    assert_ne!(
        STANDARD.encode(CLAIMS_WITH_63),
        URL_SAFE.encode(CLAIMS_WITH_63)
    );
    for encoded in [
        STANDARD.encode(CLAIMS_WITH_63),
        STANDARD_NO_PAD.encode(CLAIMS_WITH_63),
        URL_SAFE.encode(CLAIMS_WITH_63),
        URL_SAFE_NO_PAD.encode(CLAIMS_WITH_63),
    ] {
        assert_eq!(
            claims_challenge(&headers(&[&cae(&encoded)])).as_deref(),
            Some(CLAIMS_WITH_63),
            "{encoded}"
        );
    }
}

#[test]
fn scheme_param_names_and_error_value_are_case_insensitive() {
    let encoded = STANDARD.encode(CLAIMS);
    let value = format!("bEaReR Error=\"INSUFFICIENT_CLAIMS\", CLAIMS=\"{encoded}\", REALM=\"\"");
    assert_eq!(
        claims_challenge(&headers(&[&value])).as_deref(),
        Some(CLAIMS)
    );
    // A token rather than a quoted string is a valid auth-param value too.
    let bare = format!("Bearer error=insufficient_claims, claims=\"{encoded}\"");
    assert_eq!(
        claims_challenge(&headers(&[&bare])).as_deref(),
        Some(CLAIMS)
    );
}

#[test]
fn quoted_strings_keep_commas_equals_and_escapes() {
    let encoded = STANDARD.encode(CLAIMS);
    let value = format!(
        "Bearer realm=\"a, b=c\", error_description=\"say \\\"no\\\", twice\\\\\", \
         error=\"insufficient_claims\", claims=\"{encoded}\""
    );
    let parsed = parse(&value).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].param("realm"), Some("a, b=c"));
    assert_eq!(
        parsed[0].param("error_description"),
        Some("say \"no\", twice\\")
    );
    assert_eq!(
        claims_challenge(&headers(&[&value])).as_deref(),
        Some(CLAIMS)
    );
}

#[test]
fn several_challenges_in_one_header_or_in_several() {
    let encoded = STANDARD.encode(CLAIMS);
    let one = format!(
        "Basic realm=\"x\", PoP nonce=\"n\", Bearer error=\"insufficient_claims\", claims=\"{encoded}\", Negotiate abc=="
    );
    let parsed = parse(&one).unwrap();
    let schemes: Vec<_> = parsed.iter().map(|c| c.scheme.as_str()).collect();
    assert_eq!(schemes, ["Basic", "PoP", "Bearer", "Negotiate"]);
    assert_eq!(parsed[3].token68.as_deref(), Some("abc=="));
    assert_eq!(claims_challenge(&headers(&[&one])).as_deref(), Some(CLAIMS));

    let several = headers(&["Basic realm=\"x\"", "Negotiate", &cae(&encoded)]);
    assert_eq!(claims_challenge(&several).as_deref(), Some(CLAIMS));
    // A header that does not parse does not hide a good one.
    let with_junk = headers(&["Bearer realm=\"never closed", &cae(&encoded)]);
    assert_eq!(claims_challenge(&with_junk).as_deref(), Some(CLAIMS));
}

#[test]
fn anything_else_is_not_a_claims_challenge() {
    let encoded = STANDARD.encode(CLAIMS);
    let not_json = STANDARD.encode("not json");
    let array = STANDARD.encode("[1,2]");
    let latin1 = STANDARD.encode([0xe9u8, b'{', b'}']);
    let cases = [
        // No error, or another error: the Python ARM policy would retry, we do not.
        format!("Bearer realm=\"\", claims=\"{encoded}\""),
        format!("Bearer error=\"invalid_token\", claims=\"{encoded}\""),
        // Not Bearer.
        format!("PoP error=\"insufficient_claims\", claims=\"{encoded}\""),
        // No claims, empty claims, claims that are not base64 of a UTF-8 JSON object.
        "Bearer error=\"insufficient_claims\"".to_string(),
        "Bearer error=\"insufficient_claims\", claims=\"\"".to_string(),
        cae("%%%not-base64%%%"),
        cae(&format!("{encoded} ")),
        cae(CLAIMS_WITH_63.replace('"', "").as_str()),
        cae(&not_json),
        cae(&array),
        cae(&latin1),
        // Both alphabets at once.
        cae("ab+_"),
        // Ambiguous: a parameter named twice.
        format!("{}, claims=\"{encoded}\"", cae(&encoded)),
        format!("{}, ERROR=\"invalid_token\"", cae(&encoded)),
        // Malformed headers.
        format!("Bearer error=\"insufficient_claims\" claims=\"{encoded}\""),
        format!("Bearer error=\"insufficient_claims\", claims=\"{encoded}"),
        "=".to_string(),
        ",".to_string(),
        String::new(),
    ];
    for value in &cases {
        let map = if value.is_empty() {
            HeaderMap::new()
        } else {
            headers(&[value])
        };
        assert_eq!(claims_challenge(&map), None, "{value}");
    }
}

#[test]
fn only_a_401_is_retried() {
    let value = cae(&STANDARD.encode(CLAIMS));
    let answer = |status: u16| {
        Response::builder()
            .status(status)
            .header(WWW_AUTHENTICATE, &value)
            .body(())
            .unwrap()
    };
    assert_eq!(claims_to_retry(&answer(401)).as_deref(), Some(CLAIMS));
    assert_eq!(claims_to_retry(&answer(403)), None);
    assert_eq!(claims_to_retry(&answer(200)), None);
}

#[test]
fn a_wasi_http_field_list_is_read_as_its_header_map() {
    let value = cae(&STANDARD.encode(CLAIMS));
    let fields = |value: &[u8]| vec![("WWW-Authenticate".to_string(), value.to_vec())];
    assert_eq!(
        claims_to_retry_in_fields(401, &fields(value.as_bytes())).as_deref(),
        Some(CLAIMS)
    );
    assert_eq!(
        claims_to_retry_in_fields(403, &fields(value.as_bytes())),
        None
    );
    assert_eq!(
        claims_to_retry_in_fields(401, &fields(b"bad\nvalue\x00")),
        None
    );
    assert_eq!(claims_to_retry_in_fields(401, &[]), None);
}

#[test]
fn parser_edge_cases() {
    assert_eq!(parse(""), Err(Malformed));
    assert_eq!(parse(" , ,"), Err(Malformed));
    let bare = parse("Bearer").unwrap();
    assert_eq!(
        (bare[0].scheme.as_str(), bare[0].params.len()),
        ("Bearer", 0)
    );
    let spaced = parse("Bearer   realm =  \"r\" ,  , error= x").unwrap();
    assert_eq!(spaced[0].param("realm"), Some("r"));
    assert_eq!(spaced[0].param("error"), Some("x"));
    // A param after a token68 is not part of the grammar.
    assert_eq!(parse("Basic abc=, realm=\"x\""), Err(Malformed));
    // A trailing backslash inside quotes never closes the string.
    assert_eq!(parse("Bearer realm=\"x\\"), Err(Malformed));
}
