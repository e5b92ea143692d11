//! Settings baked into the gate at composition, so `out.wasm` carries its tenant and
//! audience wherever it runs.
//!
//! The gate's wasm holds one region: [`MARKER`], then [`CAPACITY`] spaces. The
//! composer writes the settings there as a JSON object (spaces are JSON whitespace,
//! so the rest of the region parses away); the gate reads the region at run time.
//! Patching bytes in place leaves the component's structure, and its validity, as built.

use std::collections::BTreeMap;
use std::fmt;

/// Starts the region; appears exactly once in the gate's wasm.
pub const MARKER: &[u8; 32] = b"entra-inbound-baked-settings:v1\n";
/// Bytes for the JSON after the marker.
pub const CAPACITY: usize = 4096;

/// Why settings cannot be baked into a gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BakeError {
    /// The component is not a gate of this version: no region, or more than one.
    NoRegion(usize),
    /// The settings take more room than the region has.
    TooLarge(usize),
    /// A setting is already baked: compose from the gate, not from a composed one.
    AlreadyBaked,
}

impl fmt::Display for BakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BakeError::NoRegion(n) => write!(
                f,
                "the inbound gate holds {n} settings regions instead of one: use the gate \
                 this host was built with"
            ),
            BakeError::TooLarge(n) => write!(
                f,
                "the inbound settings take {n} bytes; the gate has room for {CAPACITY}"
            ),
            BakeError::AlreadyBaked => {
                f.write_str("the inbound gate already has settings baked in")
            }
        }
    }
}

impl std::error::Error for BakeError {}

/// `gate` with `settings` (name, value) in its region.
pub fn bake(gate: &[u8], settings: &[(&str, &str)]) -> Result<Vec<u8>, BakeError> {
    let starts: Vec<usize> = (gate.windows(MARKER.len()).enumerate())
        .filter(|(_, w)| w == MARKER)
        .map(|(i, _)| i + MARKER.len())
        .collect();
    let [start] = starts[..] else {
        return Err(BakeError::NoRegion(starts.len()));
    };
    let region = start..start + CAPACITY;
    if gate.len() < region.end || gate[region.clone()].iter().any(|b| *b != b' ') {
        return Err(BakeError::AlreadyBaked);
    }
    let json = serde_json::to_vec(&settings.iter().copied().collect::<BTreeMap<_, _>>())
        .expect("a map of strings serializes");
    if json.len() > CAPACITY {
        return Err(BakeError::TooLarge(json.len()));
    }
    let mut baked = gate.to_vec();
    baked[start..start + json.len()].copy_from_slice(&json);
    Ok(baked)
}

/// The settings in a region (the bytes after the marker); none when nothing was baked
/// or the region does not parse.
pub fn read(region: &[u8]) -> BTreeMap<String, String> {
    serde_json::from_slice(region).unwrap_or_default()
}

#[cfg(test)]
mod tests;
