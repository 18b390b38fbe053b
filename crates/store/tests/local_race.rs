//! Real races on the local backend: many writers of one key at once.
//!
//! Put-if-absent must have exactly one winner whose bytes stay in place (a snapshot manifest
//! written by two compactors), and concurrent overwrites must never leave an object without its
//! checksum or let a reader see a torn or unverifiable object.

use bytes::Bytes;
use rewind_store::{checksum, LocalStore, ObjectStore, StoreError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Barrier;

const WRITERS: usize = 16;
const ROUNDS: usize = 50;

fn body(round: usize, writer: usize) -> Bytes {
    // Different lengths and contents per writer, so a torn or mixed write would show.
    let text = format!("round {round} writer {writer} ").repeat(writer * 37 + 1);
    Bytes::from(text)
}

fn dir_entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn put_if_absent_has_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()));
    let mut winners_seen = HashSet::new();
    for round in 0..ROUNDS {
        let key = format!("manifests/round={round:03}/manifest.json");
        let bodies: Vec<Bytes> = (0..WRITERS).map(|w| body(round, w)).collect();
        let crcs: HashSet<u32> = bodies.iter().map(|b| checksum::crc32c(b)).collect();
        assert_eq!(crcs.len(), WRITERS, "bodies must differ");

        let barrier = Arc::new(Barrier::new(WRITERS));
        let mut tasks = Vec::new();
        for (writer, body) in bodies.iter().cloned().enumerate() {
            let store = store.clone();
            let barrier = barrier.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                (writer, store.put_if_absent(&key, body).await)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (writer, result) = task.await.unwrap();
            match result {
                Ok(meta) => {
                    assert_eq!(meta.size, bodies[writer].len() as u64);
                    winners.push(writer);
                }
                Err(StoreError::AlreadyExists { key: named }) => {
                    assert_eq!(named, store.describe(&key));
                }
                Err(other) => panic!("round {round} writer {writer}: {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let winner = winners[0];
        winners_seen.insert(winner);
        assert_eq!(
            store.get(&key).await.unwrap(),
            bodies[winner],
            "round {round}"
        );

        // Losers cleaned up after themselves: the object and its one sidecar, nothing else.
        let crc = checksum::to_hex(checksum::crc32c(&bodies[winner]));
        let round_dir = dir.path().join(format!("manifests/round={round:03}"));
        assert_eq!(
            dir_entries(&round_dir),
            vec![
                format!(".manifest.json.crc32c-{crc}"),
                "manifest.json".to_string()
            ],
            "round {round}"
        );
    }
    // Not a correctness requirement, but a sign the race was real: the start order varied.
    eprintln!(
        "distinct winners over {ROUNDS} rounds: {}",
        winners_seen.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_overwrites_and_reads_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()));
    let key = "checkpoints/table=t/stream=s/shardId-1.json";
    let bodies: Vec<Bytes> = (0..WRITERS).map(|w| body(0, w)).collect();
    store.put(key, bodies[0].clone()).await.unwrap();

    let barrier = Arc::new(Barrier::new(WRITERS + 4));
    let mut writers = Vec::new();
    for body in bodies.clone() {
        let store = store.clone();
        let barrier = barrier.clone();
        writers.push(tokio::spawn(async move {
            barrier.wait().await;
            for _ in 0..30 {
                store.put(key, body.clone()).await.unwrap();
            }
        }));
    }
    // Readers keep reading for as long as the writers write.
    let writing = Arc::new(AtomicBool::new(true));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        let barrier = barrier.clone();
        let bodies = bodies.clone();
        let writing = writing.clone();
        readers.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut reads = 0;
            while reads < 50 || writing.load(Ordering::SeqCst) {
                match store.get(key).await {
                    Ok(got) => assert!(bodies.contains(&got), "read {reads}: a body nobody wrote"),
                    Err(e) => panic!("read {reads}: {e:?}"),
                }
                reads += 1;
            }
            reads
        }));
    }
    for task in writers {
        task.await.unwrap();
    }
    writing.store(false, Ordering::SeqCst);
    for task in readers {
        let reads = task.await.unwrap();
        assert!(reads >= 50);
    }
    let last = store.get(key).await.unwrap();
    assert!(bodies.contains(&last));
    let crc = checksum::to_hex(checksum::crc32c(&last));
    assert_eq!(
        dir_entries(&dir.path().join("checkpoints/table=t/stream=s")),
        vec![
            format!(".shardId-1.json.crc32c-{crc}"),
            "shardId-1.json".to_string()
        ]
    );
}
