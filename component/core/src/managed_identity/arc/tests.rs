//! Azure Arc end to end through the credential: the challenge round trip and every
//! way a challenge or key file can be wrong.

use super::*;
use crate::managed_identity::*;
use crate::testing::*;
use std::time::Duration;

const DIR: &str = "/arc/tokens";
const KEY: &str = "arc-key-0123456789abcdef";
const SCOPE: &str = "https://vault.azure.net/.default";

fn arc(id: Option<UserAssignedId>) -> Rig {
    let flow = flow_with(
        {
            let mut v = ManagedIdentityOptions::default().arc_token_directory(DIR);
            v.user_assigned = id;
            v
        },
        SourceSettings::default(),
        &env(&[
            (
                "IDENTITY_ENDPOINT",
                "http://127.0.0.1:40342/metadata/identity/oauth2/token",
            ),
            ("IMDS_ENDPOINT", "http://127.0.0.1:40342"),
        ]),
    )
    .unwrap();
    Rig::new(flow)
}

fn challenge(realm: &str) -> Reply {
    with_header(
        json(
            401,
            r#"{"error":"unauthorized_client","error_description":"Missing Basic Authorization header","error_codes":[401]}"#,
        ),
        "WWW-Authenticate",
        realm,
    )
}

type Reply = Result<crate::http::Response, crate::platform::TransportError>;

#[test]
fn the_challenge_is_answered_with_the_key_file() {
    let rig = arc(None);
    rig.files.write(&format!("{DIR}/abc.key"), KEY);
    rig.transport
        .then(challenge(&format!("Basic realm={DIR}/abc.key")))
        .then(token_body("arc-tok", T0, 86_400));
    assert_eq!(rig.get(SCOPE).unwrap().secret(), "arc-tok");
    let sent = rig.sent();
    assert_eq!(sent.len(), 2);
    for r in &sent {
        assert_eq!(r.method, crate::http::Method::Get);
        assert!(
            r.url
                .starts_with("http://127.0.0.1:40342/metadata/identity/oauth2/token?")
        );
        assert_eq!(
            query(&r.url),
            [
                ("api-version".into(), "2020-06-01".into()),
                ("resource".into(), "https://vault.azure.net".into())
            ]
        );
        assert_eq!(r.header_value("Metadata"), Some("true"));
    }
    assert_eq!(sent[0].header_value("Authorization"), None);
    assert_eq!(
        sent[1].header_value("authorization"),
        Some(format!("Basic {KEY}").as_str())
    );
    assert!(!format!("{:?}", sent[1]).contains(KEY));
    // Cached: no third request.
    rig.get(SCOPE).unwrap();
    assert_eq!(rig.transport.count(), 2);
}

