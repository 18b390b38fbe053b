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
//! instead of 40–50k; with fresh multi-megabyte spill read buffers freed first, the threshold
//! rose to their size and the arenas kept what they freed (with per-thread row buffers, the
//! 100k-to-1M peak RSS ratio was 1.56–1.66x). 4 MiB is
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
