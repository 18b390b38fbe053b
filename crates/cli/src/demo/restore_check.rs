//! The demo's check of one restored point: restore it into its own export, read the export
//! back, and compare it item by item with the workload's model.

use super::*;
use anyhow::{bail, Context};
use rewind_replay::at::format_second;
use rewind_replay::fingerprint::{fingerprint, item_key, Fingerprint};
use rewind_replay::plan::PlanOptions;
use rewind_replay::reconstruct::ReconstructOptions;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::verify::verify;
use rewind_replay::AtSpec;
use rewind_store::Store;
use rewind_workload::Item as ModelItem;
use std::collections::HashMap;
use std::path::Path;

/// Restores one point into its own export and compares the export with the reconstructed state
/// and with the model.
pub(super) async fn restore_point(
    store: &Store,
    table: &str,
    workdir: &Path,
    n: usize,
    point: &Point,
    key_names: &[String],
) -> anyhow::Result<PointReport> {
    let name = match point.at {
        AtSpec::Latest => format!("{n:02}-latest"),
        AtSpec::Second(s) => format!("{n:02}-{}", format_second(s).replace(':', "")),
    };
    let dir = workdir.join("exports").join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let url = format!("file://{}", dir.display());
    let target = ExportTarget::open(&url)
        .await
        .with_context(|| format!("opening the export {url}"))?;
    let reconstruct = ReconstructOptions {
        spill_dir: Some(workdir.join("tmp")),
        ..Default::default()
    };
    let request = RestoreRequest {
        copy: Default::default(),
        table: table.to_string(),
        at: point.at,
        into_existing: false,
        no_ttl: false,
        plan: PlanOptions::default(),
        reconstruct: reconstruct.clone(),
    };
    let restored = restore(store, &target, &request, &RestoreProgress::default())
        .await
        .with_context(|| format!("restoring {table} at {} into {url}", point.at))?;
    let mut examples = Vec::new();
    let mut model_differences = 0;
    if restored.at != format_second(point.second) {
        model_differences += 1;
        examples.push(format!(
            "{} resolved to {}, expected {}",
            point.at,
            restored.at,
            format_second(point.second)
        ));
    }
    let at = AtSpec::Second(point.second);
    let state = verify(
        store,
        table,
        at,
        &target,
        &PlanOptions::default(),
        &reconstruct,
        &Default::default(),
    )
    .await
    .with_context(|| format!("verifying {url} against {table} at {at}"))?;
    examples.extend(
        state
            .differences
            .iter()
            .map(|d| format!("state {} {}", d.kind, d.key)),
    );
    let state_differences = state.missing + state.extra + state.differing;

    let exported = scan(&target, key_names).await?;
    let (differences, model_examples) = compare_with_model(&point.model, exported, key_names)?;
    model_differences += differences;
    examples.extend(model_examples);
    examples.truncate(10);
    Ok(PointReport {
        requested: point.at.to_string(),
        at: restored.at.clone(),
        export: url,
        model_items: point.model.len() as u64,
        restored_items: restored.items,
        files_read: restored.files_read,
        state_differences,
        model_differences,
        ok: state_differences == 0 && model_differences == 0,
        examples,
    })
}

/// Every item of the export, by canonical key: (key attributes as JSON, fingerprint).
pub(super) async fn scan(
    target: &ExportTarget,
    key_names: &[String],
) -> anyhow::Result<HashMap<Vec<u8>, (String, Fingerprint)>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let collect = async {
        let mut all = Vec::new();
        while let Some(page) = rx.recv().await {
            all.extend(page);
        }
        all
    };
    let (scanned, items) = tokio::join!(target.scan(tx), collect);
    scanned.with_context(|| format!("reading the export {}", target.id()))?;
    let mut by_key = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (key, keys) = item_key(item, key_names, &format!("{} item {i}", target.id()))?;
        if by_key
            .insert(key, (keys.clone(), fingerprint(item)))
            .is_some()
        {
            bail!("the export {} holds key {keys} twice", target.id());
        }
    }
    Ok(by_key)
}

/// Missing + extra + differing items of the export against the model, and the first few.
pub(super) fn compare_with_model(
    model: &[ModelItem],
    mut exported: HashMap<Vec<u8>, (String, Fingerprint)>,
    key_names: &[String],
) -> anyhow::Result<(u64, Vec<String>)> {
    let mut differences = 0;
    let mut examples = Vec::new();
    let mut note = |kind: &str, keys: &str| {
        differences += 1;
        if examples.len() < 10 {
            examples.push(format!("model {kind} {keys}"));
        }
    };
    for (i, raw) in model.iter().enumerate() {
        let item = rewind_format::item_from_json(&serde_json::to_string(raw)?)
            .with_context(|| format!("reading the workload's model item {i}"))?;
        let (key, keys) = item_key(&item, key_names, &format!("model item {i}"))?;
        match exported.remove(&key) {
            Some((_, f)) if f == fingerprint(&item) => {}
            Some(_) => note("differs", &keys),
            None => note("missing", &keys),
        }
    }
    let mut extra: Vec<String> = exported.into_values().map(|(keys, _)| keys).collect();
    extra.sort();
    for keys in extra {
        note("extra", &keys);
    }
    Ok((differences, examples))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> ModelItem {
        serde_json::from_str(json).unwrap()
    }

    fn export(items: &[&str]) -> HashMap<Vec<u8>, (String, Fingerprint)> {
        let names = ["pk".to_string()];
        items
            .iter()
            .map(|j| {
                let parsed = rewind_format::item_from_json(j).unwrap();
                let (key, keys) = item_key(&parsed, &names, "test").unwrap();
                (key, (keys, fingerprint(&parsed)))
            })
            .collect()
    }

    #[test]
    fn the_model_comparison_counts_missing_extra_and_differing_items() {
        let names = ["pk".to_string()];
        let model = [
            item(r#"{"pk":{"S":"a"},"n":{"N":"100"}}"#),
            item(r#"{"pk":{"S":"b"},"v":{"S":"x"}}"#),
            item(r#"{"pk":{"S":"c"}}"#),
        ];
        // Numbers compare by value; `b` differs, `c` is missing, `d` is extra.
        let exported = export(&[
            r#"{"pk":{"S":"a"},"n":{"N":"1E+2"}}"#,
            r#"{"pk":{"S":"b"},"v":{"S":"y"}}"#,
            r#"{"pk":{"S":"d"}}"#,
        ]);
        let (n, examples) = compare_with_model(&model, exported, &names).unwrap();
        assert_eq!(n, 3, "{examples:?}");
        assert_eq!(examples.len(), 3);
        assert!(examples[0].starts_with("model differs"), "{examples:?}");
        assert!(examples[1].starts_with("model missing"), "{examples:?}");
        assert!(examples[2].starts_with("model extra"), "{examples:?}");
        let same = export(&[
            r#"{"pk":{"S":"a"},"n":{"N":"100"}}"#,
            r#"{"pk":{"S":"b"},"v":{"S":"x"}}"#,
            r#"{"pk":{"S":"c"}}"#,
        ]);
        assert_eq!(compare_with_model(&model, same, &names).unwrap().0, 0);
    }

    #[test]
    fn only_empty_or_demo_directories_are_work_directories() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_workdir(&dir.path().join("new")).is_ok());
        assert!(check_workdir(dir.path()).is_ok());
        std::fs::write(dir.path().join("x"), "").unwrap();
        assert!(check_workdir(dir.path()).is_err());
        std::fs::write(dir.path().join(MARKER), "").unwrap();
        assert!(check_workdir(dir.path()).is_ok());
    }
}
