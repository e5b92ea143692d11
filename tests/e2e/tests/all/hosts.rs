//! Which published artifact runs in which host nobody here wrote, decided from what
//! each artifact imports and what each host provides, and held to the table in
//! `examples/README.md` ("Which artifact runs where"): a cell saying `yes` must be
//! true, and a cell saying anything else must name what is missing, so the table
//! cannot drift from the artifacts.
//!
//! The `wasmtime serve` list is also checked against a real wasmtime 48 linker set up
//! the way `wasmtime serve -Scli` sets up its own: the list and the linker must agree
//! on every artifact.

use crate::examples::example;
use entra_identity_host::COMPONENT_WASM;
use entra_identity_host::serve::{
    Inbound, STANDALONE_WASM, compose, compose_inbound, compose_standalone,
};
use examples_imports_check::{in_package, interfaces, parse_list, satisfies};
use std::path::{Path, PathBuf};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A host: the interfaces it provides, and whether it only runs HTTP handlers.
struct Host {
    column: &'static str,
    provides: Vec<String>,
    /// Spin satisfies `entra:identity` with the component declared as a dependency.
    satisfies_entra_identity: bool,
    serves_http_only: bool,
}

impl Host {
    fn from_list(column: &'static str, file: &str) -> Host {
        let path = examples_dir().join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Host {
            column,
            provides: parse_list(&text).into_iter().map(String::from).collect(),
            satisfies_entra_identity: false,
            serves_http_only: false,
        }
    }

    /// What `artifact` needs that this host lacks, as `ns:pkg@major.minor` labels, and
    /// "not an HTTP handler" where the host only serves handlers.
    fn lacks(&self, artifact: &Artifact) -> Vec<String> {
        let found = interfaces(&artifact.bytes).expect("a component");
        let mut lacking: Vec<String> = Vec::new();
        for import in &found.imports {
            let provided = self.provides.iter().any(|p| satisfies(import, p))
                || (self.satisfies_entra_identity && in_package(import, "entra:identity", "0.1.0"));
            let label = package_label(import);
            if !provided && !lacking.contains(&label) {
                lacking.push(label);
            }
        }
        let handler = found.exports.iter().any(|e| {
            satisfies(e, "wasi:http/incoming-handler@0.2.0")
                || satisfies(e, "wasi:http/handler@0.3.0")
        });
        if self.serves_http_only && artifact.app && !handler {
            lacking.push("not an HTTP handler".into());
        }
        lacking
    }
}

/// `wasi:keyvalue/store@0.2.0-draft2` → `wasi:keyvalue@0.2`.
fn package_label(import: &str) -> String {
    let (name, version) = import.split_once('@').unwrap_or((import, ""));
    let package = name.split('/').next().unwrap_or(name);
    let mut parts = version.split(['.', '-']);
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{package}@{major}.{minor}"),
        _ => package.to_string(),
    }
}

fn hosts() -> Vec<Host> {
    let mut spin = Host::from_list("Spin 4.1", "spin-4.1-imports.txt");
    spin.satisfies_entra_identity = true;
    spin.serves_http_only = true;
    let mut serve = Host::from_list(
        "`wasmtime serve` 48 (`-Scli`)",
        "wasmtime-serve-48-imports.txt",
    );
    serve.serves_http_only = true;
    let node = Host::from_list(
        "Node.js (jco + preview2-shim)",
        "jco-preview2-shim-imports.txt",
    );
    vec![spin, serve, node]
}

/// An artifact named as the table's first column names it.
struct Artifact {
    row: &'static str,
    bytes: Vec<u8>,
    /// Run on its own (an app or a plugin), not only imported by one.
    app: bool,
}

fn artifacts() -> Vec<Artifact> {
    let app = |row, bytes| Artifact {
        row,
        bytes,
        app: true,
    };
    vec![
        Artifact {
            row: "`entra_identity.wasm`, the component",
            bytes: COMPONENT_WASM.to_vec(),
            app: false,
        },
        app("`spin-call-azure`", example("spin-call-azure")),
        app(
            "`spin-call-azure`, composed",
            compose(&example("spin-call-azure"), COMPONENT_WASM).unwrap(),
        ),
        app(
            "`spin-call-azure`, composed `--standalone`",
            standalone(&example("spin-call-azure")),
        ),
        app("`spin-protected-api`", example("spin-protected-api")),
        app(
            "`spin-protected-api`, composed",
            compose(&example("spin-protected-api"), COMPONENT_WASM).unwrap(),
        ),
        app("`wasi-http-token`", example("wasi-http-token")),
        app(
            "`wasi-http-token`, composed",
            compose(&example("wasi-http-token"), COMPONENT_WASM).unwrap(),
        ),
        app(
            "`wasi-http-token`, composed `--standalone`",
            standalone(&example("wasi-http-token")),
        ),
        app("`wasmtime-plugin-guest`", example("wasmtime-plugin-guest")),
        app("`echo-headers`, composed `--inbound`", inbound(None)),
        app(
            "`echo-headers`, composed `--inbound --standalone`",
            inbound(Some(STANDALONE_WASM)),
        ),
    ]
}

