//! Adaptive concurrency of the batch writer: how many BatchWriteItem calls may be in flight,
//! additive increase on clean answers, multiplicative decrease on throttling, and the permits
//! the writer tasks wait for.

use super::{lock, INITIAL_CONCURRENCY};
use std::sync::Mutex;
use tokio::sync::Notify;

/// How many calls may be in flight: starts at [`INITIAL_CONCURRENCY`], grows by one after as
/// many clean responses as the current limit (about once per round of calls), halves on
/// throttling (at least 1). Only a call sent since the last decrease can decrease it again,
/// so one burst of throttled calls halves it once, not once per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LimitState {
    pub(super) limit: usize,
    max: usize,
    in_flight: usize,
    clean_streak: usize,
    /// Incremented by each decrease.
    pub(super) generation: u64,
}

impl LimitState {
    pub(super) fn new(max: usize) -> Self {
        LimitState {
            limit: INITIAL_CONCURRENCY.min(max).max(1),
            max: max.max(1),
            in_flight: 0,
            clean_streak: 0,
            generation: 0,
        }
    }

    /// Takes a slot if one is free; returns the generation the call is sent in.
    pub(super) fn try_acquire(&mut self) -> Option<u64> {
        (self.in_flight < self.limit).then(|| {
            self.in_flight += 1;
            self.generation
        })
    }

    pub(super) fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    pub(super) fn on_clean(&mut self) {
        self.clean_streak += 1;
        if self.clean_streak >= self.limit {
            self.clean_streak = 0;
            self.limit = (self.limit + 1).min(self.max);
        }
    }

    pub(super) fn on_throttle(&mut self, sent_in: u64) {
        if sent_in == self.generation {
            self.limit = (self.limit / 2).max(1);
            self.generation += 1;
            self.clean_streak = 0;
        }
    }
}

/// [`LimitState`] shared by the writer tasks, with waiting for a free slot.
#[derive(Debug)]
pub(super) struct AdaptiveLimit {
    state: Mutex<LimitState>,
    freed: Notify,
}

impl AdaptiveLimit {
    pub(super) fn new(max: usize) -> Self {
        AdaptiveLimit {
            state: Mutex::new(LimitState::new(max)),
            freed: Notify::new(),
        }
    }

    pub(super) fn current(&self) -> usize {
        lock(&self.state).limit
    }

    pub(super) async fn acquire(&self) -> Permit<'_> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(generation) = lock(&self.state).try_acquire() {
                return Permit {
                    limit: self,
                    generation,
                };
            }
            freed.await;
        }
    }
}

/// A slot of the limit, released when dropped; report how the call went first.
#[derive(Debug)]
pub(super) struct Permit<'a> {
    limit: &'a AdaptiveLimit,
    generation: u64,
}

impl Permit<'_> {
    pub(super) fn clean(self) {
        lock(&self.limit.state).on_clean();
    }

    pub(super) fn throttled(self) {
        lock(&self.limit.state).on_throttle(self.generation);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        lock(&self.limit.state).release();
        self.limit.freed.notify_waiters();
    }
}
