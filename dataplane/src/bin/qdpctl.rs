//! `qdpctl`: inspect and change a running qdp through its control socket.
//!
//! ```text
//! qdpctl show ports|workers|paths|rules|groups|sfs|neighbors|arp|lb|probes|ids|stats|errors|latency|version|pipeline
//! qdpctl add rule|path|sf|neighbor KEY=VALUE... | JSON
//! qdpctl add hop PATH KEY=VALUE... | JSON
//! qdpctl delete rule NAME|#INDEX · delete path|sf|neighbor NAME · delete hop PATH SI
//! qdpctl set sf NAME up|down · set port NAME up|down · set latency on|off
//! qdpctl clear stats · reload [FILE] · trace N · capture N rx:PORT|tx:PORT|drop NAME
//! qdpctl metrics · shutdown · save · raw JSON
//! ```
//!
//! Options (`--socket`, `--json`, `--timeout`, `--overwrite`) may come anywhere on the line; a
//! word of the command that starts with `-` goes after `--`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::{json, Map, Value};

#[derive(Parser)]
#[command(
    name = "qdpctl",
    version,
    about = "Inspect and change a running qdp through its control socket",
    after_help = "Commands:\n  show ports|workers|paths|rules|groups|sfs|neighbors|arp|lb|probes|ids|stats|errors|latency|version|pipeline\n  add rule|path|sf|neighbor KEY=VALUE...|JSON    add hop PATH KEY=VALUE...|JSON\n  delete rule NAME|#INDEX   delete path|sf|neighbor NAME   delete hop PATH SI\n  set sf NAME up|down   set backend LB NAME weight=N|up|down   set port NAME up|down
  set latency on|off\n  clear stats   reload [FILE]   trace N   capture N rx:PORT|tx:PORT|drop NAME\n  metrics   shutdown   save   raw JSON\n\nOptions may come anywhere on the line (qdpctl show stats --json); a word starting with - goes after --.\ncapture writes NAME, a plain file name, into qdp's capture folder ([control] capture_dir); the reply says where.\n\nValues in KEY=VALUE are read as JSON when they parse (numbers, lists, objects), else as strings:\n  qdpctl add rule name=web dst=10.2.0.0/16 dst_ports=80 path=web priority=20\n  qdpctl add hop web si=254 sf=ids"
)]
struct Cli {
    /// The control socket (also $QDP_SOCKET).
    #[arg(long, env = "QDP_SOCKET", default_value = qdp::config::DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Print the JSON reply instead of tables.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for the reply.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// capture: replace an existing file of that name in the capture folder.
    #[arg(long)]
    overwrite: bool,
    /// The command and its arguments.
    #[arg(required = true)]
    command: Vec<String>,
}

/// `KEY=VALUE...` or one JSON object, as a JSON object.
fn object(args: &[String]) -> Result<Value, String> {
    if let [one] = args {
        if one.trim_start().starts_with('{') {
            return serde_json::from_str(one).map_err(|e| format!("not a JSON object: {e}"));
        }
    }
    let mut m = Map::new();
    for a in args {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| format!("'{a}': expected KEY=VALUE (or one JSON object)"))?;
        let v = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        m.insert(k.to_string(), v);
    }
    Ok(Value::Object(m))
}

fn absolute(p: &str) -> String {
    std::path::absolute(p)
        .map(|a| a.display().to_string())
        .unwrap_or_else(|_| p.to_string())
}

