//! A store wrapper that fails on purpose, for the failure tests of the crates above.
//!
//! Capture must return batch item failures on a throttled put, a compactor must clean up when
//! it loses its manifest race, a restore must stop and name a corrupt file: none of that can be
//! provoked reliably against a real store. [`FaultyStore`] wraps any [`Store`] and fails chosen
//! calls (the n-th `put`, a seeded random fraction of `get`s, ...) with a chosen error, before
//! the call reaches the inner store (so a failed write writes nothing). It counts calls, so a
//! test can also assert how often a code path retried.
//!
//! ```
//! # async fn demo() {
//! use rewind_store::{FaultKind, FaultyStore, LocalStore, ObjectStore, Op, Store};
//! use std::sync::Arc;
//! let dir = tempfile::tempdir().unwrap();
//! let faulty = Arc::new(
//!     FaultyStore::new(Arc::new(LocalStore::new(dir.path())))
//!         .fail_nth(Op::Put, 2, FaultKind::Throttled),
//! );
//! let store: Store = faulty.clone();
//! store.put("a", "1".into()).await.unwrap();
//! assert!(store.put("b", "2".into()).await.unwrap_err().is_retryable());
//! assert_eq!(faulty.calls(Op::Put), 2);
//! # }
//! ```

use crate::error::StoreError;
use crate::{ListPage, ObjectMeta, ObjectStore, Result, Store};
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};

/// A store operation, for choosing which calls fail and for counting them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`ObjectStore::put`]
    Put,
    /// [`ObjectStore::put_if_absent`]
    PutIfAbsent,
    /// [`ObjectStore::get`]
    Get,
    /// [`ObjectStore::list_page`]
    List,
    /// [`ObjectStore::head`]
    Head,
    /// [`ObjectStore::delete`]
    Delete,
    /// Any operation: counts every call.
    Any,
}

impl Op {
    const COUNT: usize = 7;

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::PutIfAbsent => "put_if_absent",
            Op::Get => "get",
            Op::List => "list",
            Op::Head => "head",
            Op::Delete => "delete",
            Op::Any => "any",
        }
    }
}

/// The error an injected fault produces. Each names the key and says "injected fault".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// [`StoreError::NotFound`].
    NotFound,
    /// S3 throttling (`SlowDown`): a retryable [`StoreError::Other`].
    Throttled,
    /// A dropped connection or timeout: a retryable [`StoreError::Other`].
    Transient,
    /// Access denied or similar: a non-retryable [`StoreError::Other`].
    Permanent,
    /// [`StoreError::ChecksumMismatch`], as if the object were corrupt.
    ChecksumMismatch,
    /// [`StoreError::AlreadyExists`], as if another writer had won.
    AlreadyExists,
    /// A timeout *after* the call took effect: the inner store performs it, then the caller
    /// gets a retryable error. What S3 does when an answer is lost; a retried write then
    /// meets its own object (a `put_if_absent` gets `AlreadyExists`).
    LostAnswer,
}

impl FaultKind {
    fn error(self, op: Op, location: String) -> StoreError {
        let other = |message: &str, retryable| StoreError::Other {
            op: op.name(),
            key: location.clone(),
            message: format!("injected fault: {message}"),
            retryable,
            source: None,
        };
        match self {
            FaultKind::NotFound => StoreError::NotFound {
                key: format!("{location} (injected fault)"),
            },
            FaultKind::Throttled => other("SlowDown: please reduce your request rate", true),
            FaultKind::Transient => other("connection reset", true),
            FaultKind::Permanent => other("AccessDenied", false),
            FaultKind::ChecksumMismatch => StoreError::ChecksumMismatch {
                key: format!("{location} (injected fault)"),
                expected: "AAAAAA==".to_string(),
                actual: "/////w==".to_string(),
            },
            FaultKind::AlreadyExists => StoreError::AlreadyExists {
                key: format!("{location} (injected fault)"),
            },
            FaultKind::LostAnswer => other("timeout: the call may have taken effect", true),
        }
    }

    /// Whether the call reaches the inner store before the error.
    fn after_the_call(self) -> bool {
        matches!(self, FaultKind::LostAnswer)
    }
}

