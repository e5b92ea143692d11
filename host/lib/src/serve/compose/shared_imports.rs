//! One import per group of semver-compatible imports, so that every component of a
//! composition shares one instance of each host interface.
//!
//! wac-graph matches names semver-compatibly when plugging, but merges the imports it
//! leaves unsatisfied by exact name only: an app built against `wasi:io/streams@0.2.10`
//! (componentize-js 0.23) and our components against `@0.2.12` would import the host's
//! streams twice, as two distinct resource types, and a stream one component hands
//! the other would not type-check.

use crate::error::{Error, Result};
use wac_graph::types::are_semver_compatible;
use wac_graph::{CompositionGraph, NodeId};

/// Satisfies every import still open on `instances` with one explicit import per
/// semver-compatible group, named and typed as the group's newest version.
pub(super) fn share_imports(graph: &mut CompositionGraph, instances: &[NodeId]) -> Result<()> {
    // (name, kind, instance) of every open import, grouped by compatibility.
    let mut groups: Vec<Vec<(String, wac_graph::types::ItemKind, NodeId)>> = Vec::new();
    for &instance in instances {
        let package = graph[instance]
            .package()
            .expect("an instantiation has a package");
        let satisfied: Vec<String> = (graph.get_instantiation_arguments(instance))
            .map(|(name, _)| name.to_string())
            .collect();
        let world = &graph.types()[graph[package].ty()];
        for (name, kind) in &world.imports {
            if satisfied.contains(name) {
                continue;
            }
            let open = (name.clone(), *kind, instance);
            match (groups.iter_mut()).find(|g| are_semver_compatible(&g[0].0, name)) {
                Some(group) => group.push(open),
                None => groups.push(vec![open]),
            }
        }
    }
    for group in groups {
        let (name, kind, _) = (group.iter())
            .max_by_key(|(name, ..)| version(name))
            .expect("a group has a member");
        let import = graph
            .import(name.clone(), *kind)
            .map_err(|e| Error::Config(format!("importing {name}: {e}")))?;
        for (member, _, instance) in &group {
            graph
                .set_instantiation_argument(*instance, member, import)
                .map_err(|e| Error::Config(format!("giving {name} for {member}: {e}")))?;
        }
    }
    Ok(())
}

/// The version after `@`; names without one sort first.
fn version(name: &str) -> Option<semver::Version> {
    let (_, version) = name.rsplit_once('@')?;
    semver::Version::parse(version).ok()
}
