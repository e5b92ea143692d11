use super::repo;
use super::wit::{SHIPPED_DEPS, derived_deps, shipped_deps, write_shipped_deps};

/// `examples/apps/wit/deps` is derived from `wit/`; `ENTRA_WRITE_APPS_WIT=1` rewrites it.
#[test]
fn shipped_apps_wit_is_the_repos_wit_at_the_tools_wasi_version() {
    let repo = repo();
    if std::env::var_os("ENTRA_WRITE_APPS_WIT").is_some() {
        write_shipped_deps(&repo);
    }
    let derived = derived_deps(&repo);
    let shipped = shipped_deps(&repo);
    let names = |files: &[(std::path::PathBuf, String)]| {
        files.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&shipped), names(&derived), "files of {SHIPPED_DEPS}");
    for ((file, shipped), (_, derived)) in shipped.iter().zip(&derived) {
        assert!(
            shipped == derived,
            "{SHIPPED_DEPS}/{} differs from what wit/ derives; rewrite it with \
             ENTRA_WRITE_APPS_WIT=1 cargo test -p entra-test-support shipped_apps_wit",
            file.display()
        );
    }
}

#[test]
fn a_gated_item_newer_than_the_tools_version_is_left_out_with_its_docs() {
    let text = "interface exit {\n  /// Exits.\n  @since(version = 0.2.12)\n  exit-with-code: func(c: u8);\n  use wasi:io/poll@0.2.12.{pollable};\n}\n";
    assert_eq!(
        super::wit::at_version(text, "0.2.12", "0.2.10"),
        "interface exit {\n  use wasi:io/poll@0.2.10.{pollable};\n}\n"
    );
}
