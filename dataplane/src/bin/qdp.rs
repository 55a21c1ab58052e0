//! The qdp daemon: `qdp run`, `qdp check`, `qdp gen-pcap`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use qdp::config::Pipeline;
use qdp::runtime::{self, LogFormat, RunOptions};

#[derive(Parser)]
#[command(name = "qdp", version, about = "Userspace SFC dataplane on DPDK")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a pipeline (the built-in demo when no file is given) until SIGINT/SIGTERM; SIGHUP
    /// reloads the file.
    Run {
        /// Pipeline file (TOML).
        pipeline: Option<PathBuf>,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,
        /// Also write the exit summary as JSON to this file.
        #[arg(long, value_name = "FILE")]
        summary_json: Option<PathBuf>,
        /// Control socket path (overrides control.socket in the file).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Run without a control socket.
        #[arg(long, conflicts_with = "socket")]
        no_control: bool,
        /// Log as text or JSON lines on stderr, or to the systemd journal [default: journald
        /// when stderr is the journal, else text].
        #[arg(long, value_name = "text|json|journald")]
        log_format: Option<LogFormat>,
        /// Log level (error, warn, info, debug, trace) or filter (qdp=debug) [default: $RUST_LOG,
        /// else info].
        #[arg(long, value_name = "LEVEL")]
        log_level: Option<String>,
        /// Print no per-second rate line on stdout (for a service); the exit summary stays.
        #[arg(long)]
        no_stats_line: bool,
    },
    /// Validate pipeline files without starting anything; exit 0 only when all are sound.
    Check {
        #[arg(required = true)]
        pipelines: Vec<PathBuf>,
    },
    /// Write generated UDP frames into a pcap file (for pcap replay ports and benches).
    GenPcap {
        /// Output file.
        #[arg(short, long)]
        output: PathBuf,
        /// Distinct flows (one frame each).
        #[arg(long, default_value_t = 256)]
        flows: u32,
        /// Frame size in bytes without FCS.
        #[arg(long, default_value_t = 60)]
        frame_size: u32,
    },
}

fn load(path: Option<&PathBuf>) -> Result<Pipeline, String> {
    let source = runtime::describe_source(path.map(|p| p.as_path()));
    let parsed = match path {
        Some(p) => Pipeline::load(p),
        None => Pipeline::from_toml(qdp::DEMO_PIPELINE),
    }
    .and_then(|p| qdp::compile::check(&p).map(|()| p));
    parsed.map_err(|errs| {
        let mut s = format!("{source}: {} error(s)", errs.0.len());
        for e in &errs.0 {
            s.push_str(&format!("\n  {e}"));
        }
        s
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check { pipelines } => {
            let mut ok = true;
            for p in &pipelines {
                match load(Some(p)) {
                    Ok(pl) => println!(
                        "{}: ok ('{}': {} port(s), {} worker(s))",
                        p.display(),
                        pl.name,
                        pl.ports.len(),
                        pl.workers.len()
                    ),
                    Err(e) => {
                        eprintln!("{e}");
                        ok = false;
                    }
                }
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Cmd::Run {
            pipeline,
            duration,
            summary_json,
            socket,
            no_control,
            log_format,
            log_level,
            no_stats_line,
        } => {
            let log_as = match runtime::init_logging(log_format, log_level.as_deref()) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            // Errors that end the run: as they always were, or one JSON event in a JSON log.
            let fatal = |e: &str| match log_as {
                LogFormat::Json => tracing::error!("{e}"),
                _ => eprintln!("{e}"),
            };
            let p = match load(pipeline.as_ref()) {
                Ok(p) => p,
                Err(e) => {
                    fatal(&e);
                    return ExitCode::from(2);
                }
            };
            if let Some(d) = duration {
                if !(d.is_finite() && d > 0.0) {
                    fatal("--duration: must be a positive number of seconds");
                    return ExitCode::from(2);
                }
            }
            let opts = RunOptions {
                duration: duration.map(Duration::from_secs_f64),
                summary_json,
                source: pipeline
                    .as_ref()
                    .map(|f| std::path::absolute(f).unwrap_or(f.clone())),
                socket,
                no_control,
                no_stats_line,
            };
            match runtime::run(&p, &opts) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    fatal(&format!("qdp: {e}"));
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::GenPcap {
            output,
            flows,
            frame_size,
        } => {
            if flows == 0 || !(60..=1514).contains(&frame_size) {
                eprintln!("gen-pcap: --flows must be > 0 and --frame-size within 60..=1514");
                return ExitCode::from(2);
            }
            let frames = qdp::traffic::udp_frames(flows, frame_size);
            match qdp::traffic::write_pcap(&output, &frames) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("gen-pcap: {}: {e}", output.display());
                    ExitCode::FAILURE
                }
            }
        }
    }
}
