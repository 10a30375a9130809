//! Compiling components in a child process (`zellige compile-plugin`), as `serve` does so the
//! compiler's memory never stays in the server: the child fills the disk cache that the
//! server's engine then reads, reports a broken component with the compiler's error, and is
//! stopped at its time limit.

use std::path::Path;
use std::time::Duration;

use zellige::config::PluginsConfig;
use zellige::plugins::bundled::BUNDLED;
use zellige::plugins::compiler::ChildCompiler;

fn compiler() -> ChildCompiler {
    ChildCompiler::new(env!("CARGO_BIN_EXE_zellige").into())
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_child_fills_the_disk_cache_with_the_compiled_component() {
    let cache = tempfile::tempdir().expect("tempdir");
    let config = PluginsConfig::default();
    let wasm = BUNDLED[0].wasm;
    compiler()
        .compile(&config, cache.path(), wasm, Duration::from_secs(300))
        .expect("the child compiles a bundled plugin");
    let written = files(cache.path());
    let biggest = written
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    // Compiled code, not just the cache's bookkeeping: larger than a few pages.
    assert!(
        biggest > 16 * 1024,
        "the cache holds no compiled component: {written:?}"
    );
}

#[test]
fn a_broken_component_fails_with_the_compilers_error() {
    let cache = tempfile::tempdir().expect("tempdir");
    let err = compiler()
        .compile(
            &PluginsConfig::default(),
            cache.path(),
            b"\0asm not a component",
            Duration::from_secs(60),
        )
        .expect_err("garbage does not compile");
    assert!(err.contains("compiling the component"), "{err}");
}

#[test]
fn a_child_past_its_time_limit_is_stopped() {
    let cache = tempfile::tempdir().expect("tempdir");
    let err = compiler()
        .compile(
            &PluginsConfig::default(),
            cache.path(),
            BUNDLED[4].wasm,
            Duration::ZERO,
        )
        .expect_err("no compile finishes in no time");
    assert!(err.contains("stopped after 0 ms"), "{err}");
}
