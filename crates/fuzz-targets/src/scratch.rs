//! Where the store-backed targets run: one scratch directory per process (on `/dev/shm` when
//! there is one, so the store's fsyncs cost nothing), one single-threaded runtime, and the
//! committed seed store loaded once and written afresh for every input, so no input sees what
//! an earlier one left behind.

use bytes::Bytes;
use rewind_store::{LocalStore, Store};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The committed store the catalog targets start from (`fuzz/seed-store/`, made by
/// `cargo run -p rewind-fuzz-targets --example seed_store`): table `orders` with merged
/// change logs, a compacted snapshot, checkpoints and its description.
pub fn seed_store_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seed-store")
}

/// The per-process scratch space and runtime.
#[derive(Debug)]
pub struct Scratch {
    root: PathBuf,
    runtime: tokio::runtime::Runtime,
    seed: OnceLock<Vec<(String, Bytes)>>,
}

impl Scratch {
    /// The process's scratch space, made on first use. Directories left by processes that
    /// have gone (a fuzzer killed on a finding) are removed then.
    pub fn get() -> &'static Scratch {
        static SCRATCH: OnceLock<Scratch> = OnceLock::new();
        SCRATCH.get_or_init(|| {
            let base = Path::new("/dev/shm");
            let base = if base.is_dir() {
                base.to_path_buf()
            } else {
                std::env::temp_dir()
            };
            remove_stale(&base);
            let root = base.join(format!("rewind-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&root).expect("scratch directory");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            Scratch {
                root,
                runtime,
                seed: OnceLock::new(),
            }
        })
    }

    /// Runs `f` to completion on the scratch runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// A directory under the scratch root, emptied.
    pub fn empty_dir(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("emptying {}: {e}", dir.display()),
        }
        std::fs::create_dir_all(&dir).expect("scratch subdirectory");
        dir
    }

    /// An empty store in `name`.
    pub fn empty_store(&self, name: &str) -> Store {
        Arc::new(LocalStore::new(self.empty_dir(name)))
    }

    /// The seed store's objects (key, body), read once.
    pub fn seed_objects(&self) -> &[(String, Bytes)] {
        self.seed.get_or_init(|| {
            let seed: Store = Arc::new(LocalStore::new(seed_store_dir()));
            self.block_on(async {
                let mut out = Vec::new();
                for meta in rewind_store::list_all(seed.as_ref(), "")
                    .await
                    .expect("seed store")
                {
                    let body = seed.get(&meta.key).await.expect("seed object");
                    out.push((meta.key, body));
                }
                assert!(
                    !out.is_empty(),
                    "the seed store {} is empty",
                    seed_store_dir().display()
                );
                out
            })
        })
    }

    /// A fresh copy of the seed store in `name`, with `replace` put over it (`None` as a body
    /// deletes the key).
    pub fn seeded_store(&self, name: &str, replace: &[(String, Option<Bytes>)]) -> Store {
        let store = self.empty_store(name);
        let seed = self.seed_objects();
        self.block_on(async {
            for (key, body) in seed {
                if replace.iter().all(|(k, _)| k != key) {
                    store.put(key, body.clone()).await.expect("seeding");
                }
            }
            for (key, body) in replace {
                if let Some(body) = body {
                    store.put(key, body.clone()).await.expect("seeding");
                }
            }
        });
        store
    }
}

/// Removes `rewind-fuzz-<pid>` directories of processes that no longer exist.
fn remove_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("rewind-fuzz-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