#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// The n-th call (1-based) of the rule's op.
    Nth(u64),
    /// Each call with this probability, drawn from the seed and the call's number.
    Fraction { fraction: f64, seed: u64 },
}

#[derive(Debug)]
struct Rule {
    op: Op,
    trigger: Trigger,
    kind: FaultKind,
    /// Only calls on keys under this prefix count and fail; they are counted by the rule.
    under: Option<(String, AtomicU64)>,
}

/// A store that fails chosen calls of an inner store (see the module docs).
#[derive(Debug)]
pub struct FaultyStore {
    inner: Store,
    rules: Vec<Rule>,
    /// Listings cut short (a seeded random part of each page, marked truncated).
    short_pages: Option<u64>,
    /// Calls delayed: (fraction, seed, longest delay).
    slow: Option<(f64, u64, std::time::Duration)>,
    calls: [AtomicU64; Op::COUNT],
    injected: AtomicU64,
}

/// SplitMix64: a tiny, well-mixed hash, so a fault pattern depends only on the seed and the
/// call number (not on a rand version).
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl FaultyStore {
    /// Wraps `inner`; without rules every call passes through (and is counted).
    pub fn new(inner: Store) -> Self {
        FaultyStore {
            inner,
            rules: Vec::new(),
            short_pages: None,
            slow: None,
            calls: Default::default(),
            injected: AtomicU64::new(0),
        }
    }

    /// Fails the `n`-th call (1-based, counted per op; [`Op::Any`] counts all calls) with `kind`.
    pub fn fail_nth(mut self, op: Op, n: usize, kind: FaultKind) -> Self {
        self.rules.push(Rule {
            op,
            trigger: Trigger::Nth(n as u64),
            kind,
            under: None,
        });
        self
    }

    /// Fails the `n`-th call (1-based) of `op` on a key under `prefix`, counting only those:
    /// "the third change file read", whatever else was read before it.
    pub fn fail_nth_under(mut self, op: Op, prefix: &str, n: usize, kind: FaultKind) -> Self {
        self.rules.push(Rule {
            op,
            trigger: Trigger::Nth(n as u64),
            kind,
            under: Some((prefix.to_string(), AtomicU64::new(0))),
        });
        self
    }

    /// Fails each call of `op` with probability `fraction` (0.0..=1.0), deterministically: the
    /// same seed fails the same call numbers on every run.
    pub fn fail_fraction(mut self, op: Op, fraction: f64, seed: u64, kind: FaultKind) -> Self {
        self.rules.push(Rule {
            op,
            trigger: Trigger::Fraction {
                fraction: fraction.clamp(0.0, 1.0),
                seed,
            },
            kind,
            under: None,
        });
        self
    }

    /// Cuts every listing page short: a seeded random number of its objects (at least one),
    /// marked truncated when any were left out. S3 may answer with fewer keys than asked for;
    /// a caller that takes a short page for the end of the listing misses objects.
    pub fn short_pages(mut self, seed: u64) -> Self {
        self.short_pages = Some(seed);
        self
    }

    /// Delays each call with probability `fraction` by up to `longest` (seeded): slow answers
    /// at random points reorder concurrent work the way a loaded S3 does.
    pub fn slow_calls(mut self, fraction: f64, seed: u64, longest: std::time::Duration) -> Self {
        self.slow = Some((fraction.clamp(0.0, 1.0), seed, longest));
        self
    }

    /// How many calls of `op` were made so far, failed ones included ([`Op::Any`]: all calls).
    pub fn calls(&self, op: Op) -> u64 {
        self.calls[op.index()].load(Ordering::SeqCst)
    }

    /// How many calls were failed on purpose so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::SeqCst)
    }

    /// The wrapped store, to look behind the faults (e.g. check what a failed run left).
    pub fn inner(&self) -> &Store {
        &self.inner
    }

    /// Counts the call, delays it if it is to be slow, and returns the fault to inject, if a
    /// rule fires for it: an error before the call, or (a lost answer) after it.
    async fn check(&self, op: Op, key: &str) -> Fault {
        let n_any = self.calls[Op::Any.index()].load(Ordering::SeqCst) + 1;
        if let Some((fraction, seed, longest)) = self.slow {
            let draw = splitmix64(seed ^ splitmix64(n_any ^ 0x5105));
            if ((draw >> 11) as f64) / ((1u64 << 53) as f64) < fraction {
                let ms = splitmix64(draw) % (longest.as_millis() as u64 + 1);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
        }
        match self.rule_fires(op, key) {
            Err((e, true)) => Fault::After(e),
            Err((e, false)) => Fault::Before(e),
            Ok(()) => Fault::None,
        }
    }

    /// Counts the call and returns the injected error (and whether it comes after the call),
    /// if a rule fires for it.
    fn rule_fires(&self, op: Op, key: &str) -> std::result::Result<(), (StoreError, bool)> {
        let n_op = self.calls[op.index()].fetch_add(1, Ordering::SeqCst) + 1;
        let n_any = self.calls[Op::Any.index()].fetch_add(1, Ordering::SeqCst) + 1;
        for rule in &self.rules {
            let n = match rule.op {
                Op::Any => n_any,
                rule_op if rule_op == op => n_op,
                _ => continue,
            };
            let n = match &rule.under {
                None => n,
                Some((prefix, _)) if !key.starts_with(prefix.as_str()) => continue,
                Some((_, counted)) => counted.fetch_add(1, Ordering::SeqCst) + 1,
            };
            let fires = match rule.trigger {
                Trigger::Nth(target) => n == target,
                Trigger::Fraction { fraction, seed } => {
                    let draw = splitmix64(seed ^ splitmix64(n)) >> 11;
                    (draw as f64) / ((1u64 << 53) as f64) < fraction
                }
            };
            if fires {
                self.injected.fetch_add(1, Ordering::SeqCst);
                return Err((
                    rule.kind.error(op, self.inner.describe(key)),
                    rule.kind.after_the_call(),
                ));
            }
        }
        Ok(())
    }
}

