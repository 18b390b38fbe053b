//! `GET /tables` and `GET /tables/{table}`: what `rewind ls` shows, as JSON.

use super::error::ApiError;
use super::runner::spawn_unsend;
use super::ApiState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use rewind_replay::history::{history, parse_key, value_at};
use rewind_replay::inventory::{list_tables, summarize, TableSummary};
use rewind_replay::AtSpec;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Every table the store backs up.
pub async fn list(State(state): State<Arc<ApiState>>) -> Result<Json<Vec<TableSummary>>, ApiError> {
    let mut out = Vec::new();
    for table in list_tables(&state.store).await? {
        out.push(summarize(&state.store, &table, &Default::default()).await?);
    }
    Ok(Json(out))
}

/// One table; 404 when the store does not back it up.
pub async fn one(
    State(state): State<Arc<ApiState>>,
    table: Result<Path<String>, PathRejection>,
) -> Result<Json<TableSummary>, ApiError> {
    let Path(table) = table?;
    known_table(&state, &table).await?;
    Ok(Json(
        summarize(&state.store, &table, &Default::default()).await?,
    ))
}

/// `GET /tables/{table}/items?key=JSON[&at=TIME]`: every version of one item (without `at`), or
/// the item as a restore to `at` would hold it (`"item": null` when it did not exist then). The
/// key is DynamoDB JSON or plain JSON (`{"pk":"USER#1","sk":"PROFILE"}`).
pub async fn item(
    State(state): State<Arc<ApiState>>,
    table: Result<Path<String>, PathRejection>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let Path(table) = table?;
    known_table(&state, &table).await?;
    let text = query
        .get("key")
        .ok_or_else(|| ApiError::bad_request("the query needs key=<the item's key as JSON>"))?;
    let key = parse_key(text)?;
    let Some(at) = query.get("at") else {
        let versions = history(&state.store, &table, &key).await?;
        return Ok(Json(
            json!({"table": table, "key": text, "versions": versions}),
        ));
    };
    let at: AtSpec = at
        .parse()
        .map_err(|e| ApiError::bad_request(format!("at: {e}")))?;
    // The planner's future is not provably Send: see `spawn_unsend`.
    let (store, table2) = (state.store.clone(), table.clone());
    let found = spawn_unsend(move || async move { value_at(&store, &table2, &key, at).await })
        .await
        .map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                e.to_string(),
            )
        })??;
    Ok(Json(
        json!({"table": table, "key": text, "at": found.at, "item": found.item}),
    ))
}

/// Refuses a table the store does not back up (404, naming the tables it does).
pub async fn known_table(state: &ApiState, table: &str) -> Result<(), ApiError> {
    let tables = list_tables(&state.store).await?;
    if tables.iter().any(|t| t == table) {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "unknown_table",
            format!(
                "the store backs up no table {table:?} (it has: {})",
                tables.join(", ")
            ),
        ))
    }
}
