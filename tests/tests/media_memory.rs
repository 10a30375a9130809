//! Memory stays bounded while a large upload streams through the server: the test process
//! holds the server, and its peak resident size (`VmHWM`) grows by far less than the file. A
//! file of its own so that no other test's allocations run beside it.

use futures::StreamExt;
use zellige_e2e::TestApp;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::test]
async fn a_large_upload_streams_in_bounded_memory() {
    let Some(start) = peak_rss_kib() else {
        zellige_e2e::skip_or_fail("media memory: /proc/self/status is not readable");
        return;
    };
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let warm = peak_rss_kib().unwrap_or(start);
    // 94 MB of an MP4-typed file, generated while it is sent (the client holds one chunk).
    const CHUNK: usize = 256 * 1024;
    const CHUNKS: usize = 360;
    let body = futures::stream::iter(0..CHUNKS).map(|i| {
        let mut chunk = vec![(i % 251) as u8; CHUNK];
        if i == 0 {
            chunk[..24].copy_from_slice(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2");
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let r = app
        .client
        .post(app.url("/admin/api/v1/media?fileName=film.mp4"))
        .bearer_auth(&demo.marrakech.editor_token)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 201);
    let answer: serde_json::Value = r.json().await.expect("json");
    assert_eq!(answer["size"], (CHUNK * CHUNKS) as u64);
    assert_eq!(answer["mime"], "video/mp4");
    let grown_mib = (peak_rss_kib().unwrap_or(0).saturating_sub(warm)) / 1024;
    println!("peak RSS grew by {grown_mib} MiB for a 94 MB upload");
    assert!(
        grown_mib < 48,
        "peak RSS grew by {grown_mib} MiB for a 94 MB upload"
    );
}
