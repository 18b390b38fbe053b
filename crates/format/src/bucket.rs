//! Key-hash buckets: the unit of parallelism and of bounded memory for reconstruction, restore
//! progress and snapshots. The function is part of the on-S3 format (docs/FORMAT.md): snapshot
//! buckets (written by backups and compaction) and restore buckets must agree, so it lives here
//! with the rest of the format and never changes within a format version.

/// The bucket of a canonical binary key among `buckets` (a power of two, at least 1).
///
/// CRC32C of the key, finalised with MurmurHash3's `fmix32` so that keys differing in one byte
/// spread over all buckets, then the low bits. With power-of-two counts, a key's bucket among 64
/// is its bucket among 256 modulo 64, so a coarser layout maps onto a finer one.
pub fn bucket_of(key: &[u8], buckets: u32) -> u32 {
    debug_assert!(buckets.is_power_of_two(), "bucket counts are powers of two");
    fmix32(crc32c::crc32c(key)) & (buckets - 1)
}

fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_buckets_are_fine_buckets_folded() {
        for i in 0u32..2000 {
            let key = format!("user#{i}");
            assert_eq!(
                bucket_of(key.as_bytes(), 256) % 64,
                bucket_of(key.as_bytes(), 64)
            );
        }
    }

    #[test]
    fn spreads_similar_keys() {
        let mut counts = [0u32; 16];
        for i in 0u32..16_000 {
            counts[bucket_of(format!("k{i}").as_bytes(), 16) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
