//! How long one input of each target takes (for choosing fuzzing budgets):
//! `cargo run --release -p rewind-fuzz-targets --example time_targets`.
fn main() {
    let corpus = rewind_fuzz_targets::seed_store_dir().join("../corpus");
    for (name, body) in rewind_fuzz_targets::TARGETS {
        let Some(input) = std::fs::read_dir(corpus.join(name))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| std::fs::read(e.path()).unwrap())
        else {
            continue;
        };
        body(&input);
        let started = std::time::Instant::now();
        let n = 20;
        for _ in 0..n {
            body(&input);
        }
        println!(
            "{name}: {:.2} ms per input",
            started.elapsed().as_secs_f64() * 1000.0 / n as f64
        );
    }
}
