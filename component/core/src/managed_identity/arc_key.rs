//! Azure Arc's challenge: which key file the agent may point us at, and reading it.
//!
//! The agent answers the first request with `401` and `WWW-Authenticate: Basic
//! realm=<path>`; whoever can read that file proves they run on the machine. The path
//! comes from the network, so it is confined to the agent's token directory before
//! anything is opened: otherwise a spoofed endpoint could make us send any readable
//! file as a header.

use crate::error::Error;
use crate::platform::{FileError, Platform};

/// Where the agent writes key files on Linux.
pub const DEFAULT_TOKEN_DIR: &str = "/var/opt/azcmagent/tokens";
/// Key files are a few dozen bytes; the agent never writes more than this.
pub const MAX_KEY_LEN: usize = 4096;

/// The key file path named by a `WWW-Authenticate` value, if it is one the agent may
/// use: `<dir>/<name>.key`, absolute, no `..`, nothing but a file name after `dir`.
pub fn key_path(challenge: &str, dir: &str) -> Result<String, Error> {
    let bad = |why: &str| {
        Error::InvalidResponse(format!(
            "Azure Arc sent an unusable challenge ({why}); expected 'Basic realm=' and a .key file directly in {dir}"
        ))
    };
    let challenge = challenge.trim();
    let scheme = "basic realm=";
    let path = match (challenge.get(..scheme.len()), challenge.get(scheme.len()..)) {
        (Some(s), Some(rest)) if s.eq_ignore_ascii_case(scheme) => rest,
        _ => return Err(bad("not a Basic realm challenge")),
    };
    let path = path.trim().trim_matches('"');
    if path.split(['/', '\\']).any(|c| c == "..") {
        return Err(bad("the path contains '..'"));
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(bad("the path contains control characters or backslashes"));
    }
    let dir = dir.trim_end_matches('/');
    let (parent, name) = path
        .rsplit_once('/')
        .ok_or_else(|| bad("not an absolute path"))?;
    if parent != dir {
        return Err(bad("the file is outside the agent's token directory"));
    }
    match name.strip_suffix(".key") {
        Some(stem) if !stem.is_empty() && !stem.starts_with('.') => Ok(path.to_string()),
        _ => Err(bad("the file name does not end in .key")),
    }
}

/// Reads the key at `path` (already checked by [`key_path`]): not a symlink, at most
/// [`MAX_KEY_LEN`] bytes by its size before a byte is read, printable text.
pub fn read_key(platform: &dyn Platform, path: &str, dir: &str) -> Result<String, Error> {
    let file_error = |e: FileError| match e {
        FileError::NotAvailable => Error::Unavailable(format!(
            "Azure Arc needs the key file {path}, but this platform has no file access; the host must give the component read access to {dir}"
        )),
        FileError::PermissionDenied => Error::InvalidInput(format!(
            "cannot read the Azure Arc key file {path}: permission denied; the host process must run as a member of the 'himds' group (Linux) or as an administrator (Windows)"
        )),
        FileError::TooLarge { .. } => too_large(path),
        other => Error::InvalidResponse(format!(
            "cannot read the Azure Arc key file {path} the agent named: {other}"
        )),
    };
    if platform.is_symlink(path).map_err(file_error)? {
        return Err(Error::InvalidResponse(format!(
            "the Azure Arc key file {path} is a symbolic link; refusing to follow it"
        )));
    }
    if platform.file_len(path).map_err(file_error)? > MAX_KEY_LEN as u64 {
        return Err(too_large(path));
    }
    let bytes = platform.read_file(path, MAX_KEY_LEN).map_err(file_error)?;
    let key = String::from_utf8(bytes).map_err(|_| {
        Error::InvalidResponse(format!("the Azure Arc key file {path} is not text"))
    })?;
    if key.is_empty() || key.chars().any(|c| c.is_control()) {
        return Err(Error::InvalidResponse(format!(
            "the Azure Arc key file {path} is empty or has control characters, so it cannot be sent as a header"
        )));
    }
    Ok(key)
}

fn too_large(path: &str) -> Error {
    Error::InvalidResponse(format!(
        "the Azure Arc key file {path} is larger than {MAX_KEY_LEN} bytes; a real key is far smaller, so it was not read"
    ))
}
