//! The generator's state and its primitive values: ids, names, addresses, phone numbers,
//! timestamps, the product catalogue.
//!
//! All randomness comes from one seeded ChaCha stream owned by [`Gen`], so a seed fixes every
//! byte of every record (ChaCha8 output is specified and portable, unlike `StdRng`).

use crate::attr::{self, m, map, s, Item};
use crate::names::{self, City, StreetStyle};
use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// One product of the generated catalogue.
#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub sku: String,
    pub name: String,
    pub category: &'static str,
    pub price_cents: i64,
    pub color: Option<&'static str>,
    pub size: Option<&'static str>,
}

/// A sort key in both spellings; the table's key schema picks one (see
/// [`crate::WorkloadConfig::numeric_sort_key`]). The text form is the model's identity.
#[derive(Debug, Clone)]
pub(crate) struct SortKey {
    pub text: String,
    pub num: u64,
}

/// Seeded randomness plus the id counters and catalogue every builder shares.
#[derive(Debug)]
pub(crate) struct Gen {
    pub rng: ChaCha8Rng,
    pub catalog: Vec<Product>,
    pub numeric_sort_key: bool,
    pub max_item_bytes: usize,
    user_counter: u64,
    user_mask: u64,
    pub next_order_no: u64,
    next_serial: u64,
}

const USER_ID_BITS: u32 = 40;

impl Gen {
    pub fn new(seed: u64, numeric_sort_key: bool, max_item_bytes: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let catalog = build_catalog(&mut rng, 600);
        let user_mask = rng.gen::<u64>() & ((1 << USER_ID_BITS) - 1);
        let next_order_no = rng.gen_range(100_000_000..800_000_000);
        Gen {
            rng,
            catalog,
            numeric_sort_key,
            max_item_bytes,
            user_counter: 0,
            user_mask,
            next_order_no,
            next_serial: 1_000_000,
        }
    }

    /// A new user id: 8 Crockford base32 characters. A bijection of a counter (odd multiplier
    /// modulo 2^40, then a seeded xor) so ids look random yet never collide.
    pub fn new_user_id(&mut self) -> String {
        self.user_counter += 1;
        let x = (self.user_counter.wrapping_mul(0x9E37_79B9_7F4B) ^ self.user_mask)
            & ((1 << USER_ID_BITS) - 1);
        const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        (0..8)
            .rev()
            .map(|i| ALPHABET[((x >> (i * 5)) & 31) as usize] as char)
            .collect()
    }

    /// A unique number for numeric sort keys of item types that have many items per
    /// partition (sessions, reviews).
    pub fn next_serial(&mut self) -> u64 {
        self.next_serial += 1;
        self.next_serial
    }

