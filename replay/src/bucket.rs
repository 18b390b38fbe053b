//! How many key-hash buckets a restore uses (a planning policy). The bucket of a key is the
//! format's rule, [`rewind_format::bucket_of`].

/// How many buckets a restore of `input_bytes` of Parquet uses: about 4 MiB of compressed input
/// per bucket (a few tens of MB decoded), at least 16 so two cores and the writer stay busy, at
/// most 256 so spill files stay few. Deterministic in the input size, so a resumed restore with
/// the same pinned plan gets the same buckets.
pub fn bucket_count_for(input_bytes: u64) -> u32 {
    const PER_BUCKET: u64 = 4 << 20;
    let wanted = input_bytes.div_ceil(PER_BUCKET).max(1);
    (wanted.next_power_of_two() as u32).clamp(16, 256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_bounded_powers_of_two() {
        assert_eq!(bucket_count_for(0), 16);
        assert_eq!(bucket_count_for(100 << 20), 32);
        assert_eq!(bucket_count_for(10 << 30), 256);
    }
}
