//! Ctrl-C / SIGTERM handling.
//!
//! The handler only raises a flag; the main thread notices it within ~100 ms
//! (every wait is sliced), returns an error, and drops (zeroizes) the private
//! key and any credentials on the way out. A second Ctrl-C, or a main thread
//! stuck in a network call for more than 3 s, exits at once with 130. While
//! `--exec`'s child runs the flag is ignored: the child receives the signal
//! from the terminal itself and sealpost waits for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static CHILD_RUNNING: AtomicBool = AtomicBool::new(false);

pub fn install() {
    // Failure to install (e.g. a handler already set) only loses clean-up on Ctrl-C.
    let _ = ctrlc::set_handler(|| {
        if CHILD_RUNNING.load(Ordering::SeqCst) {
            return;
        }
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(crate::errors::exit::INTERRUPTED));
        }
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(3));
            std::process::exit(i32::from(crate::errors::exit::INTERRUPTED));
        });
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn set_child_running(running: bool) {
    CHILD_RUNNING.store(running, Ordering::SeqCst);
}

/// Sleep for `d` in small slices; `false` if interrupted meanwhile.
pub fn sleep(d: Duration) -> bool {
    sleep_with(d, &mut |_| {})
}

/// Like [`sleep`], calling `tick(remaining)` about every 100 ms.
pub fn sleep_with(d: Duration, tick: &mut dyn FnMut(Duration)) -> bool {
    let end = Instant::now() + d;
    loop {
        if interrupted() {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        tick(end - now);
        std::thread::sleep((end - now).min(Duration::from_millis(100)));
    }
}
