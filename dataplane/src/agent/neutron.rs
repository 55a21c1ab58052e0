//! Neutron's REST API, as far as the agent reads and writes it: the SFC lists and the ports
//! (one poll), the underlay network, and the port that registers this host's VTEP.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::model::{Port, Snapshot};
use super::translate::{LocalVtep, VTEP_OWNER};

/// A client of one Neutron endpoint.
pub struct Neutron {
    base: String,
    token: Option<String>,
    http: ureq::Agent,
}

impl Neutron {
    /// `base` is the endpoint (`http://controller:9696`); `token` goes in `X-Auth-Token`.
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Neutron {
        let http = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Neutron {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2.0/{path}", self.base)
    }

    /// Reads a reply: JSON on 2xx, else an error with Neutron's message.
    fn reply(
        &self,
        what: &str,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, String> {
        let mut r = r.map_err(|e| format!("{what}: {e}"))?;
        let status = r.status();
        let body = r
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("{what}: reading the reply: {e}"))?;
        if !status.is_success() {
            let msg = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("NeutronError")
                        .and_then(|e| e.get("message"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| body.chars().take(200).collect());
            return Err(format!("{what}: HTTP {}: {msg}", status.as_u16()));
        }
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| format!("{what}: malformed reply: {e}"))
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = &self.token {
            req = req.header("X-Auth-Token", t);
        }
        self.reply(&format!("GET {path}"), req.call())
    }

    fn list<T: DeserializeOwned>(&self, path: &str, key: &str) -> Result<Vec<T>, String> {
        let v = self.get(path)?;
        let items = v
            .get(key)
            .cloned()
            .ok_or_else(|| format!("GET {path}: the reply has no '{key}'"))?;
        serde_json::from_value(items).map_err(|e| format!("GET {path}: {key}: {e}"))
    }

    /// Everything one poll reads.
    pub fn snapshot(&self) -> Result<Snapshot, String> {
        Ok(Snapshot {
            port_chains: self.list("sfc/port_chains", "port_chains")?,
            port_pair_groups: self.list("sfc/port_pair_groups", "port_pair_groups")?,
            port_pairs: self.list("sfc/port_pairs", "port_pairs")?,
            flow_classifiers: self.list("sfc/flow_classifiers", "flow_classifiers")?,
            ports: self.list("ports", "ports")?,
        })
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = self.url(path);
        let what = format!("{method} {path}");
        let r = match (method, body) {
            ("POST", Some(b)) => self.with_token_post(self.http.post(&url)).send_json(b),
            ("PUT", Some(b)) => self.with_token_post(self.http.put(&url)).send_json(b),
            _ => {
                let mut req = self.http.delete(&url);
                if let Some(t) = &self.token {
                    req = req.header("X-Auth-Token", t);
                }
                req.call()
            }
        };
        self.reply(&what, r)
    }

    fn with_token_post(
        &self,
        req: ureq::RequestBuilder<ureq::typestate::WithBody>,
    ) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        match &self.token {
            Some(t) => req.header("X-Auth-Token", t),
            None => req,
        }
    }

    /// Makes sure Neutron holds this host's VTEP as `ports` last showed it: one port of device
    /// owner `qdp:vtep` bound to `host` on network `network`, with the VTEP's address and MAC.
    /// A stale one (other address or MAC) is replaced. Returns what it did, or `None`.
    pub fn register_vtep(
        &self,
        ports: &[Port],
        host: &str,
        network: &str,
        vtep: &LocalVtep,
    ) -> Result<Option<String>, String> {
        let addr = vtep.address.to_string();
        let mine: Vec<&Port> = ports
            .iter()
            .filter(|p| p.device_owner == VTEP_OWNER && p.host == host)
            .collect();
        let current = |p: &&Port| {
            p.mac_address.eq_ignore_ascii_case(&vtep.mac)
                && p.fixed_ips.iter().any(|f| f.ip_address == addr)
        };
        if mine.len() == 1 && current(&mine[0]) {
            return Ok(None);
        }
        for p in &mine {
            self.send("DELETE", &format!("ports/{}", p.id), None)?;
        }
        let nets = self.get(&format!("networks?name={network}"))?;
        let net = nets
            .get("networks")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|n| n.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!(
                    "underlay network '{network}' does not exist in Neutron (create it with a \
                     subnet that holds {addr})"
                )
            })?
            .to_string();
        self.send(
            "POST",
            "ports",
            Some(json!({ "port": {
                "name": format!("qdp-vtep-{host}"),
                "network_id": net,
                "mac_address": vtep.mac,
                "fixed_ips": [{ "ip_address": addr }],
                "device_owner": VTEP_OWNER,
                "device_id": format!("qdp-{host}"),
                "binding:host_id": host,
            }})),
        )?;
        Ok(Some(format!(
            "registered VTEP {addr} ({}) of host '{host}' on network '{network}'{}",
            vtep.mac,
            if mine.is_empty() {
                String::new()
            } else {
                format!(", replacing {} stale port(s)", mine.len())
            }
        )))
    }
}
