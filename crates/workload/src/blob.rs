//! Binary attribute values: small PNG thumbnails, delivery signatures, token hashes.
//!
//! Why structured bytes: real binary attributes are files with headers, repeated framing and
//! compressed bodies, not uniform noise. Pure random bytes would understate how well a format
//! compresses; all-zero bytes would overstate it.

use flate2::write::ZlibEncoder;
use flate2::Compression;
use rand::Rng;
use std::io::Write as _;

/// A valid paletted PNG of `w` x `h` pixels (a soft gradient with noise), a few hundred bytes:
/// the kind of avatar or review-photo thumbnail apps keep inline in an item.
pub(crate) fn thumbnail<R: Rng>(rng: &mut R, w: u32, h: u32) -> Vec<u8> {
    let colors: usize = rng.gen_range(8..=16);
    let base = [rng.gen::<u8>(), rng.gen::<u8>(), rng.gen::<u8>()];
    let mut palette = Vec::with_capacity(colors * 3);
    for i in 0..colors {
        for (c, &b) in base.iter().enumerate() {
            let shade = (i * 255 / colors) as u8;
            palette.push((b / 2 + shade / 2).wrapping_sub((c as u8 * 7) % 13));
        }
    }
    let (ax, ay) = (rng.gen_range(1..4u32), rng.gen_range(1..4u32));
    let noise = rng.gen_range(1..=3u32);
    let mut raw = Vec::with_capacity(((w + 1) * h) as usize);
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            let v = (x * ax + y * ay) * colors as u32 / (w * ax + h * ay) + rng.gen_range(0..noise);
            raw.push(v.min(colors as u32 - 1) as u8);
        }
    }
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    z.write_all(&raw).expect("in-memory zlib");
    let idat = z.finish().expect("in-memory zlib");

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]); // 8-bit, paletted, deflate, no filter, no interlace

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"PLTE", &palette);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A captured delivery signature: `SIG1`, canvas size, then strokes of absolute 16-bit points
/// along smooth pen paths (what a courier's handheld uploads), 200-700 bytes.
pub(crate) fn signature<R: Rng>(rng: &mut R) -> Vec<u8> {
    let (w, h) = (400u16, 150u16);
    let strokes: u16 = rng.gen_range(2..=5);
    let mut out = b"SIG1".to_vec();
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&strokes.to_be_bytes());
    let mut x = f32::from(rng.gen_range(20..80u16));
    for _ in 0..strokes {
        let points: u16 = rng.gen_range(15..=40);
        out.extend_from_slice(&points.to_be_bytes());
        let mut y = f32::from(rng.gen_range(40..110u16));
        let (mut dx, mut dy) = (rng.gen_range(1.0..4.0f32), rng.gen_range(-3.0..3.0f32));
        for _ in 0..points {
            dx = (dx + rng.gen_range(-0.8..0.8f32)).clamp(0.5, 5.0);
            dy = (dy + rng.gen_range(-1.5..1.5f32)).clamp(-6.0, 6.0);
            x = (x + dx).clamp(0.0, f32::from(w - 1));
            y = (y + dy).clamp(0.0, f32::from(h - 1));
            out.extend_from_slice(&(x as u16).to_be_bytes());
            out.extend_from_slice(&(y as u16).to_be_bytes());
        }
        x += rng.gen_range(5.0..25.0f32);
    }
    out
}

/// 32 bytes that stand for a SHA-256 of a session token: hashes *are* uniform, so these are.
pub(crate) fn token_hash<R: Rng>(rng: &mut R) -> Vec<u8> {
    let mut h = vec![0u8; 32];
    rng.fill(&mut h[..]);
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn crc_matches_png_iend() {
        // The IEND chunk's CRC is the same in every PNG.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn blobs_are_a_few_hundred_bytes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let t = thumbnail(&mut rng, 24, 24);
            assert!(t.starts_with(b"\x89PNG"), "png signature");
            assert!(
                (100..2000).contains(&t.len()),
                "thumbnail {} bytes",
                t.len()
            );
            let s = signature(&mut rng);
            assert!(
                (100..1200).contains(&s.len()),
                "signature {} bytes",
                s.len()
            );
        }
    }
}
