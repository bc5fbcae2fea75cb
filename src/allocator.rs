//! The allocator of the `relais` binary and of the benchmarks in `examples/`: mimalloc, which spends about
//! 30 % less CPU per accepted letter than glibc's `malloc` (docs/benchmarks.md). It is set to commit memory
//! only as it is used and to give freed pages back at once, so that an idle relais stays small.
//!
//! mimalloc reads its options when it first allocates. Set from `main`, they would come too late: the Rust
//! runtime has already allocated, and mimalloc has committed its first segments eagerly (15 MB more at
//! rest). So they are set from the executable's initialisers, which the loader runs before `main` and before
//! anything allocates through Rust's global allocator.

use libmimalloc_sys::{mi_option_set, mi_option_t};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Option numbers of mimalloc 2 (`mi_option_e` in its `mimalloc.h`), not all exported by `libmimalloc-sys`.
const EAGER_COMMIT: mi_option_t = 3;
const ARENA_EAGER_COMMIT: mi_option_t = 4;
const PURGE_DELAY: mi_option_t = 15;

/// Commit segments and arenas page by page as they are used, and give freed pages back at once.
extern "C" fn lazy_commit() {
    // SAFETY: `mi_option_set` writes mimalloc's option table, a plain static array; nothing else runs yet.
    unsafe {
        mi_option_set(EAGER_COMMIT, 0);
        mi_option_set(ARENA_EAGER_COMMIT, 0);
        mi_option_set(PURGE_DELAY, 0);
    }
}

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static SET_OPTIONS_BEFORE_MAIN: extern "C" fn() = lazy_commit;
