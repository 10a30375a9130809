//! Writes synthetic published entries as JSON Lines for `zellige import` (load benchmarks):
//!
//!     cargo run --release -p zellige --example gen_data -- ARTICLES EVENTS ARTISANS > data.jsonl

use std::io::Write;

fn main() -> anyhow::Result<()> {
    let arg = |i: usize, default: usize| -> anyhow::Result<usize> {
        Ok(std::env::args()
            .nth(i)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let lines = zellige::demo::synthetic(arg(1, 10_000)?, arg(2, 5_000)?, arg(3, 10_000)?);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in lines {
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
