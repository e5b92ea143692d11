//! Azure's well-known resources: which hosts, which scope, in each cloud.
//!
//! Scopes are the ones the Azure SDKs ask for. Storage, Service Bus and Cosmos DB
//! clients ask for their public audience in every cloud (they have no per-cloud
//! default), and so do these rules; services whose sovereign audience is not known
//! have no sovereign rule. A custom rule (`HOST=SCOPE`) comes before every built-in
//! one, so a deployment corrects or extends this table without a new release.

use super::Rule;

/// `(host or *.suffix, scope)`, HTTPS on 443.
const AZURE: &[(&str, &str)] = &[
    // Key Vault and Managed HSM.
    ("*.vault.azure.net", "https://vault.azure.net/.default"),
    ("*.vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net/.default"),
    ("*.vault.azure.cn", "https://vault.azure.cn/.default"),
    ("*.managedhsm.azure.net", "https://managedhsm.azure.net/.default"),
    // Storage: one audience for every service and cloud.
    ("*.blob.core.windows.net", "https://storage.azure.com/.default"),
    ("*.queue.core.windows.net", "https://storage.azure.com/.default"),
    ("*.table.core.windows.net", "https://storage.azure.com/.default"),
    ("*.file.core.windows.net", "https://storage.azure.com/.default"),
    ("*.dfs.core.windows.net", "https://storage.azure.com/.default"),
    ("*.blob.core.usgovcloudapi.net", "https://storage.azure.com/.default"),
    ("*.queue.core.usgovcloudapi.net", "https://storage.azure.com/.default"),
    ("*.table.core.usgovcloudapi.net", "https://storage.azure.com/.default"),
    ("*.file.core.usgovcloudapi.net", "https://storage.azure.com/.default"),
    ("*.dfs.core.usgovcloudapi.net", "https://storage.azure.com/.default"),
    ("*.blob.core.chinacloudapi.cn", "https://storage.azure.com/.default"),
    ("*.queue.core.chinacloudapi.cn", "https://storage.azure.com/.default"),
    ("*.table.core.chinacloudapi.cn", "https://storage.azure.com/.default"),
    ("*.file.core.chinacloudapi.cn", "https://storage.azure.com/.default"),
    ("*.dfs.core.chinacloudapi.cn", "https://storage.azure.com/.default"),
    // Resource Manager.
    ("management.azure.com", "https://management.azure.com/.default"),
    ("management.usgovcloudapi.net", "https://management.usgovcloudapi.net/.default"),
    ("management.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default"),
    // Microsoft Graph: a token must name its own cloud's Graph.
    ("graph.microsoft.com", "https://graph.microsoft.com/.default"),
    ("graph.microsoft.us", "https://graph.microsoft.us/.default"),
    ("dod-graph.microsoft.us", "https://dod-graph.microsoft.us/.default"),
    ("microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default"),
    // Service Bus (and Event Hubs namespaces, which share its hosts and accept its
    // audience over HTTP). The double slash is the v1 audience's own trailing `/`.
    ("*.servicebus.windows.net", "https://servicebus.azure.net//.default"),
    ("*.servicebus.usgovcloudapi.net", "https://servicebus.azure.net//.default"),
    ("*.servicebus.chinacloudapi.cn", "https://servicebus.azure.net//.default"),
    // Cosmos DB: the account-independent audience the Rust driver uses.
    ("*.documents.azure.com", "https://cosmos.azure.com/.default"),
    ("*.documents.azure.us", "https://cosmos.azure.com/.default"),
    ("*.documents.azure.cn", "https://cosmos.azure.com/.default"),
    // Azure OpenAI and AI services.
    ("*.openai.azure.com", "https://cognitiveservices.azure.com/.default"),
    ("*.cognitiveservices.azure.com", "https://cognitiveservices.azure.com/.default"),
    ("*.services.ai.azure.com", "https://cognitiveservices.azure.com/.default"),
    ("*.openai.azure.us", "https://cognitiveservices.azure.us/.default"),
    ("*.cognitiveservices.azure.us", "https://cognitiveservices.azure.us/.default"),
    // App Configuration: the audience follows the store's host, as the SDKs infer it.
    ("*.azconfig.io", "https://azconfig.io/.default"),
    ("*.azconfig.azure.us", "https://appconfig.azure.us/.default"),
    ("*.azconfig.azure.cn", "https://appconfig.azure.cn/.default"),
    // Azure Monitor logs ingestion.
    ("*.ingest.monitor.azure.com", "https://monitor.azure.com//.default"),
    ("*.ingest.monitor.azure.us", "https://monitor.azure.us//.default"),
    ("*.ingest.monitor.azure.cn", "https://monitor.azure.cn//.default"),
];

pub(super) fn rules() -> Vec<Rule> {
    AZURE
        .iter()
        .map(|(host, scope)| Rule::builtin(host, scope))
        .collect()
}

#[cfg(test)]
pub(super) fn table() -> &'static [(&'static str, &'static str)] {
    AZURE
}
