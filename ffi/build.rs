//! Generates bindings against the installed DPDK and compiles the inline-function shim.

use std::env;
use std::path::PathBuf;

const MISSING: &str =
    "dpdk-sys: DPDK >= 22.11 not found by pkg-config (libdpdk); install it with: \
apt-get install -y dpdk dpdk-dev libdpdk-dev pkg-config clang libclang-dev";

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=shim.h");
    println!("cargo:rerun-if-changed=shim.c");

    let dpdk = match pkg_config::Config::new()
        .atleast_version("22.11")
        .cargo_metadata(true)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(_) => {
            eprintln!("{MISSING}");
            std::process::exit(1);
        }
    };

    // pkg-config's cflags carry -include rte_config.h and the -march DPDK was built for; both the
    // shim and bindgen must see exactly the same configuration.
    let cflags = pkg_config::get_variable("libdpdk", "cflags").ok();
    let mut clang_args: Vec<String> = dpdk
        .include_paths
        .iter()
        .map(|p| format!("-I{}", p.display()))
        .collect();
    let raw_cflags = std::process::Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .or(cflags)
        .unwrap_or_default();
    let mut words = raw_cflags.split_whitespace().peekable();
    while let Some(w) = words.next() {
        if w == "-include" {
            if let Some(file) = words.next() {
                clang_args.push("-include".into());
                clang_args.push(file.into());
            }
        } else if w.starts_with("-march") || w.starts_with("-D") || w.starts_with("-m") {
            clang_args.push(w.into());
        }
    }

    let mut build = cc::Build::new();
    build
        .file("shim.c")
        .include(".")
        .opt_level(3)
        .warnings(false);
    for p in &dpdk.include_paths {
        build.include(p);
    }
    let mut it = clang_args.iter();
    while let Some(a) = it.next() {
        if a == "-include" {
            if let Some(f) = it.next() {
                build.flag("-include").flag(f);
            }
        } else if !a.starts_with("-I") {
            build.flag(a);
        }
    }
    build.compile("qdp_dpdk_shim");

    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(&clang_args)
        .clang_arg("-I.")
        .allowlist_function("rte_eal_.*")
        .allowlist_function("rte_eth_.*")
        .allowlist_function("rte_pktmbuf_.*")
        .allowlist_function("rte_mempool_.*")
        .allowlist_function("rte_lcore_.*")
        .allowlist_function("rte_socket_.*")
        .allowlist_function("rte_strerror")
        .allowlist_function("rte_get_tsc_hz")
        .allowlist_function("rte_get_main_lcore")
        .allowlist_function("rte_thread_register")
        .allowlist_function("rte_thread_unregister")
        .allowlist_function("rte_log_set_global_level")
        .allowlist_function("rte_openlog_stream")
        .allowlist_function("rte_log_cur_msg_loglevel")
        .allowlist_function("rte_dev_.*")
        .allowlist_function("_rte_.*")
        .allowlist_var("qdp_.*")
        .allowlist_var("RTE_MAX_.*")
        .allowlist_var("RTE_ETH_LINK_.*")
        .allowlist_var("RTE_ETH_NAME_MAX_LEN")
        .allowlist_var("RTE_MEMPOOL_CACHE_MAX_SIZE")
        .allowlist_var("SOCKET_ID_ANY")
        .allowlist_type("rte_mbuf")
        .allowlist_type("rte_eth_.*")
        .allowlist_type("rte_lcore_.*")
        .allowlist_type("rte_log_.*")
        .opaque_type("rte_l2tpv2_.*")
        .opaque_type("rte_gtp_.*")
        .opaque_type("rte_arp_.*")
        .blocklist_function("rte_eth_dev_rx_queue_stop")
        .derive_default(true)
        .layout_tests(true)
        .generate_comments(false)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .unwrap_or_else(|e| {
            eprintln!(
                "dpdk-sys: bindgen failed on the DPDK headers ({e}); is libclang-dev installed?"
            );
            std::process::exit(1);
        });

    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR set by cargo"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings.rs");
}