/// The request for a command line; `overwrite` is `--overwrite`.
fn request(words: &[String], overwrite: bool) -> Result<Value, String> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let usage = || {
        format!(
            "'{}': unknown command (qdpctl --help lists them)",
            w.join(" ")
        )
    };
    Ok(match w.as_slice() {
        ["show", what] => json!({ "command": "show", "what": what }),
        ["add", "rule", rest @ ..] => {
            json!({ "command": "add-rule", "rule": object(&words[2..2 + rest.len()])? })
        }
        ["add", "path", rest @ ..] => {
            json!({ "command": "add-path", "path": object(&words[2..2 + rest.len()])? })
        }
        ["add", "sf", rest @ ..] => {
            json!({ "command": "add-sf", "sf": object(&words[2..2 + rest.len()])? })
        }
        ["add", "neighbor", rest @ ..] => {
            json!({ "command": "add-neighbor", "neighbor": object(&words[2..2 + rest.len()])? })
        }
        ["add", "hop", path, rest @ ..] => {
            json!({ "command": "add-hop", "path": path, "hop": object(&words[3..3 + rest.len()])? })
        }
        ["delete", "rule", r] => match r.strip_prefix('#').map(str::parse::<usize>) {
            Some(Ok(i)) => json!({ "command": "delete-rule", "index": i }),
            Some(Err(_)) => return Err(format!("'{r}': #INDEX needs a number")),
            None => json!({ "command": "delete-rule", "name": r }),
        },
        ["delete", "path", n] => json!({ "command": "delete-path", "name": n }),
        ["delete", "sf", n] => json!({ "command": "delete-sf", "name": n }),
        ["delete", "neighbor", n] => json!({ "command": "delete-neighbor", "name": n }),
        ["delete", "hop", path, si] => json!({
            "command": "delete-hop", "path": path,
            "si": si.parse::<u8>().map_err(|_| format!("'{si}': SI must be 0..=255"))?,
        }),
        ["set", "sf", n, state] => json!({ "command": "set-sf", "name": n, "state": state }),
        ["set", "backend", sf, b, arg] => match arg.strip_prefix("weight=") {
            Some(w) => json!({ "command": "set-backend", "sf": sf, "backend": b,
                               "weight": w.parse::<u32>().map_err(|_| format!("weight: '{w}' is not a number"))? }),
            None => json!({ "command": "set-backend", "sf": sf, "backend": b, "state": arg }),
        },
        ["set", "port", n, state] => json!({ "command": "set-port", "name": n, "state": state }),
        ["set", "latency", state] => json!({ "command": "set-latency", "state": state }),
        ["clear", "stats"] => json!({ "command": "clear-stats" }),
        ["reload"] => json!({ "command": "reload" }),
        ["reload", f] => json!({ "command": "reload", "file": absolute(f) }),
        ["trace", n] => json!({
            "command": "trace",
            "count": n.parse::<u32>().map_err(|_| format!("'{n}': trace N needs a number"))?,
        }),
        ["capture", n, at, name] => json!({
            "command": "capture",
            "count": n.parse::<u32>().map_err(|_| format!("'{n}': capture N needs a number"))?,
            "at": at, "file": name, "overwrite": overwrite,
        }),
        ["metrics"] => json!({ "command": "metrics" }),
        ["shutdown"] => json!({ "command": "shutdown" }),
        ["save"] => json!({ "command": "save" }),
        ["raw", j] => serde_json::from_str(j).map_err(|e| format!("raw: not JSON: {e}"))?,
        _ => return Err(usage()),
    })
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) if a.iter().all(|x| !x.is_object()) => {
            a.iter().map(cell).collect::<Vec<_>>().join(", ")
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.2}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A result as tables: a list of objects is one row each; an object is KEY | VALUE rows, with
/// nested lists of objects drawn as tables of their own below.
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(rows) if rows.is_empty() => "(none)".into(),
        Value::Array(rows) if rows.iter().all(Value::is_object) => {
            let mut cols: Vec<String> = Vec::new();
            for r in rows {
                for k in r.as_object().into_iter().flat_map(|o| o.keys()) {
                    if !cols.contains(k) {
                        cols.push(k.clone());
                    }
                }
            }
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED).set_header(cols.clone());
            for r in rows {
                t.add_row(cols.iter().map(|c| cell(r.get(c).unwrap_or(&Value::Null))));
            }
            t.to_string()
        }
        Value::Object(o) => {
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED);
            let mut nested = String::new();
            for (k, x) in o {
                match x {
                    Value::Array(a) if a.iter().any(Value::is_object) => {
                        nested.push_str(&format!("\n{k}:\n{}", render(x)));
                    }
                    Value::Object(_) => nested.push_str(&format!("\n{k}:\n{}", render(x))),
                    _ => {
                        t.add_row(vec![k.clone(), cell(x)]);
                    }
                }
            }
            format!("{t}{nested}")
        }
        other => cell(other),
    }
}

/// Trace records as VPP prints them: one block per packet, one line per node.
fn render_trace(v: &Value) -> String {
    let mut s = format!("{} of {} packet(s) traced\n", v["traced"], v["requested"]);
    for (i, p) in v["packets"].as_array().into_iter().flatten().enumerate() {
        s.push_str(&format!(
            "\nPacket {} ({} B on port {}, worker {})\n",
            i + 1,
            p["len"],
            cell(&p["port"]),
            cell(&p["worker"])
        ));
        for n in p["nodes"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "  {:<18} {}\n",
                cell(&n["node"]),
                cell(&n["detail"])
            ));
        }
        s.push_str(&format!("  {:<18} {}\n", "=>", cell(&p["verdict"])));
    }
    s
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.overwrite && cli.command.first().map(String::as_str) != Some("capture") {
        eprintln!("qdpctl: --overwrite is an option of capture only");
        return ExitCode::from(2);
    }
    let req = match request(&cli.command, cli.overwrite) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qdpctl: {e}");
            return ExitCode::from(2);
        }
    };
    let stream = match UnixStream::connect(&cli.socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "qdpctl: cannot connect to {}: {e} (is qdp running? --socket or $QDP_SOCKET choose another socket)",
                cli.socket.display()
            );
            return ExitCode::from(3);
        }
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs_f64(cli.timeout.max(0.1))));
    let mut w = &stream;
    let line = format!("{req}\n");
    // A peer qdp refuses gets its reason and the connection closed, perhaps before the request
    // is sent: the reason is still there to read.
    let sent = w.write_all(line.as_bytes());
    let mut reply = String::new();
    let read = BufReader::new(&stream).read_line(&mut reply);
    match (sent, read) {
        (_, Ok(n)) if n > 0 => {}
        (Err(e), _) => {
            eprintln!("qdpctl: sending the request: {e}");
            return ExitCode::from(3);
        }
        (Ok(()), Err(e)) => {
            eprintln!("qdpctl: reading the reply: {e}");
            return ExitCode::from(3);
        }
        (Ok(()), Ok(_)) => {
            eprintln!("qdpctl: qdp closed the connection without a reply");
            return ExitCode::from(3);
        }
    }
    let v: Value = match serde_json::from_str(&reply) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("qdpctl: malformed reply ({e}): {reply}");
            return ExitCode::from(3);
        }
    };
    if cli.json {
        println!("{v}");
    }
    if v["ok"] != Value::Bool(true) {
        if !cli.json {
            eprintln!("qdpctl: {}", cell(&v["error"]));
        }
        return ExitCode::FAILURE;
    }
    if !cli.json {
        let r = &v["result"];
        if req["command"] == "trace" {
            print!("{}", render_trace(r));
        } else {
            println!("{}", render(r));
        }
    }
    ExitCode::SUCCESS
}
