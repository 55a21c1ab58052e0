//! An IDS rules file: parsing never panics, whatever the text, and the rules it accepts build an
//! engine that inspects a payload (the fuzzed bytes themselves) without panicking.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use qdp::tables::ids::{parse_rules, IdsEngine, Inspect};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let vars = HashMap::from([("HOME_NET".to_string(), "[10.0.0.0/8]".to_string())]);
    let (rules, _errors) = parse_rules(&text, &vars);
    if let Ok(engine) = IdsEngine::new(rules) {
        let mut scratch = engine.scratch();
        for protocol in [6, 17, 1] {
            let _ = engine.inspect(
                &Inspect {
                    src: IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)),
                    dst: IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1)),
                    protocol,
                    src_port: 40000,
                    dst_port: 80,
                    tcp_flags: Some(0x18),
                    to_server: Some(true),
                    payload: data,
                },
                &mut scratch,
            );
        }
    }
});
