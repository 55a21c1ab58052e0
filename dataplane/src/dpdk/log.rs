//! DPDK's own log (EAL, drivers, libraries) as `tracing` events with the target `dpdk`, each at
//! the level DPDK gave its message, so that the process has one log in one format (text, JSON or
//! the journal) instead of DPDK's lines on stderr beside it.
//!
//! DPDK writes its messages to a stdio stream; [`log_to_tracing`] gives it one made with glibc's
//! `fopencookie(3)`, whose write function turns each line into an event. DPDK's own threshold
//! (`eal.log_level`) still decides what DPDK writes. Limits: glibc only; text DPDK writes to the
//! stream outside `rte_log` (its dump functions) takes the level of the thread's last message.

use std::ffi::c_void;
use std::os::raw::{c_char, c_int};

use dpdk_sys as sys;

use super::{DpdkError, Result};

/// glibc's `cookie_io_functions_t`.
#[repr(C)]
struct CookieIoFunctions {
    read: Option<unsafe extern "C" fn(*mut c_void, *mut c_char, usize) -> isize>,
    write: Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> isize>,
    seek: Option<unsafe extern "C" fn(*mut c_void, *mut i64, c_int) -> c_int>,
    close: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
}

extern "C" {
    /// glibc's `fopencookie(3)`, which the `libc` crate does not declare.
    fn fopencookie(
        cookie: *mut c_void,
        mode: *const c_char,
        io_funcs: CookieIoFunctions,
    ) -> *mut libc::FILE;
}

/// The event for one line DPDK logged at `level` (`RTE_LOG_EMERG` = 1 .. `RTE_LOG_DEBUG` = 8).
fn emit(level: c_int, line: &str) {
    match level {
        ..=4 => tracing::error!(target: "dpdk", "{line}"),
        5 => tracing::warn!(target: "dpdk", "{line}"),
        6 | 7 => tracing::info!(target: "dpdk", "{line}"),
        _ => tracing::debug!(target: "dpdk", "{line}"),
    }
}

/// The stream's write function: every line of `buf` becomes an event.
unsafe extern "C" fn write_lines(_cookie: *mut c_void, buf: *const c_char, size: usize) -> isize {
    if buf.is_null() || size == 0 {
        return 0;
    }
    // SAFETY: stdio hands the write function `size` readable bytes at `buf`.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), size) };
    // SAFETY: reads the calling thread's record of the message being logged; no precondition.
    let level = unsafe { sys::rte_log_cur_msg_loglevel() };
    // A panic must not unwind into C.
    let _ = std::panic::catch_unwind(|| {
        let text = String::from_utf8_lossy(bytes);
        for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            emit(level, line);
        }
    });
    size as isize
}

/// Sends DPDK's log to `tracing` from now on; call it before the EAL starts, so that its start-up
/// messages are events too.
pub fn log_to_tracing() -> Result<()> {
    let funcs = CookieIoFunctions {
        read: None,
        write: Some(write_lines),
        seek: None,
        close: None,
    };
    // SAFETY: a NUL-terminated mode, a write function of glibc's signature that needs no cookie.
    let stream = unsafe { fopencookie(std::ptr::null_mut(), c"w".as_ptr(), funcs) };
    if stream.is_null() {
        return Err(DpdkError::new(
            "DPDK log",
            std::io::Error::last_os_error().to_string(),
        ));
    }
    // SAFETY: a valid stdio stream, never closed: it lives as long as the process, as DPDK needs.
    let rc = unsafe { sys::rte_openlog_stream(stream.cast()) };
    if rc != 0 {
        return Err(DpdkError::from_code("DPDK log: rte_openlog_stream", rc));
    }
    Ok(())
}
