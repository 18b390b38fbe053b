//! CRC32C, in the encodings S3 and the local backend use.
//!
//! Every object is written with a CRC32C that the writer computed from the bytes it meant to
//! store, and every read recomputes it: a bit flipped on disk, a truncated upload or an object
//! replaced behind the store's back is then an error instead of a silently wrong restore. CRC32C
//! because S3 supports it natively (`x-amz-checksum-crc32c`) and it is hardware-accelerated.
//! S3 carries it as base64 of the big-endian `u32`; the local backend puts it, as 8 hex digits,
//! in the name of a sidecar file.

use crate::error::StoreError;
use base64::Engine as _;

/// CRC32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// S3's encoding of a CRC32C: base64 of the 4 big-endian bytes (`x-amz-checksum-crc32c`).
pub fn to_base64(crc: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

/// Reads S3's encoding back; `None` unless it is base64 of exactly 4 bytes.
pub fn from_base64(s: &str) -> Option<u32> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let arr: [u8; 4] = bytes.try_into().ok()?;
    Some(u32::from_be_bytes(arr))
}

/// The local backend's encoding: 8 lower-case hex digits.
pub fn to_hex(crc: u32) -> String {
    format!("{crc:08x}")
}

/// Reads the local encoding back; `None` unless exactly 8 hex digits.
pub fn from_hex(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Checks `body` against the stored S3-style checksum of the object at `location`.
///
/// `stored` is what the backend returned (`None`: the object has no CRC32C). The error names
/// the object, the stored and the computed checksum, both in S3's base64 encoding.
pub fn verify(location: &str, stored: Option<&str>, body: &[u8]) -> Result<(), StoreError> {
    let Some(stored) = stored else {
        return Err(StoreError::MissingChecksum {
            key: location.to_string(),
        });
    };
    let actual = crc32c(body);
    match from_base64(stored) {
        Some(expected) if expected == actual => Ok(()),
        _ => Err(StoreError::ChecksumMismatch {
            key: location.to_string(),
            expected: stored.to_string(),
            actual: to_base64(actual),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_value() {
        // RFC 3720 test vector: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(to_hex(0x8a91_36aa), "8a9136aa");
        assert_eq!(to_base64(0x8a91_36aa), "ipE2qg==");
    }

    #[test]
    fn encodings_round_trip() {
        for crc in [0u32, 1, 0xdead_beef, u32::MAX] {
            assert_eq!(from_base64(&to_base64(crc)), Some(crc));
            assert_eq!(from_hex(&to_hex(crc)), Some(crc));
        }
        assert_eq!(from_base64("AAAA"), None); // 3 bytes
        assert_eq!(from_base64("not base64!"), None);
        assert_eq!(from_hex("1234567"), None);
        assert_eq!(from_hex("1234567g"), None);
        assert_eq!(from_hex("+1234567"), None);
    }

    #[test]
    fn verify_accepts_the_right_checksum_only() {
        let body = b"hello";
        let good = to_base64(crc32c(body));
        verify("s3://b/k", Some(&good), body).unwrap();

        let bad = to_base64(crc32c(body) ^ 1);
        match verify("s3://b/k", Some(&bad), body) {
            Err(StoreError::ChecksumMismatch {
                key,
                expected,
                actual,
            }) => {
                assert_eq!(key, "s3://b/k");
                assert_eq!(expected, bad);
                assert_eq!(actual, good);
            }
            other => panic!("expected ChecksumMismatch, got {other:?}"),
        }
        assert!(matches!(
            verify("s3://b/k", Some("garbage"), body),
            Err(StoreError::ChecksumMismatch { .. })
        ));
        assert!(matches!(
            verify("s3://b/k", None, body),
            Err(StoreError::MissingChecksum { key }) if key == "s3://b/k"
        ));
    }
}
