//! Error -> message on stderr and exit code.

use rewind_capture::CaptureError;
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
        if let Some(e) = cause.downcast_ref::<rewind_compactor::CompactorError>() {
            return match e {
                rewind_compactor::CompactorError::NotCapturing { .. } => BAD_INPUT,
                rewind_compactor::CompactorError::Store(s) => store_code(s),
                _ => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<rewind_replay::ReplayError>() {
            return match e {
                rewind_replay::ReplayError::Store(s) => store_code(s),
                e if e.is_bad_input() => BAD_INPUT,
                _ => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<CaptureError>() {
            return match e {
                CaptureError::Input(_) | CaptureError::ViewType { .. } => BAD_INPUT,
                CaptureError::Store(s) => store_code(s),
                _ => FAILURE,
            };
        }
        if let Some(s) = cause.downcast_ref::<StoreError>() {
            return store_code(s);
        }
    }
    FAILURE
}

fn store_code(e: &StoreError) -> u8 {
    match e {
        StoreError::InvalidUrl { .. }
        | StoreError::InvalidKey { .. }
        | StoreError::ForeignTable { .. } => BAD_INPUT,
        _ => FAILURE,
    }
}
