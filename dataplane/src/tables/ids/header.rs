//! The address and port expressions of a rule header: `any`, addresses and prefixes or
//! ports and ranges, `$VAR` references, lists and negation, parsed once into trees that match
//! an address or a port directly.
//!
//! A list matches what any of its plain items matches, minus what any of its negated items
//! matches; a list of only negated items starts from "everything" (Suricata's meaning, so
//! `[$HOME_NET,!10.1.2.3]` and `[!80,!443]` read as they do there). A variable's value is an
//! expression itself, parsed where it is used; `!any` is refused since it matches nothing.

use std::collections::HashMap;
use std::net::IpAddr;

use super::rules::{syntax, Fail};

/// How deep `$VAR` references may nest (a variable whose value names another variable, ...).
const MAX_VAR_DEPTH: usize = 16;

/// An IPv4 or IPv6 prefix. A prefix never matches an address of the other family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    /// The prefix `addr/len`; `None` if `len` is longer than the family's address.
    pub fn new(addr: IpAddr, len: u8) -> Option<Cidr> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (len <= max).then_some(Cidr { addr, len })
    }

    /// True if `addr` is inside the prefix.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                (u32::from(net) ^ u32::from(a)) & mask == 0
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                (u128::from(net) ^ u128::from(a)) & mask == 0
            }
            _ => false,
        }
    }
}

/// A rule's source or destination address expression, variables already expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrSpec {
    /// `any`.
    Any,
    /// An address (a full-length prefix) or a prefix.
    Cidr(Cidr),
    /// `!x`: everything `x` does not match.
    Not(Box<AddrSpec>),
    /// `[a,b,...]`: see the module documentation for negated items.
    List(Vec<AddrSpec>),
}

impl AddrSpec {
    /// True if `addr` is matched.
    pub fn matches(&self, addr: IpAddr) -> bool {
        match self {
            AddrSpec::Any => true,
            AddrSpec::Cidr(c) => c.contains(addr),
            AddrSpec::Not(inner) => !inner.matches(addr),
            AddrSpec::List(items) => {
                let (mut has_plain, mut plain) = (false, false);
                for item in items {
                    match item {
                        AddrSpec::Not(inner) if inner.matches(addr) => return false,
                        AddrSpec::Not(_) => {}
                        other => {
                            has_plain = true;
                            plain = plain || other.matches(addr);
                        }
                    }
                }
                plain || !has_plain
            }
        }
    }
}

/// A rule's source or destination port expression, variables already expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// `any`.
    Any,
    /// The inclusive range `lo..=hi` (a single port has `lo == hi`).
    Range(u16, u16),
    /// `!x`: every port `x` does not match.
    Not(Box<PortSpec>),
    /// `[a,b,...]`, with the same meaning of negated items as [`AddrSpec::List`].
    List(Vec<PortSpec>),
}

impl PortSpec {
    /// True if `port` is matched.
    pub fn matches(&self, port: u16) -> bool {
        match self {
            PortSpec::Any => true,
            PortSpec::Range(lo, hi) => (*lo..=*hi).contains(&port),
            PortSpec::Not(inner) => !inner.matches(port),
            PortSpec::List(items) => {
                let (mut has_plain, mut plain) = (false, false);
                for item in items {
                    match item {
                        PortSpec::Not(inner) if inner.matches(port) => return false,
                        PortSpec::Not(_) => {}
                        other => {
                            has_plain = true;
                            plain = plain || other.matches(port);
                        }
                    }
                }
                plain || !has_plain
            }
        }
    }
}

/// The items of a `[...]` list, split on top-level commas; `s` starts with `[`.
fn list_items<'a>(s: &'a str, what: &str) -> Result<Vec<&'a str>, Fail> {
    let mut depth = 0usize;
    let mut items = Vec::new();
    let mut start = 1;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    if i + 1 != s.len() {
                        return Err(syntax(format!("text after `]` in {what} `{s}`")));
                    }
                    items.push(&s[start..i]);
                }
            }
            ',' if depth == 1 => {
                items.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(syntax(format!("unbalanced `[` in {what} `{s}`")));
    }
    if items.iter().any(|item| item.trim().is_empty()) {
        return Err(syntax(format!("empty item in {what} list `{s}`")));
    }
    Ok(items)
}

