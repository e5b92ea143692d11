//! `entra-identity`: Microsoft Entra ID tokens from the WebAssembly component.

mod cli;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,wasmtime_wasi_http=error".into()),
        )
        .init();
    let args = <cli::Cli as clap::Parser>::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("starting the async runtime");
    runtime.block_on(cli::run(args))
}
