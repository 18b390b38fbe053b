//! `GET /tables` and `GET /tables/{table}`: what `rewind ls` shows, as JSON.

use super::error::ApiError;
use super::ApiState;
use axum::extract::{Path, State};
use axum::Json;
use rewind_replay::inventory::{list_tables, summarize, TableSummary};
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
    Path(table): Path<String>,
) -> Result<Json<TableSummary>, ApiError> {
    known_table(&state, &table).await?;
    Ok(Json(
        summarize(&state.store, &table, &Default::default()).await?,
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
