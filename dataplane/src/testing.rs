//! Fixtures shared by the crate's unit tests: a pipeline on `net_null` ports with one worker
//! polling them all, around the sections a test adds.

use crate::config::Pipeline;

/// A pipeline with ports named `ports` (`net_null0`, `net_null1`, …), worker `w0` on CPU 1
/// polling all of them, and `body` (more sections) after them. Panics on an invalid file.
pub fn null_ports_pipeline(ports: &[&str], body: &str) -> Pipeline {
    let mut text = String::from("[eal]\ncores = [0, 1]\n");
    for (i, p) in ports.iter().enumerate() {
        text.push_str(&format!(
            "[[ports]]\nname = \"{p}\"\nvdev = \"net_null{i}\"\n"
        ));
    }
    let rx: Vec<String> = ports.iter().map(|p| format!("\"{p}\"")).collect();
    text.push_str(&format!(
        "[[workers]]\nname = \"w0\"\ncore = 1\nrx = [{}]\n{body}",
        rx.join(", ")
    ));
    Pipeline::from_toml(&text).unwrap_or_else(|e| panic!("{e}"))
}
