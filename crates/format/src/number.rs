//! DynamoDB numbers: validated, and reduced to one canonical text per value.
//!
//! DynamoDB sends numbers as strings of up to 38 significant digits, and the string is what the
//! change log keeps (lossless). Two strings can denote the same number (`1E+2`, `100`, `100.0`),
//! and DynamoDB treats them as the same key; so the key encoding uses [`canonical`] instead.

use std::fmt;

/// Why a string is not a DynamoDB number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberError {
    /// The offending text.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a DynamoDB number: {}",
            self.text, self.reason
        )
    }
}

impl std::error::Error for NumberError {}

/// Maximum significant digits DynamoDB keeps.
pub const MAX_DIGITS: usize = 38;

/// The canonical text of a DynamoDB number: `0`, or `[-]D[.DDD]E<exp>` with no leading or trailing
/// zeros in the digits, i.e. scientific notation with one digit before the point. Equal values give
/// equal text; different values give different text.
pub fn canonical(text: &str) -> Result<String, NumberError> {
    let parsed = analyse(text)?;
    let Some((first, last)) = parsed.significant else {
        return Ok("0".to_string());
    };
    // All digits, and the power of ten of the first significant one.
    let digits: String = format!("{}{}", parsed.int_part, parsed.frac_part);
    let significant = &digits[first..=last];
    let point = parsed.int_part.len() as i64 - first as i64 - 1 + parsed.exp;
    let (lead, tail) = significant.split_at(1);
    let sign = if parsed.negative { "-" } else { "" };
    Ok(if tail.is_empty() {
        format!("{sign}{lead}E{point}")
    } else {
        format!("{sign}{lead}.{tail}E{point}")
    })
}

/// Whether `text` is a DynamoDB number, with the same verdict and error as [`canonical`] but
/// without building the canonical text. Capture checks every `N` of every image and needs the
/// canonical text only for keys and number sets, so the check must not allocate.
pub fn check(text: &str) -> Result<(), NumberError> {
    analyse(text).map(|_| ())
}

/// A number taken apart: sign, the digits either side of the point, the exponent, and the span
/// (first and last index into the int and fraction digits read as one string) of its
/// significant digits, `None` for zero.
struct Parsed<'a> {
    negative: bool,
    int_part: &'a str,
    frac_part: &'a str,
    exp: i64,
    significant: Option<(usize, usize)>,
}

fn analyse(text: &str) -> Result<Parsed<'_>, NumberError> {
    let bad = |reason| NumberError {
        text: text.to_string(),
        reason,
    };
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        Some(_) => (false, text),
        None => return Err(bad("empty")),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad("no digits"));
    }
    if !all_digits(int_part) || !all_digits(frac_part) {
        return Err(bad("unexpected character"));
    }
    let exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) || digits.len() > 6 {
                return Err(bad("bad exponent"));
            }
            e.parse().map_err(|_| bad("bad exponent"))?
        }
    };
    let digits = || int_part.bytes().chain(frac_part.bytes());
    let first = digits().position(|b| b != b'0');
    let significant = first.map(|first| {
        let total = int_part.len() + frac_part.len();
        let trailing = digits().rev().position(|b| b != b'0').unwrap_or(0);
        (first, total - 1 - trailing)
    });
    if let Some((first, last)) = significant {
        if last - first + 1 > MAX_DIGITS {
            return Err(bad("more than 38 significant digits"));
        }
    }
    Ok(Parsed {
        negative,
        int_part,
        frac_part,
        exp,
        significant,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_values_have_equal_text() {
        for (a, b) in [
            ("1E+2", "100"),
            ("100.000", "100"),
            ("0.01", "1e-2"),
            ("-0", "0"),
            ("0.0E5", "0"),
            ("+5", "5"),
            (".5", "0.5"),
            ("5.", "5"),
            (
                "12345678901234567890123456789012345678",
                "1.2345678901234567890123456789012345678E37",
            ),
        ] {
            assert_eq!(canonical(a).unwrap(), canonical(b).unwrap(), "{a} vs {b}");
        }
    }

    #[test]
    fn different_values_have_different_text() {
        for (a, b) in [("1", "-1"), ("10", "1"), ("0.1", "1"), ("1.5", "15")] {
            assert_ne!(canonical(a).unwrap(), canonical(b).unwrap());
        }
    }

    #[test]
    fn garbage_is_refused_with_the_text_named() {
        for t in [
            "",
            "-",
            "abc",
            "1.2.3",
            "1e",
            "1e+",
            "0x10",
            "1 ",
            "NaN",
            "Infinity",
            "1e1234567",
        ] {
            let e = canonical(t).unwrap_err();
            assert_eq!(e.text, t);
        }
        assert!(canonical(&"1".repeat(39)).is_err());
        assert!(canonical(&format!("{}000", "9".repeat(38))).is_ok());
    }

    proptest! {
        #[test]
        fn check_gives_the_verdict_and_error_of_canonical(text in "[-+]?[0-9.]{0,45}([eE][-+]?[0-9]{0,8})?|\\PC{0,6}") {
            prop_assert_eq!(check(&text), canonical(&text).map(|_| ()));
        }

        #[test]
        fn scaling_by_powers_of_ten_keeps_the_value(d in "[1-9][0-9]{0,36}", shift in 0usize..20) {
            // d * 10^shift written two ways.
            let plain = format!("{d}{}", "0".repeat(shift));
            let sci = format!("{d}E+{shift}");
            prop_assert_eq!(canonical(&plain).unwrap(), canonical(&sci).unwrap());
        }
    }
}
