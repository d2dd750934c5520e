//! Replays the committed fuzz corpus (fuzz/corpus/<target>/*, minimized, findings included)
//! through the same target bodies the fuzzers run, on stable, among the engine's unit tests
//! (src/engine/tests.rs): every input a fuzzer once found interesting stays checked.

#[path = "targets.rs"]
mod targets;

use std::path::Path;

#[test]
fn the_fuzz_corpus_replays_without_a_finding() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut replayed = 0;
    for (name, target) in targets::TARGETS {
        let dir = corpus.join(name);
        let files = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e} (run fuzz/run.sh to make a corpus)", dir.display()));
        let mut n = 0;
        for f in files {
            let path = f.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            if let Err(panic) = std::panic::catch_unwind(|| target(&data)) {
                panic!("{name}: {} is a finding: {panic:?}", path.display());
            }
            n += 1;
        }
        assert!(n > 0, "{name}: the corpus is empty");
        replayed += n;
    }
    eprintln!("replayed {replayed} corpus inputs");
}
