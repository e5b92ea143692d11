//! A generated component that exports `wasi:cli/environment` with fixed variables and
//! nothing else: how `compose --outbound --rule HOST=SCOPE` bakes the rules into the
//! outbound component, so that `wasmtime serve out.wasm` needs no configuration.
//!
//! Why the environment and not a `wasi:config` wrapper: `get-environment` takes no
//! argument, so the component is static data and three functions that return
//! pointers into it (no allocator, no forwarding, nothing to go wrong), and the
//! outbound component reads its rules from both the environment and `wasi:config`,
//! so rules configured on the host at run time still apply. Only the outbound
//! component's instance sees this environment; the app's and the identity
//! component's are the host's.

use std::fmt::Write as _;

/// A component exporting `interface` (a `wasi:cli/environment@0.2.x` name) whose
/// `get-environment` is `vars`, `get-arguments` empty and `initial-cwd` none.
pub(crate) fn environment_component(
    interface: &str,
    vars: &[(&str, &str)],
) -> Result<Vec<u8>, String> {
    // Linear memory: return areas at 0 (environment: pointer, length), 8 (arguments:
    // empty list) and 16 (cwd: none, 12 bytes); the list's (name, value) pointer
    // pairs from 64; the strings after them.
    const ENTRIES: u32 = 64;
    let mut memory = vec![0u8; ENTRIES as usize];
    memory[0..4].copy_from_slice(&ENTRIES.to_le_bytes());
    memory[4..8].copy_from_slice(&(vars.len() as u32).to_le_bytes());
    let mut strings = Vec::new();
    let strings_at = ENTRIES + 16 * vars.len() as u32;
    for (name, value) in vars {
        for text in [name, value] {
            let at = strings_at + strings.len() as u32;
            memory.extend_from_slice(&at.to_le_bytes());
            memory.extend_from_slice(&(text.len() as u32).to_le_bytes());
            strings.extend_from_slice(text.as_bytes());
        }
    }
    memory.extend_from_slice(&strings);
    let pages = memory.len().div_ceil(65536).max(1);
    let mut data = String::new();
    for byte in &memory {
        write!(data, "\\{byte:02x}").expect("writing to a String");
    }
    let interface = interface.replace('"', "");
    let wat = format!(
        r#"(component
  (core module $m
    (memory (export "memory") {pages})
    (data (i32.const 0) "{data}")
    (func (export "get-environment") (result i32) i32.const 0)
    (func (export "get-arguments") (result i32) i32.const 8)
    (func (export "initial-cwd") (result i32) i32.const 16))
  (core instance $i (instantiate $m))
  (func $env (result (list (tuple string string)))
    (canon lift (core func $i "get-environment") (memory (core memory $i "memory"))))
  (func $args (result (list string))
    (canon lift (core func $i "get-arguments") (memory (core memory $i "memory"))))
  (func $cwd (result (option string))
    (canon lift (core func $i "initial-cwd") (memory (core memory $i "memory"))))
  (instance $environment
    (export "get-environment" (func $env))
    (export "get-arguments" (func $args))
    (export "initial-cwd" (func $cwd)))
  (export "{interface}" (instance $environment)))"#
    );
    wat::parse_str(&wat).map_err(|e| format!("generating the environment component: {e}"))
}

#[cfg(test)]
mod tests;
