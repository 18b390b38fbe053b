//! What the compactor's tests share: the state a restore to a second would produce.

#![allow(dead_code)]

use rewind_catalog::load_catalog;
use rewind_e2e::changelog::TABLE;
use rewind_replay::plan::{plan_restore, PlanOptions};
use rewind_replay::reconstruct::{reconstruct, ReconstructOptions};
use rewind_replay::{AtSpec, ReplayError};
use rewind_store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// The state at `at` (key JSON → item JSON) and the base snapshot the plan used, if any.
pub async fn try_state_at(
    store: &Store,
    at: i64,
    opts: &PlanOptions,
) -> Result<(BTreeMap<String, String>, Option<String>), ReplayError> {
    let catalog = load_catalog(store.as_ref(), TABLE, None).await?;
    let plan = plan_restore(&catalog, AtSpec::Second(at), opts)?;
    let got = Mutex::new(BTreeMap::new());
    reconstruct(
        store,
        &plan,
        &ReconstructOptions::default(),
        &BTreeSet::new(),
        |_, items| {
            let got = &got;
            async move {
                got.lock().unwrap().extend(
                    items
                        .into_iter()
                        .map(|i| (i.keys().to_string(), i.image().to_string())),
                );
                Ok(())
            }
        },
    )
    .await?;
    Ok((got.into_inner().unwrap(), plan.base.map(|b| b.manifest_key)))
}

/// [`try_state_at`] with default planning, which must succeed.
pub async fn state_at(store: &Store, at: i64) -> (BTreeMap<String, String>, Option<String>) {
    try_state_at(store, at, &PlanOptions::default())
        .await
        .unwrap()
}

/// Items given as DynamoDB JSON text, as a scan returns them.
pub fn scanned_items(
    texts: impl IntoIterator<Item = String>,
) -> Vec<rewind_compactor::table_source::ScannedItem> {
    rewind_compactor::table_source::scanned_from_json(texts).unwrap()
}
