//! `entra-identity dev-endpoint`: what it prints, and that what it prints works.

use crate::entra_identity;
use entra_test_support::dev_tools::StandIns;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn dev_endpoint_prints_the_two_variables_and_answers_with_the_az_token() {
    let tools = StandIns::new();
    tools.az_signed_in("token-from-az-login", 4_102_444_800);
    let mut child = Running(
        entra_identity()
            .args(["dev-endpoint", "--tool", "az"])
            .env("PATH", tools.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut variable = |name: &str| {
        let line = lines.next().unwrap().unwrap();
        line.strip_prefix(&format!("export {name}="))
            .unwrap_or_else(|| panic!("{line:?} exports {name}"))
            .to_string()
    };
    let endpoint = variable("IDENTITY_ENDPOINT");
    let secret = variable("IDENTITY_HEADER");
    let rest = endpoint
        .strip_prefix("http://127.0.0.1:")
        .expect("a loopback URL");
    let (port, path) = rest.split_once('/').unwrap();

    let mut stream = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
    write!(
        stream,
        "GET /{path}?api-version=2019-08-01&resource=https://vault.azure.net HTTP/1.1\r\n\
         host: localhost\r\nx-identity-header: {secret}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(r#""access_token":"token-from-az-login""#),
        "{answer}"
    );
    assert_eq!(tools.calls().len(), 1);
}
