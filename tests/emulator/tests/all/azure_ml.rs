use entra_emulator::{EmulatorConfig, Endpoint};

use crate::support::get;
use crate::{MANAGEMENT, start_with};

fn target(client_id: &str) -> String {
    format!("/ml/msi/token?api-version=2017-09-01&resource={MANAGEMENT}&clientid={client_id}")
}

#[tokio::test]
async fn secret_and_client_id_yield_a_token() {
    let emulator = start_with(EmulatorConfig {
        ml_secret: "ml-secret".to_owned(),
        ..EmulatorConfig::default()
    })
    .await;
    assert!(emulator.azure_ml_endpoint().ends_with("/ml/msi/token"));
    assert_eq!(emulator.azure_ml_secret(), "ml-secret");
    let sami = emulator.system_assigned().client_id.clone();
    let uami = emulator.user_assigned()[0].client_id.clone();
    for client_id in [&sami, &uami] {
        let response = get(
            emulator.addr(),
            &target(client_id),
            &[("secret", "ml-secret")],
        )
        .await;
        assert_eq!(response.status, 200, "{}", response.text());
        let body = response.json();
        let mut fields: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["access_token", "expires_on", "resource", "token_type"]
        );
        assert!(body["expires_on"].as_str().unwrap().parse::<u64>().is_ok());
        let claims = crate::signing::claims(body["access_token"].as_str().unwrap());
        assert_eq!(claims["appid"], client_id.as_str());
    }

    for (target, headers, status) in [
        (target(&sami), &[("secret", "wrong")][..], 401),
        (target(&sami), &[][..], 401),
        (target("someone-else"), &[("secret", "ml-secret")][..], 400),
        (
            format!("/ml/msi/token?api-version=2017-09-01&resource={MANAGEMENT}"),
            &[("secret", "ml-secret")][..],
            400,
        ),
        (
            format!("/ml/msi/token?api-version=2019-08-01&resource={MANAGEMENT}&clientid={sami}"),
            &[("secret", "ml-secret")][..],
            400,
        ),
    ] {
        let response = get(emulator.addr(), &target, headers).await;
        assert_eq!(response.status, status, "{target}: {}", response.text());
        let body = response.json();
        assert!(body["error"].is_string() && body["message"].is_string());
    }
    assert_eq!(emulator.count(Endpoint::AzureMl), 7);
}