fn inbound(adapter: Option<&[u8]>) -> Vec<u8> {
    let inbound = Inbound::new("contoso.onmicrosoft.com", &["api://echo"]);
    compose_inbound(&example("echo-headers"), COMPONENT_WASM, adapter, &inbound).unwrap()
}

fn standalone(app: &[u8]) -> Vec<u8> {
    compose_standalone(app, COMPONENT_WASM, STANDALONE_WASM).unwrap()
}

/// The rows of the table under "Which artifact runs where": header cells, then rows.
fn readme_table() -> (Vec<String>, Vec<Vec<String>>) {
    let readme = std::fs::read_to_string(examples_dir().join("README.md")).unwrap();
    let section = readme
        .split("## Which artifact runs where")
        .nth(1)
        .expect("examples/README.md has a section \"Which artifact runs where\"");
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut lines = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'));
    let header = cells(lines.next().expect("a header row"));
    let rows = lines.skip(1).map(cells).collect();
    (header, rows)
}

#[test]
fn the_examples_readme_says_truly_which_artifact_runs_where() {
    let hosts = hosts();
    let (header, rows) = readme_table();
    let columns: Vec<&str> = hosts.iter().map(|h| h.column).collect();
    assert_eq!(header[1..], columns[..], "the table's host columns");
    let artifacts = artifacts();
    let named: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let expected: Vec<&str> = artifacts.iter().map(|a| a.row).collect();
    assert_eq!(named, expected, "the table's rows, in order");

    let mut wrong = Vec::new();
    for (artifact, row) in artifacts.iter().zip(&rows) {
        for (host, cell) in hosts.iter().zip(&row[1..]) {
            let lacking = host.lacks(artifact);
            eprintln!("{} on {}: lacks {lacking:?}", artifact.row, host.column);
            let says_yes = cell.starts_with("yes");
            if says_yes != lacking.is_empty() {
                wrong.push(format!(
                    "{} on {}: the table says {cell:?}, but it lacks {lacking:?}",
                    artifact.row, host.column
                ));
            }
            for missing in lacking.iter().filter(|m| !cell.contains(m.as_str())) {
                wrong.push(format!(
                    "{} on {}: the cell {cell:?} should name {missing}",
                    artifact.row, host.column
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

mod real_linker {
    use super::*;
    use wasmtime::component::{Component, Linker, ResourceTable};
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
    use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

    struct State {
        table: ResourceTable,
        wasi: WasiCtx,
        http: WasiHttpCtx,
    }

    impl WasiView for State {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    impl WasiHttpView for State {
        fn http(&mut self) -> WasiHttpCtxView<'_> {
            WasiHttpCtxView {
                ctx: &mut self.http,
                table: &mut self.table,
                hooks: wasmtime_wasi_http::default_hooks(),
            }
        }
    }

    /// `wasmtime serve -Scli`'s linker (wasmtime-cli 48.0.8, `serve.rs` and
    /// `common.rs`): every WASI 0.2 and 0.3 interface, then wasi:http 0.2 and 0.3.
    fn serve_cli_linker(engine: &wasmtime::Engine) -> Linker<State> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        wasmtime_wasi::p3::add_to_linker(&mut linker).unwrap();
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
        wasmtime_wasi_http::p3::add_to_linker(&mut linker).unwrap();
        linker
    }

    #[test]
    fn the_wasmtime_serve_list_agrees_with_a_linker_set_up_as_wasmtime_serve_does() {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model_async(true);
        // Only linking is checked here: compile as fast as possible.
        config.cranelift_opt_level(wasmtime::OptLevel::None);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let linker = serve_cli_linker(&engine);
        let serve = hosts()
            .into_iter()
            .find(|h| h.column.contains("wasmtime serve"))
            .unwrap();
        for artifact in artifacts() {
            let component = Component::new(&engine, &artifact.bytes).unwrap();
            let linked = linker.instantiate_pre(&component);
            let lacking: Vec<String> = serve
                .lacks(&artifact)
                .into_iter()
                .filter(|l| l != "not an HTTP handler")
                .collect();
            assert_eq!(
                linked.is_ok(),
                lacking.is_empty(),
                "{}: the list says it lacks {lacking:?}, the linker says {:?}",
                artifact.row,
                linked.err().map(|e| e.to_string())
            );
        }
    }
}

#[test]
fn labels_name_the_package_and_its_major_minor() {
    assert_eq!(
        package_label("wasi:keyvalue/store@0.2.0-draft2"),
        "wasi:keyvalue@0.2"
    );
    assert_eq!(package_label("wasi:http/types@0.3.0"), "wasi:http@0.3");
    assert_eq!(
        package_label("wasi:config/store@0.2.0-draft-2024-09-27"),
        "wasi:config@0.2"
    );
    assert_eq!(
        package_label("spin:key-value/key-value@3.0.0"),
        "spin:key-value@3.0"
    );
}
