//! The stored whole-life verdict: whether the change log holds every item the table had since
//! its first stream began (decided by comparing a full backup with the log; the rule is in
//! the replay crate's `whole_life`). Written once per kind, put-if-absent.

use crate::error::Result;
use crate::json_record;
use crate::layout;
use rewind_store::ObjectStore;
use serde::{Deserialize, Serialize};

/// The verdict of a whole-life check ([`crate::whole_life`]): whether the change log holds
/// every item the table had since its first stream began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WholeLifeVerdict {
    /// A full backup's Scan found nothing the log does not explain.
    Confirmed,
    /// An item the log never inserted exists (or existed): it predates the stream.
    Refuted,
}

/// A stored whole-life verdict and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WholeLifeEvidence {
    /// The verdict.
    pub verdict: WholeLifeVerdict,
    /// The snapshot whose Scan was compared with the log, when one was.
    pub snapshot: Option<String>,
    /// The second both were compared at, when they were.
    pub compared_at: Option<i64>,
    /// What was found, in words (the item that refutes it, or what confirmed it).
    pub reason: String,
    /// When the verdict was reached, ms.
    pub decided_at_ms: i64,
}

/// Reads the stored whole-life verdict: a refutation outranks a confirmation.
pub async fn load_whole_life(
    store: &dyn ObjectStore,
    table: &str,
) -> Result<Option<WholeLifeEvidence>> {
    for key in [
        layout::whole_life_refuted(table),
        layout::whole_life_confirmed(table),
    ] {
        if let Some(verdict) = json_record::read(store, &key, "whole-life verdict").await? {
            return Ok(Some(verdict));
        }
    }
    Ok(None)
}

/// Stores a whole-life verdict, put-if-absent: the first verdict of each kind stands, and a
/// refutation is never withdrawn. Returns the verdict now in force.
pub async fn record_whole_life(
    store: &dyn ObjectStore,
    table: &str,
    evidence: &WholeLifeEvidence,
) -> Result<Option<WholeLifeEvidence>> {
    let key = match evidence.verdict {
        WholeLifeVerdict::Confirmed => layout::whole_life_confirmed(table),
        WholeLifeVerdict::Refuted => layout::whole_life_refuted(table),
    };
    let body = serde_json::to_vec_pretty(evidence).expect("serialisable");
    match store.put_if_absent(&key, body.into()).await {
        Ok(_) => {}
        Err(e) if e.is_already_exists() => {}
        Err(e) => return Err(e.into()),
    }
    load_whole_life(store, table).await
}
