//! The endpoint over real loopback HTTP, answered by stand-in tools run as processes.

use super::*;
use crate::dev_tools::DeveloperTool;
use entra_test_support::Logs;
use entra_test_support::dev_tools::StandIns;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.developer-token.sig";
const EXPIRES_ON: u64 = 4_102_444_800; // 2100-01-01

struct Answer {
    status: u16,
    body: serde_json::Value,
}

async fn get(endpoint: &DevEndpoint, query: &str, secret: Option<&str>) -> Answer {
    let mut stream = TcpStream::connect(endpoint.local_addr()).await.unwrap();
    let header = secret
        .map(|s| format!("{SECRET_HEADER}: {s}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {PATH}?{query} HTTP/1.1\r\nhost: localhost\r\n{header}connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw.split("\r\n\r\n").nth(1).unwrap();
    Answer {
        status,
        body: serde_json::from_str(body).unwrap(),
    }
}

fn secret_of(endpoint: &DevEndpoint) -> String {
    endpoint.env()[1].1.clone()
}

fn endpoint(tools: &StandIns) -> DevEndpoint {
    DevEndpoint::start(DevToolsOptions::default().path(tools.path()), 0).unwrap()
}

const VAULT: &str = "api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net";

#[tokio::test]
async fn a_request_with_the_secret_gets_the_signed_in_tools_token_in_app_service_shape() {
    let tools = StandIns::new();
    tools.az_signed_in(TOKEN, EXPIRES_ON);
    let endpoint = endpoint(&tools);
    let answer = get(&endpoint, VAULT, Some(&secret_of(&endpoint))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        serde_json::json!({
            "access_token": TOKEN,
            "expires_on": EXPIRES_ON.to_string(),
            "resource": "https://vault.azure.net",
            "token_type": "Bearer",
        })
    );
    assert_eq!(
        tools.calls(),
        ["az account get-access-token --output json --resource https://vault.azure.net"]
    );
}

#[tokio::test]
async fn the_first_tool_signed_in_answers_and_is_the_only_one_asked_after() {
    let tools = StandIns::new();
    tools.az_signed_out();
    tools.azd_signed_in(TOKEN, EXPIRES_ON);
    let endpoint = endpoint(&tools);
    let secret = secret_of(&endpoint);
    let answer = get(&endpoint, VAULT, Some(&secret)).await;
    assert_eq!(
        (answer.status, &answer.body["expires_on"]),
        (200, &serde_json::json!(EXPIRES_ON.to_string()))
    );
    let storage = "api-version=2019-08-01&resource=https%3A%2F%2Fstorage.azure.com";
    assert_eq!(get(&endpoint, storage, Some(&secret)).await.status, 200);
    let tools_asked: Vec<String> = tools
        .calls()
        .iter()
        .map(|call| call.split(' ').next().unwrap().to_string())
        .collect();
    // pwsh is missing (not on PATH), so it never logs.
    assert_eq!(tools_asked, ["az", "azd", "azd"]);
}

#[tokio::test]
async fn a_token_is_asked_for_once_until_its_refresh_time() {
    let tools = StandIns::new();
    tools.az_signed_in(TOKEN, EXPIRES_ON);
    let endpoint = endpoint(&tools);
    let secret = secret_of(&endpoint);
    for _ in 0..3 {
        assert_eq!(get(&endpoint, VAULT, Some(&secret)).await.status, 200);
    }
    assert_eq!(tools.calls().len(), 1);
}

#[tokio::test]
async fn requests_without_the_secret_or_selecting_an_identity_are_refused_before_any_tool_runs() {
    let tools = StandIns::new();
    tools.az_signed_in(TOKEN, EXPIRES_ON);
    let endpoint = endpoint(&tools);
    assert_eq!(get(&endpoint, VAULT, None).await.status, 401);
    assert_eq!(get(&endpoint, VAULT, Some("guess")).await.status, 401);
    let with_client_id = format!("{VAULT}&client_id=00000000-0000-0000-0000-000000000001");
    let answer = get(&endpoint, &with_client_id, Some(&secret_of(&endpoint))).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("client_id"),
        "{}",
        answer.body
    );
    let old_version = "api-version=2017-09-01&resource=https%3A%2F%2Fvault.azure.net";
    assert_eq!(
        get(&endpoint, old_version, Some(&secret_of(&endpoint)))
            .await
            .status,
        400
    );
    let option_like = "api-version=2019-08-01&resource=--help";
    assert_eq!(
        get(&endpoint, option_like, Some(&secret_of(&endpoint)))
            .await
            .status,
        400
    );
    assert!(tools.calls().is_empty(), "{:?}", tools.calls());
}

#[tokio::test]
async fn with_no_tool_signed_in_the_answer_gives_each_tools_own_advice() {
    let tools = StandIns::new();
    tools.az_signed_out();
    tools.azd_signed_out();
    let endpoint = endpoint(&tools);
    let answer = get(&endpoint, VAULT, Some(&secret_of(&endpoint))).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "no developer tool is signed in: Azure CLI (az) is not signed in: run `az login`; \
         Azure PowerShell (pwsh): the executable is not installed or not on PATH; \
         Azure Developer CLI (azd) is not signed in: run `azd auth login`"
    );
}

#[tokio::test]
async fn it_listens_on_loopback_only_and_neither_logs_nor_debug_print_a_token_or_the_secret() {
    let logs = Logs::everywhere("entra_identity_host=trace");
    let tools = StandIns::new();
    tools.az_signed_in(TOKEN, EXPIRES_ON);
    let options = DevToolsOptions::default()
        .path(tools.path())
        .tools([DeveloperTool::AzureCli]);
    let endpoint = DevEndpoint::start(options, 0).unwrap();
    assert!(endpoint.local_addr().ip().is_loopback());
    let secret = secret_of(&endpoint);
    assert_eq!(get(&endpoint, VAULT, Some(&secret)).await.status, 200);
    assert!(
        logs.text().contains("served a developer token"),
        "{}",
        logs.text()
    );
    let debug = format!("{endpoint:?}");
    for text in [logs.text(), debug] {
        assert!(!text.contains(TOKEN) && !text.contains(&secret), "{text}");
    }
}
