//! One 4 MiB allocation, freed at once, before the first reconstruction: it sets glibc's
//! dynamic mmap threshold, which decides whether reconstruction's short-lived megabyte buffers
//! are recycled or mapped and unmapped one by one.
//!
//! glibc serves a request above its mmap threshold (128 KiB at start) with its own `mmap`, and
//! when such a block is freed it raises the threshold to the block's size (up to 32 MiB) and
//! the trim threshold to twice that (`free`, "dynamic mmap threshold" in mallopt(3)). Which
//! block is freed first was an accident of the code around it: with the spill's buffers
//! pooled, Parquet's page buffers (about 1 MiB decompressed) were each mapped and unmapped,
//! 450k page faults and half a second of system time per dry run of the 1.17M-row benchmark
//! instead of 40k; with a 16 MiB spill read buffer freed first, the threshold went to 16 MiB
//! and the arenas held the freed megabytes (peak RSS 1.6x from 100k to 1M items). 4 MiB is
//! above the page buffers and below the spill buffers (which are pooled, not freed): measured
//! in docs/BENCHMARKS.md. The workspace forbids `unsafe`, which `mallopt` would need, and an
//! environment variable would have to be set before the process starts. Under another
//! allocator this is one allocation of no consequence.

use std::sync::Once;

/// Bytes of the block: above Parquet's page buffers, below glibc's 32 MiB ceiling.
const BLOCK: usize = 4 << 20;

/// Allocates and frees the block once per process.
pub fn raise_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let block: Vec<u8> = Vec::with_capacity(BLOCK);
        // Kept from being optimised away: the allocation is the point.
        std::hint::black_box(&block);
        drop(block);
    });
}
