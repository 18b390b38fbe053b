//! Progress is written at most every few seconds: a restore of a large table reports after every
//! bucket, and one DynamoDB write per bucket would cost more than it tells.

use std::time::{Duration, Instant};

/// Decides whether a progress report is written now.
#[derive(Debug)]
pub struct ProgressThrottle {
    every: Duration,
    last: Option<Instant>,
}

impl ProgressThrottle {
    /// Writes at most once per `every`.
    pub fn new(every: Duration) -> Self {
        ProgressThrottle { every, last: None }
    }

    /// Whether a report made at `now` is written (the first one always is).
    pub fn due(&mut self, now: Instant) -> bool {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.every)
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_write_per_period() {
        let mut t = ProgressThrottle::new(Duration::from_secs(5));
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_millis(s);
        assert!(t.due(at(0)));
        assert!(!t.due(at(1_000)));
        assert!(!t.due(at(4_999)));
        assert!(t.due(at(5_000)));
        assert!(!t.due(at(9_000)));
        assert!(t.due(at(10_500)));
    }
}