    /// The `sk` attribute value for this table's key schema.
    pub fn sk_attr(&self, sk: &SortKey) -> Value {
        if self.numeric_sort_key {
            attr::n(sk.num.to_string())
        } else {
            s(sk.text.clone())
        }
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        *xs.choose(&mut self.rng).expect("non-empty list")
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    /// A catalogue product, skewed towards the head (a few best sellers, a long tail).
    pub fn product(&mut self) -> &Product {
        let u: f64 = self.rng.gen();
        let i = ((self.catalog.len() as f64) * u.powf(2.5)) as usize;
        &self.catalog[i.min(self.catalog.len() - 1)]
    }

    pub fn city(&mut self) -> City {
        // The first 16 cities are in the US: half the customers live there.
        if self.chance(0.5) {
            names::CITIES[self.rng.gen_range(0..16)]
        } else {
            self.pick(names::CITIES)
        }
    }

    /// Fills `#` with digits and `@` with upper-case letters.
    pub fn pattern(&mut self, p: &str) -> String {
        p.chars()
            .map(|c| match c {
                '#' => char::from(b'0' + self.rng.gen_range(0..10u8)),
                '@' => char::from(b'A' + self.rng.gen_range(0..26u8)),
                c => c,
            })
            .collect()
    }

    /// A postal address as a map, written the way the city's country writes it.
    pub fn address(&mut self, city: City, first: &str, last: &str) -> Item {
        let street = self.pick(names::streets(city.street_style));
        let no = self.rng.gen_range(1..=240);
        let line1 = match city.street_style {
            StreetStyle::English => format!("{} {street}", self.rng.gen_range(1..=9800)),
            StreetStyle::French => format!("{no} {street}"),
            StreetStyle::Spanish | StreetStyle::Portuguese => format!("{street}, {no}"),
            StreetStyle::Japanese => format!(
                "{}-{}-{} {street}",
                self.rng.gen_range(1..=6),
                self.rng.gen_range(1..=30),
                self.rng.gen_range(1..=20)
            ),
            _ => format!("{street} {no}"),
        };
        let mut a = map([
            ("name", s(format!("{first} {last}"))),
            ("line1", s(line1)),
            ("city", s(city.name)),
            ("region", s(city.region)),
            ("postal_code", s(self.pattern(city.postcode))),
            ("country", s(city.country)),
        ]);
        if self.chance(0.2) {
            let unit = match self.rng.gen_range(0..3) {
                0 => format!("Apt {}", self.rng.gen_range(1..=40)),
                1 => format!("Suite {}", self.rng.gen_range(100..=900)),
                _ => format!("Floor {}", self.rng.gen_range(1..=12)),
            };
            a.insert("line2".into(), s(unit));
        }
        a
    }

    pub fn address_attr(&mut self, city: City, first: &str, last: &str) -> Value {
        m(self.address(city, first, last))
    }

    /// `first.last42@domain`, lower case, accents and spaces dropped.
    pub fn email(&mut self, first: &str, last: &str) -> String {
        let clean = |x: &str| -> String {
            x.chars()
                .filter_map(|c| match c {
                    'a'..='z' | 'A'..='Z' | '0'..='9' => Some(c.to_ascii_lowercase()),
                    'é' | 'è' | 'ë' | 'É' => Some('e'),
                    'á' | 'à' | 'ã' => Some('a'),
                    'í' => Some('i'),
                    'ó' | 'ö' | 'ô' => Some('o'),
                    'ü' | 'ú' => Some('u'),
                    'ç' => Some('c'),
                    'ñ' => Some('n'),
                    'ä' => Some('a'),
                    _ => None,
                })
                .collect()
        };
        let (f, l) = (clean(first), clean(last));
        let domain = self.pick(names::EMAIL_DOMAINS);
        match self.rng.gen_range(0..5) {
            0 => format!("{f}.{l}@{domain}"),
            1 => format!("{f}{l}{}@{domain}", self.rng.gen_range(1..=99)),
            2 => format!("{}{l}@{domain}", &f[..1.min(f.len())]),
            3 => format!("{f}_{l}{}@{domain}", self.rng.gen_range(1970..=2008)),
            _ => format!("{f}.{l}.{}@{domain}", self.rng.gen_range(1..=999)),
        }
    }

    pub fn hex(&mut self, bytes: usize) -> String {
        (0..bytes)
            .map(|_| format!("{:02x}", self.rng.gen::<u8>()))
            .collect()
    }

    /// A 38-digit integer, DynamoDB's maximum precision: ledger ids that only survive a
    /// round trip if numbers are kept as strings.
    pub fn ledger_id(&mut self) -> String {
        let mut d = String::with_capacity(38);
        d.push(char::from(b'1' + self.rng.gen_range(0..9u8)));
        for _ in 0..37 {
            d.push(char::from(b'0' + self.rng.gen_range(0..10u8)));
        }
        d
    }

    /// A thumbnail of a random size, see [`crate::blob::thumbnail`].
    pub fn thumbnail(&mut self) -> Vec<u8> {
        let w = self.rng.gen_range(16..=32);
        let h = self.rng.gen_range(16..=32);
        crate::blob::thumbnail(&mut self.rng, w, h)
    }
}

/// `2026-11-26T06:00:00.123Z`: ISO 8601 in UTC with milliseconds, as apps store timestamps.
pub(crate) fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `2026-11-29`
pub(crate) fn date(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// Spells an integer as DynamoDB never would but clients may send and moto keeps:
/// `1250` -> `1.25E+3`. Used rarely, to keep number canonicalisation honest.
pub(crate) fn exponent_form(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let exp = digits.len() - 1;
    let mantissa = digits.trim_end_matches('0');
    let sign = if v < 0 { "-" } else { "" };
    if mantissa.len() <= 1 {
        format!("{sign}{}E+{exp}", &digits[..1])
    } else {
        format!("{sign}{}.{}E+{exp}", &mantissa[..1], &mantissa[1..])
    }
}

fn build_catalog(rng: &mut ChaCha8Rng, n: usize) -> Vec<Product> {
    let mut out = Vec::with_capacity(n);
    let mut sku_no: u32 = rng.gen_range(10_000..20_000);
    while out.len() < n {
        let (category, nouns, (lo, hi)) = *names::CATEGORIES.choose(rng).expect("categories");
        let noun = nouns.choose(rng).expect("nouns");
        let brand = names::BRANDS.choose(rng).expect("brands");
        let material = names::MATERIALS.choose(rng).expect("materials");
        // Prices end in .99, .95, .90 or .00 like real price lists.
        let whole = rng.gen_range(lo / 100..=hi / 100);
        let cents = *[99, 95, 90, 0, 49].choose(rng).expect("cents");
        let price_cents = whole * 100 + cents;
        sku_no += rng.gen_range(1..40);
        let wearable = matches!(category, "Apparel" | "Footwear");
        let colors = if wearable || rng.gen_bool(0.3) {
            rng.gen_range(1..=3)
        } else {
            0
        };
        let chosen: Vec<&(&str, &str)> = names::COLORS.choose_multiple(rng, colors).collect();
        for variant in 0..colors.max(1) {
            let color = chosen.get(variant).copied();
            let size = if wearable {
                Some(*names::SIZES.choose(rng).expect("sizes"))
            } else {
                None
            };
            let mut sku = format!("{}-{sku_no}", &category[..3].to_uppercase());
            if let Some((code, _)) = color {
                sku.push('-');
                sku.push_str(code);
            }
            if let Some(sz) = size {
                sku.push('-');
                sku.push_str(sz);
            }
            out.push(Product {
                sku,
                name: format!("{brand} {material} {noun}"),
                category,
                price_cents,
                color: color.map(|(_, name)| *name),
                size,
            });
        }
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponent_forms() {
        assert_eq!(exponent_form(100), "1E+2");
        assert_eq!(exponent_form(1250), "1.25E+3");
        assert_eq!(exponent_form(7), "7E+0");
    }

    #[test]
    fn user_ids_are_unique_and_8_chars() {
        let mut g = Gen::new(1, false, 20_000);
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| g.new_user_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|i| i.len() == 8));
    }

    #[test]
    fn iso_has_millis() {
        assert_eq!(iso(1_795_672_800_123), "2026-11-26T06:00:00.123Z");
    }
}