fn lookup<'a>(
    name: &str,
    vars: &'a HashMap<String, String>,
    depth: usize,
) -> Result<&'a str, Fail> {
    if depth >= MAX_VAR_DEPTH {
        return Err(syntax(format!(
            "variable `${name}` nests too deep (a loop?)"
        )));
    }
    vars.get(name)
        .map(String::as_str)
        .ok_or_else(|| syntax(format!("unknown variable `${name}`")))
}

pub(super) fn parse_addr(
    s: &str,
    vars: &HashMap<String, String>,
    depth: usize,
) -> Result<AddrSpec, Fail> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('!') {
        let inner = parse_addr(rest, vars, depth)?;
        if inner == AddrSpec::Any {
            return Err(syntax("address `!any` matches nothing"));
        }
        return Ok(AddrSpec::Not(Box::new(inner)));
    }
    if s.starts_with('[') {
        let items = list_items(s, "address")?;
        let parsed = items
            .into_iter()
            .map(|item| parse_addr(item, vars, depth))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(AddrSpec::List(parsed));
    }
    if s == "any" {
        return Ok(AddrSpec::Any);
    }
    if let Some(name) = s.strip_prefix('$') {
        return parse_addr(lookup(name, vars, depth)?, vars, depth + 1);
    }
    let bad = || syntax(format!("invalid address `{s}`"));
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let len = match len {
        Some(l) => l.parse::<u8>().map_err(|_| bad())?,
        None if addr.is_ipv4() => 32,
        None => 128,
    };
    Cidr::new(addr, len).map(AddrSpec::Cidr).ok_or_else(bad)
}

pub(super) fn parse_ports(
    s: &str,
    vars: &HashMap<String, String>,
    depth: usize,
) -> Result<PortSpec, Fail> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('!') {
        let inner = parse_ports(rest, vars, depth)?;
        if inner == PortSpec::Any {
            return Err(syntax("port `!any` matches nothing"));
        }
        return Ok(PortSpec::Not(Box::new(inner)));
    }
    if s.starts_with('[') {
        let items = list_items(s, "port")?;
        let parsed = items
            .into_iter()
            .map(|item| parse_ports(item, vars, depth))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(PortSpec::List(parsed));
    }
    if s == "any" {
        return Ok(PortSpec::Any);
    }
    if let Some(name) = s.strip_prefix('$') {
        return parse_ports(lookup(name, vars, depth)?, vars, depth + 1);
    }
    let bad = || syntax(format!("invalid port `{s}`"));
    let port = |p: &str, default: u16| -> Result<u16, Fail> {
        if p.is_empty() {
            Ok(default)
        } else {
            p.parse().map_err(|_| bad())
        }
    };
    match s.split_once(':') {
        Some((lo, hi)) => {
            let (lo, hi) = (port(lo.trim(), 0)?, port(hi.trim(), u16::MAX)?);
            if lo > hi || s == ":" {
                return Err(bad());
            }
            Ok(PortSpec::Range(lo, hi))
        }
        None => {
            let p = s.parse().map_err(|_| bad())?;
            Ok(PortSpec::Range(p, p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_contains() {
        let c = Cidr::new(ip("10.1.0.0"), 16).unwrap();
        assert!(c.contains(ip("10.1.255.255")) && !c.contains(ip("10.2.0.0")));
        assert!(Cidr::new(ip("0.0.0.0"), 0).unwrap().contains(ip("1.2.3.4")));
        assert!(!Cidr::new(ip("0.0.0.0"), 0).unwrap().contains(ip("::1")));
        assert!(Cidr::new(ip("::"), 129).is_none());
        assert!(Cidr::new(ip("2001:db8::1"), 128)
            .unwrap()
            .contains(ip("2001:db8::1")));
    }

    #[test]
    fn variables_nest_and_lists_subtract() {
        let vars: HashMap<String, String> = [("A", "[10.0.0.0/8,$B]"), ("B", "192.0.2.0/24")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let a = parse_addr("[$A,!10.9.0.0/16]", &vars, 0).ok().unwrap();
        assert!(a.matches(ip("10.1.0.1")) && a.matches(ip("192.0.2.7")));
        assert!(!a.matches(ip("10.9.0.1")) && !a.matches(ip("192.0.3.1")));
        let p = parse_ports("[!80,!443]", &vars, 0).ok().unwrap();
        assert!(p.matches(22) && !p.matches(80) && !p.matches(443));
        assert!(parse_ports("[80,]", &vars, 0).is_err());
        assert!(parse_ports(":", &vars, 0).is_err());
        assert!(parse_addr("[1.2.3.4]x", &vars, 0).is_err());
    }
}
