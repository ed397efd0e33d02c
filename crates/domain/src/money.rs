//! Amounts of money, held exactly as whole cents.
//!
//! Amounts arrive as JSON numbers. Parsing them into `f64` would accept `100.001` after
//! rounding, or turn `0.1 + 0.2` style values into surprises, so the literal text of the number
//! is read exactly instead.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative amount with at most two decimals, stored as cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    cents: i64,
}

/// Why a JSON number literal is not an amount of money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a number")]
    NotANumber,
    #[error("must have at most 2 decimals")]
    TooManyDecimals,
    #[error("must not be negative")]
    Negative,
    #[error("is too large")]
    TooLarge,
}

/// Largest number of cents a literal may denote before it is rejected as absurd; well above any
/// business limit and far below `i64::MAX`, so arithmetic on amounts cannot overflow.
const MAX_CENTS: i128 = 1_000_000_000_000_000;

impl Money {
    pub const ZERO: Money = Money { cents: 0 };

    pub const fn from_cents(cents: i64) -> Self {
        Money { cents }
    }

    pub const fn cents(self) -> i64 {
        self.cents
    }

    /// Reads the literal text of a JSON number (`100`, `100.5`, `1.005e2`) exactly.
    pub fn from_json_literal(text: &str) -> Result<Self, MoneyError> {
        let decimal = Decimal::parse(text.trim()).ok_or(MoneyError::NotANumber)?;
        if decimal.negative && decimal.digits.iter().any(|&d| d != 0) {
            return Err(MoneyError::Negative);
        }
        // value = digits * 10^(exponent), and cents = value * 100.
        let shift = decimal.exponent + 2;
        let significant = decimal.significant_digits();
        let mut cents: i128 = 0;
        for (position, &digit) in significant.iter().enumerate() {
            let place = shift + (significant.len() - 1 - position) as i64;
            if place < 0 {
                if digit != 0 {
                    return Err(MoneyError::TooManyDecimals);
                }
                continue;
            }
            if place > 18 {
                if digit != 0 {
                    return Err(MoneyError::TooLarge);
                }
                continue;
            }
            cents += i128::from(digit) * 10_i128.pow(place as u32);
            if cents > MAX_CENTS {
                return Err(MoneyError::TooLarge);
            }
        }
        Ok(Money {
            cents: cents as i64,
        })
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.cents.checked_add(other.cents).map(Money::from_cents)
    }

    pub fn checked_mul(self, quantity: u32) -> Option<Money> {
        self.cents
            .checked_mul(i64::from(quantity))
            .map(Money::from_cents)
    }
}

impl fmt::Display for Money {
    /// Always two decimals, as people write prices: `100.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl Serialize for Money {
    /// A JSON number, integral when there are no cents (`100`, not `100.0`), so events match what
    /// the client sent and what the original demo emitted.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.cents % 100 == 0 {
            serializer.serialize_i64(self.cents / 100)
        } else {
            serializer.serialize_f64(self.cents as f64 / 100.0)
        }
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Stored events were written by `Serialize` above, so the nearest cent of the `f64` is exact
    /// for every amount this system accepts (up to 10^6 with two decimals).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if !value.is_finite() || value < 0.0 || value * 100.0 > MAX_CENTS as f64 {
            return Err(serde::de::Error::custom("amount out of range"));
        }
        Ok(Money::from_cents((value * 100.0).round() as i64))
    }
}

/// A JSON number literal split into sign, digits and a power of ten.
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

impl Decimal {
    /// Follows the JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn parse(text: &str) -> Option<Decimal> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let negative = bytes.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let int_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &bytes[int_start..i];
        if int_part.is_empty() || (int_part.len() > 1 && int_part[0] == b'0') {
            return None;
        }
        let mut frac_part: &[u8] = &[];
        if i < bytes.len() && bytes[i] == b'.' {
            let frac_start = i + 1;
            i = frac_start;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &bytes[frac_start..i];
            if frac_part.is_empty() {
                return None;
            }
        }
        let mut exponent: i64 = 0;
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let exp_negative = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exp_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                // Saturate: an exponent this large is rejected later as too large or too precise.
                exponent = exponent
                    .saturating_mul(10)
                    .saturating_add(i64::from(bytes[i] - b'0'))
                    .min(1_000_000);
                i += 1;
            }
            if i == exp_start {
                return None;
            }
            if exp_negative {
                exponent = -exponent;
            }
        }
        if i != bytes.len() {
            return None;
        }
        let digits = int_part.iter().chain(frac_part).map(|d| d - b'0').collect();
        Some(Decimal {
            negative,
            digits,
            exponent: exponent - frac_part.len() as i64,
        })
    }

    /// The digits without leading zeros (they carry no value and would only cost loop turns).
    fn significant_digits(&self) -> &[u8] {
        let first = self
            .digits
            .iter()
            .position(|&d| d != 0)
            .unwrap_or(self.digits.len());
        &self.digits[first..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<i64, MoneyError> {
        Money::from_json_literal(text).map(Money::cents)
    }

    #[test]
    fn reads_integers_and_two_decimals_exactly() {
        assert_eq!(parse("100"), Ok(10_000));
        assert_eq!(parse("100.5"), Ok(10_050));
        assert_eq!(parse("100.12"), Ok(10_012));
        assert_eq!(parse("0.01"), Ok(1));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("-0"), Ok(0));
    }

    #[test]
    fn trailing_zeros_and_exponents_are_the_same_number() {
        assert_eq!(parse("100.500"), Ok(10_050));
        assert_eq!(parse("1e2"), Ok(10_000));
        assert_eq!(parse("1.0012E2"), Ok(10_012));
        assert_eq!(parse("12345e-2"), Ok(12_345));
        assert_eq!(parse("5E+1"), Ok(5_000));
    }

    #[test]
    fn rejects_a_third_decimal_however_small() {
        assert_eq!(parse("100.001"), Err(MoneyError::TooManyDecimals));
        assert_eq!(parse("100.000000001"), Err(MoneyError::TooManyDecimals));
        assert_eq!(parse("1e-3"), Err(MoneyError::TooManyDecimals));
    }

    #[test]
    fn rejects_negative_and_absurd_values() {
        assert_eq!(parse("-1"), Err(MoneyError::Negative));
        assert_eq!(parse("1e300"), Err(MoneyError::TooLarge));
        assert_eq!(parse("99999999999999999999999"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn rejects_what_is_not_a_json_number() {
        for text in [
            "", "\"100\"", "01", "1.", ".5", "1e", "NaN", "1_000", "true", "1 2",
        ] {
            assert_eq!(parse(text), Err(MoneyError::NotANumber), "{text}");
        }
    }

    #[test]
    fn serializes_as_the_client_wrote_it() {
        let json = |cents| serde_json::to_string(&Money::from_cents(cents)).unwrap();
        assert_eq!(json(10_000), "100");
        assert_eq!(json(10_050), "100.5");
        assert_eq!(json(10_012), "100.12");
        assert_eq!(json(1), "0.01");
    }

    #[test]
    fn round_trips_through_json() {
        for cents in [0, 1, 99, 100, 10_012, 50_000, 100_000_000] {
            let money = Money::from_cents(cents);
            let text = serde_json::to_string(&money).unwrap();
            assert_eq!(serde_json::from_str::<Money>(&text).unwrap(), money);
            assert_eq!(Money::from_json_literal(&text).unwrap(), money);
        }
    }

    #[test]
    fn displays_two_decimals() {
        assert_eq!(Money::from_cents(10_000).to_string(), "100.00");
        assert_eq!(Money::from_cents(5).to_string(), "0.05");
    }
}