/// What [`FaultyStore::check`] decided for one call.
enum Fault {
    None,
    Before(StoreError),
    After(StoreError),
}

impl Fault {
    /// `Err` for a fault before the call; otherwise what to apply after it.
    fn before(self) -> Result<Fault> {
        match self {
            Fault::Before(e) => Err(e),
            other => Ok(other),
        }
    }

    /// The call's result, or the lost answer's error once the call took effect.
    fn after<T>(self, result: Result<T>) -> Result<T> {
        match self {
            Fault::After(e) => result.and(Err(e)),
            _ => result,
        }
    }
}

#[async_trait::async_trait]
impl ObjectStore for FaultyStore {
    async fn put(&self, key: &str, body: Bytes) -> Result<ObjectMeta> {
        let fault = self.check(Op::Put, key).await.before()?;
        fault.after(self.inner.put(key, body).await)
    }

    async fn put_if_absent(&self, key: &str, body: Bytes) -> Result<ObjectMeta> {
        let fault = self.check(Op::PutIfAbsent, key).await.before()?;
        fault.after(self.inner.put_if_absent(key, body).await)
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        let fault = self.check(Op::Get, key).await.before()?;
        fault.after(self.inner.get(key).await)
    }

    async fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListPage> {
        let fault = self.check(Op::List, prefix).await.before()?;
        let mut page = fault.after(self.inner.list_page(prefix, start_after, limit).await)?;
        if let Some(seed) = self.short_pages {
            if page.objects.len() > 1 {
                let n = self.calls(Op::List);
                let keep =
                    1 + (splitmix64(seed ^ splitmix64(n)) % page.objects.len() as u64) as usize;
                if keep < page.objects.len() {
                    page.objects.truncate(keep);
                    page.truncated = true;
                }
            }
        }
        Ok(page)
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let fault = self.check(Op::Head, key).await.before()?;
        fault.after(self.inner.head(key).await)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let fault = self.check(Op::Delete, key).await.before()?;
        fault.after(self.inner.delete(key).await)
    }