#[test]
fn the_key_never_appears_in_errors() {
    let rig = arc(None);
    rig.files.write(&format!("{DIR}/abc.key"), KEY);
    rig.transport
        .then(challenge(&format!("basic realm=\"{DIR}/abc.key\"")))
        .then(json(
            401,
            &format!(r#"{{"error":"unauthorized_client","error_description":"bad key {KEY}"}}"#),
        ));
    let e = rig.get(SCOPE).unwrap_err();
    assert!(
        matches!(&e, Error::AuthenticationFailed(s) if s.status == 401),
        "{e:?}"
    );
    assert!(!shown(&e).contains(KEY), "{e}");
    assert!(!rig.credential.describe().contains(KEY));
}

#[test]
fn bad_challenges_are_refused_before_any_file_is_read() {
    let big = "k".repeat(4097);
    let cases: &[(&str, &str)] = &[
        ("Basic realm=/etc/passwd.key", "outside"),
        ("Basic realm=/arc/tokens/../../etc/x.key", ".."),
        ("Basic realm=/arc/tokens/sub/x.key", "outside"),
        ("Basic realm=/arc/tokens/x.txt", ".key"),
        ("Basic realm=/arc/tokens/.key", ".key"),
        ("Basic realm=arc/tokens/x.key", "outside"),
        ("Bearer realm=/arc/tokens/x.key", "Basic"),
        ("Basic realm=/arc/tokens/link.key", "symbolic link"),
        ("Basic realm=/arc/tokens/big.key", "larger than 4096"),
        ("Basic realm=/arc/tokens/missing.key", "no such file"),
    ];
    for (realm, why) in cases {
        let rig = arc(None);
        rig.files.write("/etc/passwd.key", "root");
        rig.files.write("/etc/x.key", "root");
        rig.files.write("/arc/tokens/x.txt", "k");
        rig.files.symlink("/arc/tokens/link.key");
        rig.files.write("/arc/tokens/big.key", &big);
        rig.transport.then(challenge(realm));
        match rig.get(SCOPE) {
            Err(Error::InvalidResponse(m)) => assert!(m.contains(why), "{realm}: {m}"),
            other => panic!("{realm}: {other:?}"),
        }
        assert_eq!(rig.transport.count(), 1, "{realm}: no second request");
        assert_eq!(rig.files.reads.get(), 0, "{realm}: nothing read");
    }
}

#[test]
fn a_401_without_a_challenge_header_is_an_invalid_response() {
    let rig = arc(None);
    rig.transport.then(json(401, "{}"));
    assert!(
        matches!(rig.get(SCOPE), Err(Error::InvalidResponse(m)) if m.contains("WWW-Authenticate"))
    );
}

#[test]
fn an_unreadable_key_says_what_the_host_must_do() {
    let rig = arc(None);
    rig.files.unreadable(&format!("{DIR}/abc.key"));
    rig.transport
        .then(challenge(&format!("Basic realm={DIR}/abc.key")));
    assert!(matches!(rig.get(SCOPE), Err(Error::InvalidInput(m)) if m.contains("himds")));

    struct NoFiles;
    impl crate::platform::Platform for NoFiles {
        fn now_unix(&self) -> u64 {
            T0
        }
        fn monotonic(&self) -> Duration {
            Duration::ZERO
        }
        fn sleep(&self, _: Duration) {}
        fn random_u64(&self) -> u64 {
            0
        }
    }
    let e = arc_key::read_key(&NoFiles, "/arc/tokens/a.key", DIR).unwrap_err();
    assert!(
        matches!(&e, Error::Unavailable(m) if m.contains("read access to /arc/tokens")),
        "{e:?}"
    );
}

#[test]
fn a_user_assigned_identity_must_be_echoed_or_the_token_is_discarded() {
    let body = |extra: &str| {
        json(
            200,
            &format!(
                r#"{{"access_token":"uami-tok","expires_in":"3600","token_type":"Bearer"{extra}}}"#
            ),
        )
    };
    let ids = [
        (
            UserAssignedId::ClientId("AbC-1".into()),
            "client_id",
            r#","client_id":"abc-1""#,
        ),
        (
            UserAssignedId::ObjectId("oid-1".into()),
            "object_id",
            r#","object_id":"OID-1""#,
        ),
        (
            UserAssignedId::ResourceId("/subscriptions/s/rg/r".into()),
            "msi_res_id",
            r#","mi_res_id":"/SUBSCRIPTIONS/s/rg/r""#,
        ),
    ];
    for (id, param, echo) in ids {
        let rig = arc(Some(id.clone()));
        rig.files.write(&format!("{DIR}/k.key"), KEY);
        let realm = format!("Basic realm={DIR}/k.key");
        rig.transport.then(challenge(&realm)).then(body(echo));
        assert_eq!(rig.get(SCOPE).unwrap().secret(), "uami-tok", "{id}");
        assert_eq!(
            query(&rig.sent()[0].url)[2],
            (param.to_string(), id.value().to_string())
        );

        // A legacy agent answers with the system identity and echoes nothing (or another).
        for wrong in ["", r#","client_id":"someone-else""#] {
            let rig = arc(Some(id.clone()));
            rig.files.write(&format!("{DIR}/k.key"), KEY);
            rig.transport.then(challenge(&realm)).then(body(wrong));
            match rig.get(SCOPE) {
                Err(Error::InvalidResponse(m)) => assert!(m.contains("without confirming"), "{m}"),
                other => panic!("{id}: {other:?}"),
            }
            // Nothing was cached: the next call asks again.
            rig.transport.then(challenge(&realm)).then(body(echo));
            assert!(rig.get(SCOPE).is_ok());
            assert_eq!(rig.transport.count(), 4);
        }
    }
}
