use super::*;
use crate::testing::{FakePlatform, FakeTime, env, query};
use crate::token::TokenRequest;

mod revocation;
mod sources;

fn request_for(
    options: ManagedIdentityOptions,
    vars: &[(&str, &str)],
) -> Result<crate::http::Request, Error> {
    flow(options, &env(vars))?.build_request(
        &crate::credential::FlowRequest::new(&TokenRequest::new(&[
            "https://vault.azure.net/.default",
        ])),
        &FakePlatform::new(&FakeTime::at(0)),
    )
}

#[test]
fn detection_follows_the_sdk_order() {
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Vars, Result<ManagedIdentitySource, ()>)] = &[
        (&[], Ok(ManagedIdentitySource::Imds)),
        (
            &[("IDENTITY_ENDPOINT", "http://e"), ("IDENTITY_HEADER", "h")],
            Ok(ManagedIdentitySource::AppService),
        ),
        (
            &[
                ("IDENTITY_ENDPOINT", "https://e"),
                ("IDENTITY_HEADER", "h"),
                ("IDENTITY_SERVER_THUMBPRINT", "ab"),
            ],
            Ok(ManagedIdentitySource::ServiceFabric),
        ),
        (
            &[
                ("IDENTITY_ENDPOINT", "http://e"),
                ("IMDS_ENDPOINT", "http://i"),
            ],
            Ok(ManagedIdentitySource::AzureArc),
        ),
        (
            &[("MSI_ENDPOINT", "http://m"), ("MSI_SECRET", "s")],
            Ok(ManagedIdentitySource::AzureMl),
        ),
        (
            &[("MSI_ENDPOINT", "http://m")],
            Ok(ManagedIdentitySource::CloudShell),
        ),
        (&[("IDENTITY_ENDPOINT", "http://e")], Err(())),
    ];
    for (vars, expected) in cases {
        assert_eq!(detect(&env(vars)).map_err(|_| ()), *expected, "{vars:?}");
    }
}

#[test]
fn imds_request_is_the_documented_one() {
    let r = request_for(ManagedIdentityOptions::default(), &[]).unwrap();
    assert!(
        r.url
            .starts_with("http://169.254.169.254/metadata/identity/oauth2/token?"),
        "{}",
        r.url
    );
    assert_eq!(r.header_value("Metadata"), Some("true"));
    assert_eq!(
        query(&r.url),
        [
            ("api-version".into(), "2018-02-01".into()),
            ("resource".into(), "https://vault.azure.net".into())
        ]
    );
}

#[test]
fn user_assigned_selectors_use_each_sources_spelling() {
    let ids = [
        (
            UserAssignedId::ClientId("c".into()),
            "client_id",
            "client_id",
        ),
        (
            UserAssignedId::ObjectId("o".into()),
            "object_id",
            "object_id",
        ),
        (
            UserAssignedId::ResourceId("/subscriptions/s/r".into()),
            "msi_res_id",
            "mi_res_id",
        ),
    ];
    let app_service = [
        ("IDENTITY_ENDPOINT", "http://127.0.0.1:4141/msi/token"),
        ("IDENTITY_HEADER", "h"),
    ];
    for (id, imds_name, app_name) in ids {
        let options = || ManagedIdentityOptions::default().user_assigned(id.clone());
        let imds = query(&request_for(options(), &[]).unwrap().url);
        assert_eq!(imds[2], (imds_name.to_string(), id.value().to_string()));
        let app = query(&request_for(options(), &app_service).unwrap().url);
        assert_eq!(app[2], (app_name.to_string(), id.value().to_string()));
    }
}

#[test]
fn app_service_request_carries_the_secret_header_and_api_version() {
    let r = request_for(
        ManagedIdentityOptions::default(),
        &[
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:4141/msi/token"),
            ("IDENTITY_HEADER", "hdr-secret"),
        ],
    )
    .unwrap();
    assert!(r.url.starts_with("http://127.0.0.1:4141/msi/token?"));
    assert_eq!(r.header_value("x-identity-header"), Some("hdr-secret"));
    assert_eq!(
        query(&r.url)[0],
        ("api-version".into(), "2019-08-01".into())
    );
    assert!(
        !flow(
            ManagedIdentityOptions::default(),
            &env(&[
                ("IDENTITY_ENDPOINT", "http://e"),
                ("IDENTITY_HEADER", "hdr-secret")
            ])
        )
        .unwrap()
        .describe()
        .contains("hdr-secret")
    );
}

#[test]
fn explicit_options_override_the_environment() {
    let vars = [
        ("IDENTITY_ENDPOINT", "http://e/msi"),
        ("IDENTITY_HEADER", "h"),
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://pod:1/"),
    ];
    let r = request_for(
        ManagedIdentityOptions::default().source(ManagedIdentitySource::Imds),
        &vars,
    )
    .unwrap();
    assert!(
        r.url
            .starts_with("http://pod:1/metadata/identity/oauth2/token?"),
        "{}",
        r.url
    );
    let r = request_for(
        ManagedIdentityOptions::default()
            .source(ManagedIdentitySource::Imds)
            .endpoint("http://127.0.0.1:9"),
        &vars,
    )
    .unwrap();
    assert!(
        r.url.starts_with("http://127.0.0.1:9/metadata/"),
        "{}",
        r.url
    );
}

#[test]
fn bad_configuration_is_invalid_input() {
    let missing_header = flow(
        ManagedIdentityOptions::default().source(ManagedIdentitySource::AppService),
        &env(&[("IDENTITY_ENDPOINT", "http://e")]),
    );
    assert!(matches!(missing_header, Err(Error::InvalidInput(m)) if m.contains("IDENTITY_HEADER")));
    let bad_endpoint = flow(
        ManagedIdentityOptions::default().endpoint("169.254.169.254"),
        &env(&[]),
    );
    assert!(matches!(bad_endpoint, Err(Error::InvalidInput(_))));
    let bad_id = flow(
        ManagedIdentityOptions::default().user_assigned(UserAssignedId::ClientId(" ".into())),
        &env(&[]),
    );
    assert!(matches!(bad_id, Err(Error::InvalidInput(_))));
}

#[test]
fn a_contradictory_environment_answers_unavailable_and_says_why() {
    match request_for(
        ManagedIdentityOptions::default(),
        &[("IDENTITY_ENDPOINT", "http://e")],
    ) {
        Err(Error::Unavailable(m)) => assert!(m.contains("IDENTITY_HEADER"), "{m}"),
        other => panic!("{other:?}"),
    }
}