    fn describe(&self, key: &str) -> String {
        self.inner.describe(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalStore;
    use std::sync::Arc;

    fn local() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store: Store = Arc::new(LocalStore::new(dir.path()));
        (dir, store)
    }

    #[tokio::test]
    async fn nth_call_of_one_op_fails_and_nothing_is_written() {
        let (_dir, inner) = local();
        let faulty = FaultyStore::new(inner.clone()).fail_nth(Op::Put, 2, FaultKind::Permanent);
        faulty.put("a", "1".into()).await.unwrap();
        let err = faulty.put("b", "2".into()).await.unwrap_err();
        match &err {
            StoreError::Other {
                op,
                key,
                message,
                retryable,
                ..
            } => {
                assert_eq!(*op, "put");
                assert!(key.ends_with('b'), "{key}");
                assert!(message.contains("injected fault"), "{message}");
                assert!(!retryable);
            }
            other => panic!("unexpected {other:?}"),
        }
        faulty.put("c", "3".into()).await.unwrap();
        // Other ops do not advance the put counter.
        faulty.get("a").await.unwrap();
        assert_eq!(faulty.calls(Op::Put), 3);
        assert_eq!(faulty.calls(Op::Get), 1);
        assert_eq!(faulty.calls(Op::Any), 4);
        assert_eq!(faulty.injected(), 1);
        assert!(inner.get("b").await.unwrap_err().is_not_found());
        assert_eq!(&inner.get("c").await.unwrap()[..], b"3");
    }

    #[tokio::test]
    async fn a_rule_under_a_prefix_counts_only_its_keys() {
        let (_dir, inner) = local();
        for key in ["meta/x", "data/1", "data/2", "data/3"] {
            inner.put(key, "v".into()).await.unwrap();
        }
        let faulty =
            FaultyStore::new(inner).fail_nth_under(Op::Get, "data/", 2, FaultKind::Permanent);
        faulty.get("meta/x").await.unwrap();
        faulty.get("data/1").await.unwrap();
        faulty.get("meta/x").await.unwrap();
        let err = faulty.get("data/2").await.unwrap_err();
        assert!(err.to_string().contains("data/2"), "{err}");
        faulty.get("data/3").await.unwrap();
        assert_eq!(faulty.injected(), 1);
    }

    #[tokio::test]
    async fn any_counts_across_ops() {
        let (_dir, inner) = local();
        let faulty = FaultyStore::new(inner).fail_nth(Op::Any, 3, FaultKind::NotFound);
        faulty.put("a", "1".into()).await.unwrap();
        faulty.head("a").await.unwrap();
        let err = faulty.get("a").await.unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        assert!(err.to_string().contains("injected fault"), "{err}");
        faulty.get("a").await.unwrap();
    }

    #[tokio::test]
    async fn every_kind_maps_to_its_error() {
        type Check = fn(&StoreError) -> bool;
        let cases: [(FaultKind, Check); 6] = [
            (FaultKind::NotFound, |e| e.is_not_found()),
            (FaultKind::Throttled, |e| e.is_retryable()),
            (FaultKind::Transient, |e| e.is_retryable()),
            (FaultKind::Permanent, |e| {
                matches!(
                    e,
                    StoreError::Other {
                        retryable: false,
                        ..
                    }
                )
            }),
            (FaultKind::ChecksumMismatch, |e| {
                matches!(e, StoreError::ChecksumMismatch { .. })
            }),
            (FaultKind::AlreadyExists, |e| e.is_already_exists()),
        ];
        for (kind, check) in cases {
            let (_dir, inner) = local();
            let faulty = FaultyStore::new(inner).fail_nth(Op::Get, 1, kind);
            let err = faulty.get("some/key").await.unwrap_err();
            assert!(check(&err), "{kind:?} gave {err:?}");
            assert!(err.to_string().contains("some/key"), "{err}");
        }
    }

    #[tokio::test]
    async fn a_lost_answer_takes_effect_and_still_fails() {
        let (_dir, inner) = local();
        let faulty =
            FaultyStore::new(inner.clone()).fail_nth(Op::PutIfAbsent, 1, FaultKind::LostAnswer);
        let err = faulty
            .put_if_absent("m/manifest.json", "x".into())
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        assert_eq!(
            &inner.get("m/manifest.json").await.unwrap()[..],
            b"x",
            "the write landed"
        );
        // The retry meets its own object.
        assert!(faulty
            .put_if_absent("m/manifest.json", "x".into())
            .await
            .unwrap_err()
            .is_already_exists());
    }

    #[tokio::test]
    async fn short_pages_still_list_everything_through_list_all() {
        let (_dir, inner) = local();
        for i in 0..40 {
            inner.put(&format!("p/{i:03}"), "x".into()).await.unwrap();
        }
        let faulty = FaultyStore::new(inner).short_pages(7);
        let first = faulty.list_page("p/", None, 1000).await.unwrap();
        assert!(
            first.truncated && !first.objects.is_empty() && first.objects.len() < 40,
            "{first:?}"
        );
        let all = crate::list_all(&faulty, "p/").await.unwrap();
        assert_eq!(all.len(), 40);
        assert!(faulty.calls(Op::List) > 2, "several pages");
    }

    /// A store answering an empty page that says more follow: taking it for the end would drop
    /// the rest of the listing silently, so `list_all` refuses it.
    #[tokio::test]
    async fn an_empty_truncated_page_is_refused_not_taken_for_the_end() {
        #[derive(Debug)]
        struct EmptyPages(Store);
        #[async_trait::async_trait]
        impl ObjectStore for EmptyPages {
            async fn put(&self, key: &str, body: Bytes) -> Result<ObjectMeta> {
                self.0.put(key, body).await
            }
            async fn put_if_absent(&self, key: &str, body: Bytes) -> Result<ObjectMeta> {
                self.0.put_if_absent(key, body).await
            }
            async fn get(&self, key: &str) -> Result<Bytes> {
                self.0.get(key).await
            }
            async fn list_page(&self, _: &str, _: Option<&str>, _: usize) -> Result<ListPage> {
                Ok(ListPage {
                    objects: Vec::new(),
                    truncated: true,
                })
            }
            async fn head(&self, key: &str) -> Result<ObjectMeta> {
                self.0.head(key).await
            }
            async fn delete(&self, key: &str) -> Result<()> {
                self.0.delete(key).await
            }
            fn describe(&self, key: &str) -> String {
                self.0.describe(key)
            }
        }
        let (_dir, inner) = local();
        let err = crate::list_all(&EmptyPages(inner), "p/").await.unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        assert!(
            err.to_string().contains("empty page marked truncated"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn slow_calls_are_delayed_and_still_answered() {
        let (_dir, inner) = local();
        let faulty =
            FaultyStore::new(inner).slow_calls(1.0, 3, std::time::Duration::from_millis(30));
        let started = std::time::Instant::now();
        for i in 0..10 {
            faulty.put(&format!("k{i}"), "x".into()).await.unwrap();
        }
        // Ten draws up to 30 ms each: some delay happened (a bound that cannot fail on a slow
        // machine, only on delays never applied).
        assert!(started.elapsed() >= std::time::Duration::from_millis(20));
    }

    #[tokio::test]
    async fn fraction_is_deterministic_and_roughly_right() {
        async fn pattern(seed: u64) -> Vec<bool> {
            let (_dir, inner) = local();
            inner.put("k", "v".into()).await.unwrap();
            let faulty =
                FaultyStore::new(inner).fail_fraction(Op::Get, 0.3, seed, FaultKind::Transient);
            let mut failed = Vec::new();
            for _ in 0..1000 {
                failed.push(faulty.get("k").await.is_err());
            }
            assert_eq!(
                faulty.injected(),
                failed.iter().filter(|f| **f).count() as u64
            );
            failed
        }
        let a = pattern(7).await;
        assert_eq!(a, pattern(7).await);
        assert_ne!(a, pattern(8).await);
        let failures = a.iter().filter(|f| **f).count();
        assert!((230..370).contains(&failures), "{failures} of 1000");
    }

    #[tokio::test]
    async fn fraction_zero_and_one() {
        let (_dir, inner) = local();
        let never =
            FaultyStore::new(inner.clone()).fail_fraction(Op::Any, 0.0, 1, FaultKind::Permanent);
        let always = FaultyStore::new(inner).fail_fraction(Op::Head, 1.0, 1, FaultKind::Permanent);
        for i in 0..100 {
            never.put(&format!("k{i}"), "v".into()).await.unwrap();
            assert!(always.head(&format!("k{i}")).await.is_err());
        }
        // Ops other than the rule's pass through.
        assert_eq!(&always.get("k0").await.unwrap()[..], b"v");
    }
}
