//! Image variants, measured on one core: a 4000 × 3000 JPEG photo (12 MP, with detail, not a
//! flat gradient) decoded, resized to 800 px wide and encoded as WebP (quality 80), as a
//! `GET /media/…?w=800&format=webp` does the first time; and reading the dimensions from the
//! header alone, as an upload does.
//!
//! `cargo bench -p zellige --bench media`; figures in `bench/README.md`.

use criterion::{Criterion, criterion_group, criterion_main};
use zellige::config::MediaConfig;
use zellige::media::transform::{self, RawParams};

/// A photo-like 4000 × 3000 JPEG: smooth light with fine texture, so that the encoder and the
/// resizer see realistic entropy.
fn photo() -> Vec<u8> {
    let (w, h) = (4000u32, 3000u32);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed % 24) as i32 - 12;
        let base = |v: u32, span: u32| (v * 200 / span) as i32;
        let r = base(x, w) + noise + 30;
        let g = base(y, h) + noise / 2 + 40;
        let b = ((x / 40 + y / 40) % 2 * 60) as i32 + noise + 90;
        image::Rgb([
            r.clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            b.clamp(0, 255) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("encode");
    out
}

fn bench(c: &mut Criterion) {
    let bytes = photo();
    let config = MediaConfig::default();
    let params = RawParams {
        w: Some(800),
        format: Some("webp".into()),
        ..Default::default()
    }
    .check(&config, None, "image/jpeg")
    .expect("params");
    let mut group = c.benchmark_group("media");
    group.sample_size(20);
    group.bench_function("4000x3000 jpeg -> 800px webp", |b| {
        b.iter(|| transform::render(&bytes, &params, &config).expect("render"))
    });
    group.bench_function("dimensions from the header", |b| {
        b.iter(|| transform::dimensions(&bytes[..64 * 1024], &config).expect("dims"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
