//! Seeded fault runs into DynamoDB: random histories restored, each to a random restorable
//! second, into moto tables through a client that throttles a seeded share of the
//! BatchWriteItem calls (ProvisionedThroughputExceededException, the write not taken) and loses
//! the answer of some others (the write taken, then a 500), with the SDK's own retries as in
//! production. Every restore either succeeds with the table equal to the reference model or
//! fails naming the fault and is run again (resuming); none succeeds wrong.
//!
//! moto never throttles; the interceptor makes the service misbehave the way AWS documents it.
//! It swaps a throttled call for a harmless ListTables after signing (moto does not check
//! signatures) and answers it with DynamoDB's throttling error.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use rand::{Rng, SeedableRng};
use rewind_catalog::load_catalog;
use rewind_e2e::changelog::*;
use rewind_replay::drill::sample_points;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::dynamodb::DynamoDbTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::window::restorable_window;
use rewind_replay::AtSpec;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SEEDS: u64 = 8;
const ATTEMPTS: usize = 20;

/// What the interceptor does to one BatchWriteItem attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Throttled,
    AnswerLost,
}

impl Storable for Fate {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug)]
struct FaultyDynamoDb {
    seed: u64,
    throttle: f64,
    lose: f64,
    calls: AtomicU64,
    throttled: AtomicU64,
    lost: AtomicU64,
}

fn draw(seed: u64, n: u64) -> f64 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ n.wrapping_mul(0x9e37_79b9));
    rng.gen()
}

impl Intercept for FaultyDynamoDb {
    fn name(&self) -> &'static str {
        "FaultyDynamoDb"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().unset::<Fate>();
        let request = context.request_mut();
        let is_batch_write = request
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.ends_with(".BatchWriteItem"));
        if !is_batch_write {
            return Ok(());
        }
        let x = draw(self.seed, self.calls.fetch_add(1, Ordering::SeqCst));
        if x < self.throttle {
            // Not taken: a harmless read goes in its place.
            request
                .headers_mut()
                .insert("x-amz-target", "DynamoDB_20120810.ListTables");
            request.headers_mut().insert("content-length", "2");
            *request.body_mut() = SdkBody::from("{}");
            cfg.interceptor_state().store_put(Fate::Throttled);
        } else if x < self.throttle + self.lose {
            cfg.interceptor_state().store_put(Fate::AnswerLost);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (status, kind, counter) = match cfg.load::<Fate>() {
            Some(Fate::Throttled) => (
                400u16,
                "ProvisionedThroughputExceededException",
                &self.throttled,
            ),
            Some(Fate::AnswerLost) => (500u16, "InternalServerError", &self.lost),
            None => return Ok(()),
        };
        counter.fetch_add(1, Ordering::SeqCst);
        let response = context.response_mut();
        *response.status_mut() = status.try_into()?;
        response.headers_mut().insert("x-amzn-errortype", kind);
        response.headers_mut().remove("x-amz-crc32");
        let body = format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"injected fault: {kind}"}}"#
        );
        response
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *response.body_mut() = SdkBody::from(body);
        Ok(())
    }
}

async fn clients(
    seed: u64,
) -> (
    aws_sdk_dynamodb::Client,
    aws_sdk_dynamodb::Client,
    Arc<FaultyDynamoDb>,
) {
    rewind_e2e::moto_endpoint();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let faults = Arc::new(FaultyDynamoDb {
        seed,
        throttle: 0.6,
        lose: 0.05,
        calls: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
        lost: AtomicU64::new(0),
    });
    let faulty = aws_sdk_dynamodb::config::Builder::from(&shared)
        // Production's retry mode, with short waits so the test is quick.
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .interceptor(SharedFaults(faults.clone()))
        .build();
    (
        aws_sdk_dynamodb::Client::from_conf(faulty),
        aws_sdk_dynamodb::Client::new(&shared),
        faults,
    )
}

/// The interceptor, shared so the test can read its counters.
#[derive(Debug)]
struct SharedFaults(Arc<FaultyDynamoDb>);

impl Intercept for SharedFaults {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.modify_before_transmit(context, components, cfg)
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0
            .modify_before_deserialization(context, components, cfg)
    }
}

/// The table's items: key JSON → item JSON.
async fn table_items(target: &DynamoDbTarget) -> BTreeMap<String, String> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<rewind_format::Item>>(4);
    let (scanned, items) = tokio::join!(target.scan(tx), items_by_key(rx));
    scanned.unwrap();
    items
}

async fn one_seed(seed: u64) -> (u64, u64, usize) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let ops: Vec<Op> = (0..rng.gen_range(150..300))
        .map(|_| Op {
            key: rng.gen_range(0..24),
            event: rng.gen(),
            gap_ms: rng.gen_range(500..90_000),
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let (_dir, store) = local_store();
    write_files(store.as_ref(), &records, rng.gen_range(5..40)).await;
    let last = records.last().unwrap().approximate_creation_time_ms;
    seed_capture_state(store.as_ref(), last + 10_000).await;
    let catalog = load_catalog(store.as_ref(), TABLE, None).await.unwrap();
    let window = restorable_window(&catalog, &Default::default());
    let at = sample_points(&window.intervals, 1, &mut rng)[0];

    let (faulty, plain, faults) = clients(seed).await;
    let table = format!("faults-{seed}-{:08x}", rand::random::<u32>());
    let label = format!("dynamodb://{table}");
    let request = RestoreRequest {
        copy: Default::default(),
        table: TABLE.into(),
        at: AtSpec::Second(at),
        into_existing: false,
        no_ttl: false,
        plan: Default::default(),
        reconstruct: Default::default(),
    };
    let mut failed = 0;
    let mut restored = false;
    for _ in 0..ATTEMPTS {
        let target = DynamoDbTarget::new(faulty.clone(), &table, label.clone());
        match restore(&store, &target, &request, &RestoreProgress::default()).await {
            Ok(_) => {
                restored = true;
                break;
            }
            Err(e) => {
                failed += 1;
                let text = format!("{e:#}");
                assert!(
                    text.contains("injected fault")
                        || text.contains("Throughput")
                        || text.contains("InternalServerError"),
                    "seed {seed}: restore failed without naming the fault: {text}"
                );
            }
        }
    }
    assert!(
        restored,
        "seed {seed}: the restore never succeeded in {ATTEMPTS} attempts"
    );
    let written = table_items(&DynamoDbTarget::new(plain.clone(), &table, label.clone())).await;
    assert_eq!(
        written,
        reference(&records, (at + 1) * 1000),
        "seed {seed}: the restore to {at} succeeded wrong"
    );
    let _ = plain.delete_table().table_name(&table).send().await;
    (
        faults.throttled.load(Ordering::SeqCst),
        faults.lost.load(Ordering::SeqCst),
        failed,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_and_lost_writes_never_give_a_wrong_table() {
    let (mut throttled, mut lost, mut failed) = (0, 0, 0);
    for seed in 0..SEEDS {
        let (t, l, f) = one_seed(seed).await;
        throttled += t;
        lost += l;
        failed += f;
    }
    println!("{SEEDS} seeds: {throttled} throttled and {lost} lost BatchWriteItem answers, {failed} failed restore attempts resumed");
    assert!(throttled > 0 && lost > 0, "the faults were injected");
}
