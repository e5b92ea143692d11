use super::*;

fn claims(raw: Value) -> Claims {
    let mut claims = Claims::new("tenant-1");
    claims.oid = raw["oid"].as_str().map(Into::into);
    claims.sub = raw["sub"].as_str().map(Into::into);
    claims.raw = raw.to_string();
    claims
}

fn header<'a>(headers: &'a Headers, name: &str) -> Vec<&'a str> {
    (headers.iter())
        .filter(|(n, _)| n == name)
        .map(|(_, v)| std::str::from_utf8(v).unwrap())
        .collect()
}

fn principal(headers: &Headers) -> Value {
    let encoded = header(headers, "x-ms-client-principal");
    assert_eq!(encoded.len(), 1, "{headers:?}");
    serde_json::from_slice(&STANDARD.decode(encoded[0]).unwrap()).unwrap()
}

#[test]
fn a_user_gets_id_name_idp_and_the_principal_with_every_claim() {
    let user = claims(json!({
        "oid": "oid-1", "sub": "sub-1", "tid": "tenant-1", "name": "Ada",
        "preferred_username": "ada@contoso.com", "roles": ["A", "B"], "exp": 1700000000,
    }));
    let headers = request_headers(vec![("accept".into(), b"*/*".to_vec())], &user);
    assert_eq!(header(&headers, "accept"), ["*/*"]);
    assert_eq!(header(&headers, "x-ms-client-principal-id"), ["oid-1"]);
    assert_eq!(
        header(&headers, "x-ms-client-principal-name"),
        ["ada@contoso.com"]
    );
    assert_eq!(header(&headers, "x-ms-client-principal-idp"), ["aad"]);
    let principal = principal(&headers);
    assert_eq!(principal["auth_typ"], "aad");
    assert_eq!(principal["name_typ"], "preferred_username");
    assert_eq!(principal["role_typ"], "roles");
    let claims = principal["claims"].as_array().unwrap();
    for (typ, val) in [
        ("roles", "A"),
        ("roles", "B"),
        ("exp", "1700000000"),
        ("oid", "oid-1"),
    ] {
        assert!(
            claims.contains(&json!({"typ": typ, "val": val})),
            "{typ}={val} in {claims:?}"
        );
    }
}

#[test]
fn an_app_only_caller_is_named_by_its_app_id_and_identified_by_sub_without_oid() {
    let app = claims(json!({"sub": "sub-2", "appid": "app-2", "tid": "tenant-1"}));
    let headers = request_headers(Vec::new(), &app);
    assert_eq!(header(&headers, "x-ms-client-principal-id"), ["sub-2"]);
    assert_eq!(header(&headers, "x-ms-client-principal-name"), ["app-2"]);
    assert_eq!(principal(&headers)["name_typ"], "appid");
}

#[test]
fn principal_headers_the_caller_sent_are_removed_in_any_case() {
    let forged = vec![
        ("X-MS-CLIENT-PRINCIPAL-ID".to_string(), b"admin".to_vec()),
        ("x-Ms-Client-Principal".to_string(), b"e30=".to_vec()),
        ("x-ms-client-principal-whatever".to_string(), b"x".to_vec()),
        ("x-ms-client".to_string(), b"kept".to_vec()),
    ];
    let headers = request_headers(forged, &claims(json!({"oid": "oid-3"})));
    // Independent of `is_principal_header`: every name, lower-cased.
    let principal_headers: Vec<_> = (headers.iter())
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-ms-client-principal"))
        .map(|(n, v)| (n.as_str(), std::str::from_utf8(v).unwrap()))
        .collect();
    assert_eq!(principal_headers.len(), 3, "{principal_headers:?}");
    assert!(principal_headers.contains(&("x-ms-client-principal-id", "oid-3")));
    assert_eq!(header(&headers, "x-ms-client"), ["kept"]);
}
