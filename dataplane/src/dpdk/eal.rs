//! The Environment Abstraction Layer: start-up and clean-up, lcores and their NUMA nodes, and
//! running a Rust closure on a worker lcore (a panic in it is caught and reported as a failed
//! worker, never unwound into C).
//!
//! Limits: one EAL per process; `rte_eal_init` keeps its argument strings, so they are leaked for
//! the life of the process.

use std::ffi::{c_void, CString};
use std::os::raw::{c_char, c_int};

use dpdk_sys as sys;

use super::{DpdkError, LcoreId, Result, SocketId};

/// The running Environment Abstraction Layer. Dropping it cleans the EAL up.
pub struct Eal {
    _private: (),
}

impl Eal {
    /// Starts the EAL with `args` (`argv[0]` included). Only one EAL may exist per process.
    pub fn init(args: &[String]) -> Result<Eal> {
        let cargs: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_str()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| DpdkError::new("EAL arguments", "an argument contains a NUL byte"))?;
        // rte_eal_init keeps pointers into argv (and may permute it): leak both so they live for
        // the whole process.
        let cargs: &'static [CString] = Box::leak(cargs.into_boxed_slice());
        let argv: &'static mut [*mut c_char] = Box::leak(
            cargs
                .iter()
                .map(|c| c.as_ptr() as *mut c_char)
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let argc = argv.len() as c_int;
        // SAFETY: argv holds argc valid NUL-terminated strings that live for the rest of the process.
        let rc = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if rc < 0 {
            return Err(DpdkError::from_errno("EAL start-up failed"));
        }
        Ok(Eal { _private: () })
    }

    /// The lcore the calling thread runs as (the main lcore for the thread that called `init`).
    pub fn main_lcore(&self) -> LcoreId {
        // SAFETY: the EAL is initialised.
        LcoreId(unsafe { sys::rte_get_main_lcore() })
    }

    /// NUMA node of an lcore.
    pub fn lcore_socket(&self, lcore: LcoreId) -> SocketId {
        // SAFETY: the EAL is initialised; out-of-range ids return a sentinel, not UB.
        let s = unsafe { sys::rte_lcore_to_socket_id(lcore.0) };
        SocketId(s as i32)
    }

    /// Number of ethdev ports the EAL probed.
    pub fn port_count(&self) -> u16 {
        // SAFETY: the EAL is initialised.
        unsafe { sys::rte_eth_dev_count_avail() }
    }

    /// Runs `f` on worker lcore `lcore`. The lcore must be idle.
    pub fn launch<F>(&self, lcore: LcoreId, f: F) -> Result<()>
    where
        F: FnOnce() -> i32 + Send + 'static,
    {
        type Job = Box<dyn FnOnce() -> i32 + Send>;
        unsafe extern "C" fn trampoline(arg: *mut c_void) -> c_int {
            // SAFETY: arg is the Box<Job> leaked by `launch` below and is consumed exactly once.
            let job: Box<Job> = unsafe { Box::from_raw(arg as *mut Job) };
            // A panic must not unwind into C: report it as a failed worker.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or(-1)
        }
        let job: Box<Job> = Box::new(Box::new(f));
        let arg = Box::into_raw(job) as *mut c_void;
        // SAFETY: trampoline has the lcore_function_t signature; arg stays valid until it runs.
        let rc = unsafe { sys::rte_eal_remote_launch(Some(trampoline), arg, lcore.0) };
        if rc < 0 {
            // SAFETY: the launch failed, so the trampoline never took ownership of arg.
            drop(unsafe { Box::from_raw(arg as *mut Job) });
            return Err(DpdkError::from_code(
                format!("launching a worker on lcore {}", lcore.0),
                rc,
            ));
        }
        Ok(())
    }

    /// Waits for the function running on `lcore` and returns its result.
    pub fn wait(&self, lcore: LcoreId) -> i32 {
        // SAFETY: the EAL is initialised; waiting on an idle lcore returns at once.
        unsafe { sys::rte_eal_wait_lcore(lcore.0) }
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: every port has been closed and every worker waited for by the owner before dropping the EAL; rte_eal_cleanup releases hugepages and runtime files.
        unsafe {
            sys::rte_eal_cleanup();
        }
    }
}
