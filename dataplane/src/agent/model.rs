//! Neutron's objects as its API returns them (`/v2.0/ports`, `/v2.0/sfc/...`): only the fields
//! the agent reads; others are ignored, and a field Neutron sends as `null` reads as its default.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `null` as the type's default.
fn nullable<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// A list of field names, or one string of them joined by `&`.
fn fields<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum F {
        List(Vec<String>),
        Joined(String),
    }
    Ok(match Option::<F>::deserialize(de)? {
        None => vec![],
        Some(F::List(v)) => v,
        Some(F::Joined(s)) => s
            .split('&')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// A port's fixed address.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct FixedIp {
    #[serde(default, deserialize_with = "nullable")]
    pub ip_address: String,
    #[serde(default, deserialize_with = "nullable")]
    pub subnet_id: String,
}

/// A Neutron port.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Port {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub network_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub mac_address: String,
    #[serde(default, deserialize_with = "nullable")]
    pub fixed_ips: Vec<FixedIp>,
    #[serde(default, deserialize_with = "nullable")]
    pub device_owner: String,
    #[serde(default, deserialize_with = "nullable")]
    pub device_id: String,
    /// The host the port is bound to (`binding:host_id`).
    #[serde(rename = "binding:host_id", default, deserialize_with = "nullable")]
    pub host: String,
    /// `binding:profile`: where qdp reads `qdp_port`.
    #[serde(rename = "binding:profile", default, deserialize_with = "nullable")]
    pub profile: BTreeMap<String, Value>,
}

/// `service_function_parameters` of a port pair.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct SfParameters {
    /// `nsh` for an NSH-aware SF, `null` for an NSH-unaware one (qdp's proxy), `mpls`.
    #[serde(default)]
    pub correlation: Option<String>,
    #[serde(default)]
    pub weight: Option<u32>,
}

/// A port pair: one SF instance, by the ports traffic enters and leaves it by.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct PortPair {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    pub ingress: String,
    pub egress: String,
    #[serde(default, deserialize_with = "nullable")]
    pub service_function_parameters: SfParameters,
}

/// `port_pair_group_parameters`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct PpgParameters {
    /// The fields (`["ip_src", "ip_dst"]`; the create request's `ip_src&ip_dst` also reads).
    #[serde(default, deserialize_with = "fields")]
    pub lb_fields: Vec<String>,
    #[serde(default)]
    pub ppg_n_tuple_mapping: Option<Value>,
}

/// A port pair group: the instances of one SF.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct PortPairGroup {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub port_pairs: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub port_pair_group_parameters: PpgParameters,
    #[serde(default, deserialize_with = "nullable")]
    pub tap_enabled: bool,
}

/// A flow classifier: which traffic enters a chain.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct FlowClassifier {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default)]
    pub ethertype: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub source_port_range_min: Option<u16>,
    #[serde(default)]
    pub source_port_range_max: Option<u16>,
    #[serde(default)]
    pub destination_port_range_min: Option<u16>,
    #[serde(default)]
    pub destination_port_range_max: Option<u16>,
    #[serde(default)]
    pub source_ip_prefix: Option<String>,
    #[serde(default)]
    pub destination_ip_prefix: Option<String>,
    #[serde(default)]
    pub logical_source_port: Option<String>,
    #[serde(default)]
    pub logical_destination_port: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub l7_parameters: BTreeMap<String, Value>,
}

/// `chain_parameters`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChainParameters {
    #[serde(default)]
    pub correlation: Option<String>,
    #[serde(default)]
    pub symmetric: Option<bool>,
}

/// A port chain: port pair groups in order, and the classifiers that lead onto it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct PortChain {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Neutron's number for the chain: qdp's SPI.
    pub chain_id: u32,
    #[serde(default, deserialize_with = "nullable")]
    pub port_pair_groups: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub flow_classifiers: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub chain_parameters: ChainParameters,
}

/// Everything the agent reads from Neutron in one poll.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub ports: Vec<Port>,
    pub port_pairs: Vec<PortPair>,
    pub port_pair_groups: Vec<PortPairGroup>,
    pub flow_classifiers: Vec<FlowClassifier>,
    pub port_chains: Vec<PortChain>,
}

impl Snapshot {
    pub fn port(&self, id: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.id == id)
    }
    pub fn port_pair(&self, id: &str) -> Option<&PortPair> {
        self.port_pairs.iter().find(|p| p.id == id)
    }
    pub fn port_pair_group(&self, id: &str) -> Option<&PortPairGroup> {
        self.port_pair_groups.iter().find(|p| p.id == id)
    }
    pub fn flow_classifier(&self, id: &str) -> Option<&FlowClassifier> {
        self.flow_classifiers.iter().find(|p| p.id == id)
    }
}
