//! Error -> message on stderr and exit code.

use rewind_capture::CaptureError;
use rewind_catalog::CatalogError;
use rewind_compactor::CompactorError;
use rewind_replay::ReplayError;
use rewind_store::StoreError;
use std::process::ExitCode;

/// `verify` found differences.
pub const DIFFERENCES: u8 = 1;
/// Usage or bad input (including a table the store or the stream setting refuses).
pub const BAD_INPUT: u8 = 2;
/// Any other failure.
pub const FAILURE: u8 = 3;

/// Prints the error with its causes and picks the exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::from(code(error))
}

/// The error a command returns when it ran fine but found differences (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DifferencesFound(pub String);

fn code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.downcast_ref::<DifferencesFound>().is_some() {
            return DIFFERENCES;
        }
        if let Some(e) = cause.downcast_ref::<CompactorError>() {
            return compactor_code(e);
        }
        if let Some(e) = cause.downcast_ref::<ReplayError>() {
            return replay_code(e);
        }
        if let Some(e) = cause.downcast_ref::<CaptureError>() {
            return match e {
                CaptureError::Input(_) => BAD_INPUT,
                CaptureError::Catalog(c) => catalog_code(c),
                CaptureError::Store(s) => store_code(s),
                _ => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<CatalogError>() {
            return catalog_code(e);
        }
        if let Some(s) = cause.downcast_ref::<StoreError>() {
            return store_code(s);
        }
    }
    FAILURE
}

/// The compactor wraps the errors of the crates it calls: the code is theirs (a point outside
/// the window is bad input whether `restore` or `compact` was asked for it).
fn compactor_code(e: &CompactorError) -> u8 {
    match e {
        CompactorError::NotCapturing { .. } => BAD_INPUT,
        CompactorError::Store(s) => store_code(s),
        CompactorError::Replay(r) => replay_code(r),
        CompactorError::Catalog(c) => catalog_code(c),
        _ => FAILURE,
    }
}

fn replay_code(e: &ReplayError) -> u8 {
    match e {
        ReplayError::Store(s) => store_code(s),
        e if e.is_bad_input() => BAD_INPUT,
        _ => FAILURE,
    }
}

fn catalog_code(e: &CatalogError) -> u8 {
    match e {
        CatalogError::Store(s) => store_code(s),
        e if e.is_refusal() => BAD_INPUT,
        _ => FAILURE,
    }
}

fn store_code(e: &StoreError) -> u8 {
    match e {
        StoreError::InvalidUrl { .. } | StoreError::InvalidKey { .. } => BAD_INPUT,
        _ => FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compaction_outside_the_window_is_bad_input() {
        let outside = ReplayError::OutsideWindow {
            table: "shop".into(),
            at: "2026-01-01T00:00:00Z".into(),
            window: vec![],
            nearest_before: None,
            nearest_after: None,
        };
        let error = anyhow::Error::new(CompactorError::Replay(outside)).context("compacting shop");
        assert_eq!(code(&error), BAD_INPUT);
        let foreign = CompactorError::Catalog(CatalogError::ForeignTable {
            table: "shop".into(),
            claimed_by: "arn:a".into(),
            requested: "arn:b".into(),
        });
        assert_eq!(code(&anyhow::Error::new(foreign)), BAD_INPUT);
        let outage = CompactorError::Store(StoreError::other("get", "k", "down", true));
        assert_eq!(code(&anyhow::Error::new(outage)), FAILURE);
    }
}
