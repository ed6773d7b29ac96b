//! Callgrind client requests, so that `benches/cachegrind.sh` counts the
//! instructions and cache misses of exactly the timed part of one probe run
//! (`--probe`), and not its setup.
//!
//! A client request is a magic instruction sequence that valgrind recognises
//! and that is a no-op on real hardware (the four rotations of `rdi` add up to
//! 128 bits; `xchg rbx, rbx` changes nothing), so these calls cost a few
//! cycles outside valgrind. They are only made in probe mode anyway. Other
//! architectures get no-ops.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Set by `--probe`: only then do the timed regions talk to callgrind.
static ON: AtomicBool = AtomicBool::new(false);

pub fn enable() {
    // `CG_WHOLE=1`: no regions, so that a whole-run profile keeps its
    // per-function attribution (for callgrind_annotate).
    if std::env::var_os("CG_WHOLE").is_none() {
        ON.store(true, Relaxed);
    }
}

/// `VG_USERREQ_TOOL_BASE('C', 'T')`: callgrind's first request.
#[cfg(target_arch = "x86_64")]
const CALLGRIND_BASE: u64 = ((b'C' as u64) << 24) | ((b'T' as u64) << 16);
/// `CALLGRIND_DUMP_STATS`: write the costs counted since the last zeroing.
#[cfg(target_arch = "x86_64")]
const DUMP_STATS: u64 = CALLGRIND_BASE;
/// `CALLGRIND_ZERO_STATS`: zero the costs of every thread.
#[cfg(target_arch = "x86_64")]
const ZERO_STATS: u64 = CALLGRIND_BASE + 1;

#[cfg(target_arch = "x86_64")]
#[inline(never)]
fn client_request(request: u64) {
    let args: [u64; 6] = [request, 0, 0, 0, 0, 0];
    let mut result: u64 = 0;
    // SAFETY: valgrind's documented x86-64 client-request sequence
    // (valgrind.h, `VALGRIND_DO_CLIENT_REQUEST_EXPR`): `rdi` is rotated by 128
    // bits in all, so it ends unchanged; `xchg rbx, rbx` is a no-op; `rax`
    // points to the argument block, which valgrind only reads; `rdx` carries
    // the (default) result. Flags are clobbered, which `asm!` assumes.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") result,
            options(nostack),
        );
    }
    std::hint::black_box(result);
}

#[cfg(not(target_arch = "x86_64"))]
fn client_request(_request: u64) {}

#[cfg(not(target_arch = "x86_64"))]
const DUMP_STATS: u64 = 0;
#[cfg(not(target_arch = "x86_64"))]
const ZERO_STATS: u64 = 0;

/// Start of a measured region: callgrind forgets everything counted so far.
#[inline]
pub fn start() {
    if ON.load(Relaxed) {
        client_request(ZERO_STATS);
    }
}

/// End of a measured region: callgrind writes what it counted since
/// [`start`] to `<out-file>.1` (`.2`, ... for later regions).
#[inline]
pub fn stop() {
    if ON.load(Relaxed) {
        client_request(DUMP_STATS);
    }
}
