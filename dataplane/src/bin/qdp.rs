//! The qdp daemon: `qdp run`, `qdp check`, `qdp gen-pcap`, `qdp agent` (the OpenStack agent).

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
    /// Program the local qdp from OpenStack Neutron's SFC API (networking-sfc): poll Neutron,
    /// sync qdp's SFC tables with it over the control socket, until SIGINT/SIGTERM.
    Agent {
        /// The agent's configuration file (TOML; docs/openstack-agent.md).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Poll once, sync, and exit (0 when both worked).
        #[arg(long)]
        once: bool,
        /// Log as text or JSON lines on stderr, or to the systemd journal.
        #[arg(long, value_name = "text|json|journald")]
        log_format: Option<LogFormat>,
        /// Log level or filter [default: $RUST_LOG, else info].
        #[arg(long, value_name = "LEVEL")]
        log_level: Option<String>,
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
    /// Check this machine against a pipeline (hugepages, IOMMU, drivers, VFs, cores): pass, warn
    /// or fail and the fix for each; exit 1 when any check fails.
    Doctor {
        /// Pipeline file; without it, the machine is checked on its own.
        pipeline: Option<PathBuf>,
        /// Read /proc and /sys under this directory instead of / (a copy, for tests).
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Install qdp as a systemd service running this pipeline: the binaries, the pipeline as
    /// /etc/qdp/pipeline.toml and qdp.service rendered from it, under --root.
    InstallService {
        pipeline: PathBuf,
        /// Install under this directory instead of / (packaging, tests).
        #[arg(long, value_name = "DIR", env = "DESTDIR", default_value = "/")]
        root: PathBuf,
        /// Directory of the installed binaries, as the unit names them.
        #[arg(long, value_name = "DIR", default_value = "/usr/bin")]
        bindir: PathBuf,
        /// WatchdogSec= of the unit.
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        watchdog_sec: u32,
        /// Replace an installed /etc/qdp/pipeline.toml that differs.
        #[arg(long)]
        force: bool,
        /// Print the unit and install nothing.
        #[arg(long)]
        print_unit: bool,
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
        Cmd::Agent {
            config,
            once,
            log_format,
            log_level,
        } => {
            if let Err(e) = runtime::init_logging(log_format, log_level.as_deref()) {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
            let c = match qdp::agent::AgentConfig::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("qdp agent: {e}");
                    return ExitCode::from(2);
                }
            };
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                if let Err(e) = signal_hook::flag::register(sig, std::sync::Arc::clone(&stop)) {
                    eprintln!("qdp agent: signal handler: {e}");
                    return ExitCode::FAILURE;
                }
            }
            match qdp::agent::run(&c, &stop, once) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("qdp agent: {e}");
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
        Cmd::Doctor {
            pipeline,
            root,
            json,
        } => doctor(pipeline.as_ref(), &root, json),
        Cmd::InstallService {
            pipeline,
            root,
            bindir,
            watchdog_sec,
            force,
            print_unit,
        } => {
            let options = qdp::systemd::UnitOptions {
                bindir,
                watchdog_s: watchdog_sec,
            };
            install_service(&pipeline, &root, &options, force, print_unit)
        }
    }
}

fn doctor(pipeline: Option<&PathBuf>, root: &std::path::Path, json: bool) -> ExitCode {
    let p = match pipeline.map(|f| load(Some(f))).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let checks = qdp::doctor::run(&qdp::doctor::SysRoot::new(root), p.as_ref());
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&qdp::doctor::to_json(&checks)).expect("json")
        );
    } else {
        match (&p, pipeline) {
            (Some(p), Some(f)) => println!("qdp doctor: pipeline '{}' ({})", p.name, f.display()),
            _ => println!("qdp doctor: this machine (no pipeline given)"),
        }
        print!("{}", qdp::doctor::render_text(&checks));
    }
    if qdp::doctor::any_failed(&checks) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn install_service(
    pipeline: &PathBuf,
    root: &std::path::Path,
    options: &qdp::systemd::UnitOptions,
    force: bool,
    print_unit: bool,
) -> ExitCode {
    use qdp::systemd;
    let p = match load(Some(pipeline)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = systemd::check_options(options) {
        eprintln!("install-service: {e}");
        return ExitCode::from(2);
    }
    let origin = pipeline.display().to_string();
    let unit = systemd::render_unit(&p, &origin, options);
    if print_unit {
        print!("{unit}");
        return ExitCode::SUCCESS;
    }
    let text = match std::fs::read_to_string(pipeline) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("install-service: {}: {e}", pipeline.display());
            return ExitCode::FAILURE;
        }
    };
    let mut binaries = Vec::new();
    match std::env::current_exe() {
        Ok(exe) => {
            let ctl = exe.with_file_name("qdpctl");
            binaries.push(exe);
            if ctl.is_file() {
                binaries.push(ctl);
            }
        }
        Err(e) => {
            eprintln!("install-service: finding the qdp binary: {e}");
            return ExitCode::FAILURE;
        }
    }
    let install = systemd::Install {
        root,
        binaries,
        pipeline_text: &text,
        origin: &origin,
        unit: &unit,
        options,
        force,
    };
    match install.run() {
        Ok(done) => {
            println!(
                "qdp install-service: pipeline '{}' into {}",
                p.name,
                root.display()
            );
            for (path, change) in done {
                println!("  {:9} {}", change.word(), path.display());
            }
            for note in systemd::install_notes(&p) {
                println!("note: {note}");
            }
            println!(
                "then run{}:",
                if root == std::path::Path::new("/") {
                    ""
                } else {
                    " on the target machine"
                }
            );
            for c in systemd::systemctl_commands() {
                println!("  {c}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("install-service: {e}");
            ExitCode::FAILURE
        }
    }
}
