//! Compiling components in a child process.
//!
//! Compiling a component runs cranelift: tens of MiB of heap and about 5 MiB of the binary's
//! code pages that then stay resident in the server for its whole life (the allocator keeps
//! most of the heap it grew to; the code pages are never touched again). The demo's first
//! start compiles the bundled plugins and ended 18 MiB higher than a restart that found them in
//! the disk cache (bench/README.md). So the server has a child, the same executable, compile a
//! component into wasmtime's disk cache; its own `Component::new` then finds the compiled code
//! there and only loads it. A child that fails or is killed at the time limit changes nothing:
//! the server compiles in process, as it does without a disk cache, and reports that
//! compiler's error.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::PluginsConfig;

/// What the child needs to build an engine identical to the server's: the cache key of a
/// compiled component includes the engine's settings.
#[derive(Serialize, Deserialize)]
struct Job {
    plugins: PluginsConfig,
    cache_dir: PathBuf,
}

/// The executable and arguments that compile one component into the disk cache.
#[derive(Debug, Clone)]
pub struct ChildCompiler {
    exe: PathBuf,
}

impl ChildCompiler {
    /// `exe` must be a `zellige` binary (it runs `exe compile-plugin`).
    pub fn new(exe: PathBuf) -> Self {
        ChildCompiler { exe }
    }

    /// Compiles `wasm` in a child into `cache_dir`; an error says why it did not.
    pub fn compile(
        &self,
        plugins: &PluginsConfig,
        cache_dir: &Path,
        wasm: &[u8],
        limit: Duration,
    ) -> Result<(), String> {
        let job = serde_json::to_vec(&Job {
            plugins: plugins.clone(),
            cache_dir: cache_dir.to_owned(),
        })
        .map_err(|e| e.to_string())?;
        let mut child = Command::new(&self.exe)
            .arg("compile-plugin")
            // The error, not a backtrace: it ends up in the server's log.
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", self.exe.display()))?;
        // The child reads all of its input before it writes anything, so this cannot block on
        // a full stderr pipe.
        let written = child.stdin.take().map(|mut stdin| {
            stdin
                .write_all(&job)
                .and_then(|()| stdin.write_all(b"\n"))
                .and_then(|()| stdin.write_all(wasm))
        });
        let deadline = Instant::now() + limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("stopped after {} ms", limit.as_millis()));
                }
                Err(e) => return Err(e.to_string()),
            }
        };
        if let Some(Err(e)) = written {
            return Err(format!("could not send the component: {e}"));
        }
        if status.success() {
            return Ok(());
        }
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        Err(format!("{status}: {}", stderr.trim()))
    }
}

const POLL: Duration = Duration::from_millis(5);

/// The child's side (`zellige compile-plugin`): reads the job and the component from standard
/// input and compiles it with the server's engine settings into the disk cache.
pub fn compile_from_stdin() -> anyhow::Result<()> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let split = input
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| anyhow::anyhow!("no job line on standard input"))?;
    let job: Job = serde_json::from_slice(&input[..split])?;
    let wasm = &input[split + 1..];
    let engine = super::build_engine(&job.plugins, &job.cache_dir)?;
    wasmtime::component::Component::new(&engine, wasm)
        .map_err(|e| anyhow::anyhow!("compiling the component: {e}"))?;
    Ok(())
}
