//! The server's global allocator: mimalloc (request handling allocates many short-lived values
//! across threads, where glibc's malloc spent a fifth of the CPU in profiles), with two of its
//! options set before the runtime's threads allocate.
//!
//! This crate is apart from the server because setting them is an FFI call, and the rest of
//! the workspace forbids `unsafe`.

pub use mimalloc::MiMalloc;

/// `mi_option_e` numbers in the mimalloc v3 header that libmimalloc-sys builds (its constants
/// name the v2 numbering).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Milliseconds a freed page stays committed before it is given back to the system. At 0,
/// every page emptied under load was decommitted and faulted in again by the next request
/// (a fifth of the uncached read throughput, bench/README.md); mimalloc's default of 1,000
/// holds more memory between bursts. 10 ms keeps the pages a busy server reuses and still
/// returns them as soon as it goes quiet.
pub const PURGE_DELAY_MS: std::os::raw::c_long = 10;

/// Arenas committed as they are used rather than up front, and freed pages given back to the
/// system after [`PURGE_DELAY_MS`] rather than mimalloc's second: the demo server's resident
/// memory after start went from 120–160 MiB to about 85 MiB (bench/README.md). A
/// `MIMALLOC_ARENA_EAGER_COMMIT` or `MIMALLOC_PURGE_DELAY` in the environment still wins. Call
/// it first thing in `main`.
pub fn bound_resident_memory() {
    for (option, env, value) in [
        (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT", 0),
        (PURGE_DELAY, "MIMALLOC_PURGE_DELAY", PURGE_DELAY_MS),
    ] {
        if std::env::var_os(env).is_none() {
            #[allow(unsafe_code)]
            // SAFETY: `mi_option_set` takes two integers by value and stores the option in a
            // process-wide table that mimalloc reads atomically; any value is valid for both.
            unsafe {
                libmimalloc_sys::mi_option_set(option, value)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    #[allow(unsafe_code)]
    fn get(option: libmimalloc_sys::mi_option_t) -> std::os::raw::c_long {
        // SAFETY: reads an option by value.
        unsafe { libmimalloc_sys::mi_option_get(option) }
    }

    /// The numbers name the options meant: before they are set, each holds its documented
    /// v3 default (eager commit 2, "on systems that overcommit"; purge delay 1000 ms).
    #[test]
    fn the_numbers_name_the_options_meant_and_end_at_their_values() {
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_some()
            || std::env::var_os("MIMALLOC_PURGE_DELAY").is_some()
        {
            println!("skipped: a MIMALLOC_ option is set in the environment");
            return;
        }
        assert_eq!(get(super::ARENA_EAGER_COMMIT), 2);
        assert_eq!(get(super::PURGE_DELAY), 1000);
        super::bound_resident_memory();
        assert_eq!(get(super::ARENA_EAGER_COMMIT), 0);
        assert_eq!(get(super::PURGE_DELAY), super::PURGE_DELAY_MS);
    }
}
