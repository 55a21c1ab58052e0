//! The typed values of a pipeline file: each is parsed once, when the file (or a control command)
//! is read, so that an error names the exact field (`classifier[0].dst_ports`) and nothing later
//! parses text again. Each is written back the way people write it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Implements `Deserialize` from a string and `Serialize` as its `Display` form, for a type with
/// `FromStr<Err = String>`.
macro_rules! serde_via_str {
    ($ty:ty, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$ty, E> {
                        s.parse().map_err(E::custom)
                    }
                }
                de.deserialize_str(V)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

/// An IP prefix, `a.b.c.d/len` or `x::y/len`; a bare address is a host prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl FromStr for Prefix {
    type Err = String;

    fn from_str(s: &str) -> Result<Prefix, String> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not an IP prefix such as 10.1.0.0/16"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("'{s}': prefix length must be 0..={max}"))?,
            None => max,
        };
        Ok(Prefix { addr, len })
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

serde_via_str!(Prefix, "an IP prefix such as 10.1.0.0/16");

/// A TCP/UDP port or an inclusive range: `80`, `"80"` or `"1000-2000"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<PortRange, String> {
        let parse = |t: &str| {
            t.trim()
                .parse::<u16>()
                .map_err(|_| format!("'{s}' is not a port or a range lo-hi"))
        };
        let (lo, hi) = match s.split_once('-') {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => {
                let p = parse(s)?;
                (p, p)
            }
        };
        if lo > hi {
            return Err(format!("'{s}': {lo} is above {hi}"));
        }
        Ok(PortRange { lo, hi })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PortRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port (0..=65535) or a range \"lo-hi\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortRange, E> {
                let p = u16::try_from(v).map_err(|_| E::custom(format!("{v} is not a port")))?;
                Ok(PortRange { lo: p, hi: p })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PortRange, E> {
                let p = u16::try_from(v).map_err(|_| E::custom(format!("{v} is not a port")))?;
                Ok(PortRange { lo: p, hi: p })
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<PortRange, E> {
                s.parse().map_err(E::custom)
            }
        }
        de.deserialize_any(V)
    }
}

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.lo == self.hi {
            s.serialize_u16(self.lo)
        } else {
            s.collect_str(self)
        }
    }
}

/// An IP protocol, by number or name (`tcp`, `udp`, `icmp`, `icmpv6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Protocol(pub u8);

impl Protocol {
    const NAMES: [(&'static str, u8); 4] = [("icmp", 1), ("tcp", 6), ("udp", 17), ("icmpv6", 58)];
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Protocol, String> {
        let lower = s.to_ascii_lowercase();
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == lower)
            .map(|(_, v)| Protocol(*v))
            .or_else(|| s.trim().parse().ok().map(Protocol))
            .ok_or_else(|| format!("unknown protocol '{s}' (tcp, udp, icmp, icmpv6 or a number)"))
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Self::NAMES.iter().find(|(_, v)| *v == self.0) {
            Some((n, _)) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Protocol;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a protocol number (0..=255) or tcp, udp, icmp, icmpv6")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Protocol, E> {
                u8::try_from(v)
                    .map(Protocol)
                    .map_err(|_| E::custom(format!("{v} is not a protocol number (0..=255)")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Protocol, E> {
                u8::try_from(v)
                    .map(Protocol)
                    .map_err(|_| E::custom(format!("{v} is not a protocol number (0..=255)")))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Protocol, E> {
                s.parse().map_err(E::custom)
            }
        }
        de.deserialize_any(V)
    }
}

impl Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match Self::NAMES.iter().find(|(_, v)| *v == self.0) {
            Some((n, _)) => s.serialize_str(n),
            None => s.serialize_u8(self.0),
        }
    }
}

/// Bytes written in hex (spaces and ':' allowed between bytes, an optional `0x`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HexBytes(pub Vec<u8>);

impl FromStr for HexBytes {
    type Err = String;

    fn from_str(s: &str) -> Result<HexBytes, String> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
        let digits = digits.strip_prefix("0x").unwrap_or(&digits);
        if !digits.len().is_multiple_of(2) || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("'{s}' is not hex bytes"));
        }
        Ok(HexBytes(
            (0..digits.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex checked"))
                .collect(),
        ))
    }
}

impl fmt::Display for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

serde_via_str!(HexBytes, "hex bytes such as \"0a0b0c\"");

/// The `action` of a rule: `"allow"` or `"deny"` in a firewall, `"drop"` in the classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleActionWord {
    Allow,
    Deny,
    Drop,
}

/// What a firewall does with a packet no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirewallDefault {
    #[default]
    Allow,
    Deny,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_and_print_back() {
        let p: Prefix = "10.1.0.0/16".parse().unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/16");
        assert_eq!("fd00::1".parse::<Prefix>().unwrap().len, 128);
        assert!("10.1.0.0/33".parse::<Prefix>().is_err());
        assert!("ten".parse::<Prefix>().is_err());
        assert_eq!(
            "1000-2000".parse::<PortRange>().unwrap(),
            PortRange { lo: 1000, hi: 2000 }
        );
        assert!("2000-1000".parse::<PortRange>().is_err());
        assert!("http".parse::<PortRange>().is_err());
        assert_eq!("TCP".parse::<Protocol>().unwrap(), Protocol(6));
        assert_eq!("47".parse::<Protocol>().unwrap().to_string(), "47");
        assert!("gre".parse::<Protocol>().is_err());
        assert_eq!(
            "0x0a:0b 0c".parse::<HexBytes>().unwrap().0,
            vec![0x0a, 0x0b, 0x0c]
        );
        assert!("abc".parse::<HexBytes>().is_err());
    }

    #[test]
    fn ports_and_protocols_take_numbers_and_text() {
        #[derive(Deserialize, Serialize)]
        struct T {
            p: PortRange,
            q: PortRange,
            r: Protocol,
            s: Protocol,
        }
        let t: T = toml::from_str("p = 80\nq = \"1-9\"\nr = 6\ns = \"icmp\"").unwrap();
        assert_eq!((t.p.lo, t.q.hi, t.r.0, t.s.0), (80, 9, 6, 1));
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["p"], 80);
        assert_eq!(back["q"], "1-9");
        assert_eq!(back["r"], "tcp");
        let e = toml::from_str::<T>("p = 70000\nq = 1\nr = 1\ns = 1")
            .err()
            .unwrap();
        assert!(e.to_string().contains("70000 is not a port"), "{e}");
    }
}
