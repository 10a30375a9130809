//! The media library end to end over HTTP, on local storage (SQLite and PostgreSQL) and on a
//! real S3-compatible server: upload → reference from an article → GraphQL URLs and variants →
//! conditional and range requests → delete refused while referenced → bytes removed after;
//! tenant isolation; and hostile inputs (a decompression bomb, a truncated JPEG, HTML named
//! `.jpg`, SVG with script, a path in the file name, an upload over quota, an unbounded
//! transform).

use image::ImageEncoder;
use reqwest::header;
use serde_json::{Value, json};
use zellige_e2e::{Answer, S3Server, TestApp};

/// A `w × h` JPEG with a gradient (real pixels, so that resizing has work to do).
fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 120])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .expect("encode");
    out
}

/// `POST /media` with a raw body.
async fn upload(app: &TestApp, token: &str, query: &str, bytes: Vec<u8>) -> Answer {
    let r = app
        .client
        .post(app.url(&format!("/admin/api/v1/media?{query}")))
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("upload");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        headers,
    }
}

async fn gql(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    let (_, _, body) = app.graphql(Some(token), query, vars).await;
    body
}

/// Files under the local media directory whose name is `sha`.
fn stored_copies(app: &TestApp, sha: &str) -> usize {
    fn walk(dir: &std::path::Path, sha: &str, n: &mut usize) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, sha, n);
                } else if p.file_name().and_then(|f| f.to_str()) == Some(sha) {
                    *n += 1;
                }
            }
        }
    }
    let mut n = 0;
    walk(&app.state.config.data_dir.join("media"), sha, &mut n);
    n
}

async fn library_round_trip(app: &TestApp, local: bool) {
    let demo = app.demo().await.expect("demo");
    let admin = app.admin_token("marrakech-safi").await.expect("admin");
    let editor = demo.marrakech.editor_token.as_str();
    let public = demo.marrakech.public_token.as_str();
    let photo = jpeg(640, 480);

    // Upload: the name loses its path, the type comes from the bytes, metadata in Arabic.
    let alt = json!({"ar": "زليج فاسي بألوان زرقاء", "fr": "Zellige de Fès"}).to_string();
    let query = format!(
        "fileName={}&alt={}&folder=articles&tags=zellige,fes",
        urlencode("../../ورشة الزليج.jpg"),
        urlencode(&alt)
    );
    let a = upload(app, editor, &query, photo.clone()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["fileName"], "ورشة الزليج.jpg");
    assert_eq!(a.body["mime"], "image/jpeg");
    assert_eq!(a.body["width"], 640);
    assert_eq!(a.body["height"], 480);
    assert_eq!(a.body["tags"], json!(["zellige", "fes"]));
    let id = a.body["id"].as_str().expect("id").to_owned();
    let sha = a.body["sha256"].as_str().expect("sha").to_owned();
    // The same bytes again: another asset, one stored copy.
    let b = upload(app, editor, "fileName=copy.jpg", photo.clone()).await;
    assert_eq!(b.status, 201, "{}", b.body);
    let copy = b.body["id"].as_str().expect("id").to_owned();
    assert_eq!(b.body["sha256"], sha.as_str());
    if local {
        assert_eq!(stored_copies(app, &sha), 1);
    }
    // Listed, filtered, paged.
    let list = app
        .admin(
            "GET",
            "/media?mime=image/&tag=zellige&first=1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list.body["items"][0]["id"], id.as_str());

    // Private until something published uses it: anonymous readers get 404.
    let url = a.body["url"].as_str().expect("url").to_owned();
    let r = app.client.get(app.url(&url)).send().await.expect("get");
    assert_eq!(r.status(), 404);
    let r = app
        .client
        .get(app.url(&url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);

    // Referenced by a published article: GraphQL shows it, URLs and variants included.
    let created = gql(
        app,
        editor,
        "mutation($cover: ID) { createArticle(data: {title: \"الزليج المغربي\", cover: $cover}) { id } }",
        json!({"cover": id}),
    )
    .await;
    let article = created["data"]["createArticle"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let p = gql(
        app,
        editor,
        "mutation($id: ID!) { publishArticle(id: $id) { status } }",
        json!({"id": article}),
    )
    .await;
    assert!(p["errors"].is_null(), "{p}");
    let q = gql(
        app,
        public,
        "query($id: ID!) { article(id: $id) { cover { id mime width height alt fileName url small: url(width: 200, format: WEBP) } } }",
        json!({"id": article}),
    )
    .await;
    let cover = &q["data"]["article"]["cover"];
    assert_eq!(cover["id"], id.as_str(), "{q}");
    assert_eq!(cover["alt"], "زليج فاسي بألوان زرقاء");
    assert_eq!(cover["width"], 640);
    assert_eq!(cover["url"], url.as_str());
    let small = cover["small"].as_str().expect("variant url").to_owned();
    assert!(
        small.contains("w=200") && small.contains("format=webp"),
        "{small}"
    );
    // French readers get the French alt text.
    let fr = gql(
        app,
        public,
        "query($id: ID!) { article(id: $id, locale: \"fr\") { cover { alt } } }",
        json!({"id": article}),
    )
    .await;
    assert_eq!(
        fr["data"]["article"]["cover"]["alt"], "Zellige de Fès",
        "{fr}"
    );
    // An unbounded variant is refused by name.
    let big = gql(
        app,
        public,
        "query($id: ID!) { article(id: $id) { cover { url(width: 100000) } } }",
        json!({"id": article}),
    )
    .await;
    assert!(
        big["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("w"),
        "{big}"
    );

    // Now anyone may fetch it, with validators, sandboxing and ranges.
    let r = app.client.get(app.url(&url)).send().await.expect("get");
    assert_eq!(r.status(), 200);
    let etag = r.headers()[header::ETAG].to_str().expect("etag").to_owned();
    assert_eq!(etag, format!("\"{sha}\""));
    assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp")
            .contains("sandbox")
    );
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert!(r.headers().contains_key(header::LAST_MODIFIED));
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), photo.as_slice());
    let r = app
        .client
        .get(app.url(&url))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 304);
    let r = app
        .client
        .get(app.url(&url))
        .header(header::RANGE, "bytes=10-19")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()[header::CONTENT_RANGE],
        format!("bytes 10-19/{}", photo.len()).as_str()
    );
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), &photo[10..20]);
    let r = app
        .client
        .get(app.url(&url))
        .header(header::RANGE, format!("bytes={}-", photo.len() + 10))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 416);

    // The variant: computed once, then served immutable from storage.
    for _ in 0..2 {
        let r = app
            .client
            .get(app.url(&small))
            .send()
            .await
            .expect("variant");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "image/webp");
        assert!(
            r.headers()[header::CACHE_CONTROL]
                .to_str()
                .expect("cc")
                .contains("immutable")
        );
        let bytes = r.bytes().await.expect("bytes");
        let img = image::load_from_memory(&bytes).expect("a webp");
        assert_eq!((img.width(), img.height()), (200, 150));
    }
    // format=auto follows Accept.
    let auto = url.clone() + "?w=100&format=auto";
    let r = app
        .client
        .get(app.url(&auto))
        .header(header::ACCEPT, "image/avif,image/webp,*/*")
        .send()
        .await
        .expect("auto");
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/webp");
    let r = app
        .client
        .get(app.url(&auto))
        .header(header::ACCEPT, "*/*")
        .send()
        .await
        .expect("auto");
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/jpeg");

    // Isolation: another tenant cannot see, list, fetch or reference it.
    let other = app.admin_token("casablanca-settat").await.expect("admin");
    let a = app
        .admin("GET", &format!("/media/{id}"), Some(&other), None)
        .await;
    assert_eq!(a.status, 404, "{}", a.body);
    let a = app
        .admin("GET", "/media?first=100", Some(&other), None)
        .await;
    let theirs: Vec<&str> = a.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(
        !theirs.contains(&id.as_str()) && !theirs.contains(&copy.as_str()),
        "{}",
        a.body
    );
    let r = app
        .client
        .get(app.url(&url.replace("/marrakech-safi/", "/casablanca-settat/")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let r = app
        .client
        .get(app.url(&format!("/media/marrakech-safi/{copy}/x.jpg")))
        .bearer_auth(&other)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404, "another tenant's credential opens nothing");
    let stolen = gql(
        app,
        &demo.casablanca.editor_token,
        "mutation($cover: ID) { createArticle(data: {title: \"x\", cover: $cover}) { id } }",
        json!({"cover": id}),
    )
    .await;
    assert_eq!(
        stolen["errors"][0]["extensions"]["fields"][0]["rule"], "media",
        "{stolen}"
    );

    // Delete: refused while the article uses it, naming the article.
    let d = app
        .admin("DELETE", &format!("/media/{id}"), Some(&admin), None)
        .await;
    assert_eq!(d.status, 409, "{}", d.body);
    assert_eq!(d.code(), "CONFLICT");
    assert!(
        d.body["message"].as_str().unwrap_or("").contains(&article),
        "{}",
        d.body
    );
    let u = gql(
        app,
        editor,
        "mutation($id: ID!) { updateArticle(id: $id, data: {cover: null}) { id } }",
        json!({"id": article}),
    )
    .await;
    assert!(u["errors"].is_null(), "{u}");
    let p = gql(
        app,
        editor,
        "mutation($id: ID!) { publishArticle(id: $id) { status } }",
        json!({"id": article}),
    )
    .await;
    assert!(p["errors"].is_null(), "{p}");
    let d = app
        .admin("DELETE", &format!("/media/{id}"), Some(&admin), None)
        .await;
    assert_eq!(d.status, 204, "{}", d.body);
    // The copy still names the bytes: they stay.
    let r = app
        .client
        .get(app.url(&format!("/media/marrakech-safi/{copy}/copy.jpg")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    if local {
        assert_eq!(stored_copies(app, &sha), 1);
    }
    let d = app
        .admin("DELETE", &format!("/media/{copy}"), Some(&admin), None)
        .await;
    assert_eq!(d.status, 204, "{}", d.body);
    let store = app.state.media.storage().store().clone();
    let tenant = zellige::tenancy::by_slug(&app.state.db, "marrakech-safi")
        .await
        .expect("tenant");
    let original = zellige::media::Storage::original(tenant.id(), &sha);
    let gone = object_store::ObjectStoreExt::head(&*store, &original).await;
    assert!(
        matches!(gone, Err(object_store::Error::NotFound { .. })),
        "{gone:?}"
    );
    if local {
        assert_eq!(stored_copies(app, &sha), 0);
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn library_on_local_storage_both_databases() {
    for app in TestApp::both().await.expect("spawn") {
        library_round_trip(&app, true).await;
    }
}

#[tokio::test]
async fn library_on_s3_compatible_storage() {
    let Some(s3) = S3Server::start("media on S3").await else {
        return;
    };
    let app = TestApp::spawn_with(|c| s3.configure(c))
        .await
        .expect("spawn");
    assert_eq!(app.state.media.storage().kind(), "s3");
    library_round_trip(&app, false).await;
}

#[tokio::test]
async fn hostile_uploads_get_clear_errors_and_leave_nothing_behind() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let admin = app.admin_token("marrakech-safi").await.expect("admin");
    let editor = demo.marrakech.editor_token.as_str();

    // A decompression bomb: a valid PNG header claiming 100,000 × 100,000 pixels.
    let mut png = Vec::new();
    let mut img = Vec::new();
    image::codecs::png::PngEncoder::new(&mut img)
        .write_image(&[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8)
        .expect("png");
    // Signature, IHDR length and type, then the claimed size and the rest of IHDR with its
    // checksum recomputed, then the real image's remaining chunks.
    png.extend_from_slice(&img[..16]);
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&img[24..29]);
    png.extend_from_slice(&ihdr[4..]);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    png.extend_from_slice(&img[33..]);
    let a = upload(&app, editor, "fileName=bomb.png", png).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.body["fields"][0]["rule"], "pixels", "{}", a.body);

    // HTML that calls itself a JPEG.
    let a = upload(
        &app,
        editor,
        "fileName=photo.jpg",
        b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
            .to_vec(),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.body["fields"][0]["path"], "file");
    assert_eq!(a.body["fields"][0]["rule"], "type");
    assert!(
        a.body["message"]
            .as_str()
            .unwrap_or("")
            .contains("text/html"),
        "{}",
        a.body
    );

    // A truncated JPEG is stored as uploaded, but a variant of it is a clear error.
    let full = jpeg(800, 600);
    let a = upload(
        &app,
        editor,
        "fileName=cut.jpg&isPublic=true",
        full[..full.len() / 3].to_vec(),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let url = a.body["url"].as_str().expect("url").to_owned();
    // The decoder recovers what the bytes hold (the missing rows are filled), or says why not.
    let r = app
        .client
        .get(app.url(&format!("{url}?w=100")))
        .send()
        .await
        .expect("get");
    match r.status().as_u16() {
        200 => {
            let img = image::load_from_memory(&r.bytes().await.expect("bytes")).expect("decodable");
            assert_eq!(img.width(), 100);
        }
        400 => {
            let body: Value = r.json().await.expect("json");
            assert_eq!(body["fields"][0]["rule"], "decode", "{body}");
        }
        other => panic!("truncated JPEG variant answered {other}"),
    }
    // A JPEG header followed by garbage: stored, but no variant can come of it.
    let mut broken = full[..64].to_vec();
    broken.extend((0..4096u32).map(|i| (i * 7919 % 251) as u8));
    let a = upload(&app, editor, "fileName=broken.jpg&isPublic=true", broken).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let broken_url = a.body["url"].as_str().expect("url").to_owned();
    let r = app
        .client
        .get(app.url(&format!("{broken_url}?w=100")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["fields"][0]["rule"], "decode", "{body}");
    // An unbounded transform is refused by name.
    let r = app
        .client
        .get(app.url(&format!("{url}?w=100000&fit=stretch")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    let rules: Vec<&str> = body["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["max", "oneOf"], "{body}");

    // SVG with script: accepted as an image, served as an attachment that runs nothing.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><circle r="5"/></svg>"#;
    let a = upload(
        &app,
        editor,
        "fileName=logo.svg&isPublic=true",
        svg.to_vec(),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["mime"], "image/svg+xml");
    let r = app
        .client
        .get(app.url(a.body["url"].as_str().expect("url")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("cd")
            .starts_with("attachment")
    );
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    // Over quota: stopped while streaming, nothing left in storage.
    let s = app
        .admin(
            "PATCH",
            "/settings",
            Some(&admin),
            Some(json!({"media": {"maxFileBytes": 10_000}})),
        )
        .await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(s.body["media"]["maxFileBytes"], 10_000);
    let before = files_under(&app.state.config.data_dir.join("media"));
    let a = upload(&app, editor, "fileName=big.jpg", jpeg(1600, 1200)).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.body["fields"][0]["rule"], "maxFileBytes", "{}", a.body);
    assert_eq!(
        files_under(&app.state.config.data_dir.join("media")),
        before
    );
    // Allowed types narrowed by the tenant.
    let s = app
        .admin(
            "PATCH",
            "/settings",
            Some(&admin),
            Some(json!({"media": {"allowedTypes": ["application/pdf"]}})),
        )
        .await;
    assert_eq!(s.status, 200, "{}", s.body);
    let a = upload(&app, editor, "fileName=small.jpg", jpeg(10, 10)).await;
    assert_eq!(a.body["fields"][0]["rule"], "type", "{}", a.body);
    let a = upload(
        &app,
        editor,
        "fileName=call.pdf",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n".to_vec(),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let pdf_url = a.body["url"].as_str().expect("url").to_owned();
    let r = app
        .client
        .get(app.url(&pdf_url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get");
    assert!(
        r.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("cd")
            .starts_with("attachment")
    );

    // Roles: a public token cannot upload; a viewer-like preview token cannot delete.
    let a = upload(
        &app,
        &demo.marrakech.public_token,
        "fileName=x.pdf",
        b"%PDF-1.7\n".to_vec(),
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.body);

    // A crash between storing bytes and writing the asset (or between deleting the asset and
    // its bytes) leaves objects no asset names: the sweep removes them and nothing else.
    let tenant = zellige::tenancy::by_slug(&app.state.db, "marrakech-safi")
        .await
        .expect("tenant");
    let store = app.state.media.storage().store().clone();
    let orphan = zellige::media::Storage::original(tenant.id(), &"ab".repeat(32));
    let tmp = zellige::media::Storage::upload(tenant.id());
    for path in [&orphan, &tmp] {
        object_store::ObjectStoreExt::put(&*store, path, b"left behind".to_vec().into())
            .await
            .expect("put");
    }
    let live = files_under(&app.state.config.data_dir.join("media"));
    let removed = app
        .state
        .media
        .sweep(&tenant, std::time::Duration::ZERO)
        .await
        .expect("sweep");
    assert_eq!(removed, 2);
    assert_eq!(
        files_under(&app.state.config.data_dir.join("media")),
        live - 2
    );
    let r = app
        .client
        .get(app.url(&pdf_url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200, "live bytes are kept");

    // The server is fine afterwards.
    let r = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("ready");
    assert_eq!(r.status(), 200);
}

fn files_under(dir: &std::path::Path) -> usize {
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            n += if p.is_dir() { files_under(&p) } else { 1 };
        }
    }
    n
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn the_demo_shows_pictures() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let q = gql(
        &app,
        &demo.marrakech.public_token,
        "{ articles(first: 20) { nodes { title cover { url alt mime width card: url(width: 240, format: WEBP) } } } artisans(first: 3) { nodes { photo { alt } } } }",
        json!({}),
    )
    .await;
    assert!(q["errors"].is_null(), "{q}");
    let articles = q["data"]["articles"]["nodes"].as_array().expect("articles");
    assert!(!articles.is_empty());
    for a in articles {
        let cover = &a["cover"];
        assert_eq!(cover["mime"], "image/jpeg", "{a}");
        assert_eq!(cover["width"], 480);
        assert!(
            cover["alt"]
                .as_str()
                .is_some_and(|t| t.contains("زليج") || t.contains("نقش") || t.contains("زخرفة")),
            "{a}"
        );
        let r = app
            .client
            .get(app.url(cover["card"].as_str().expect("card")))
            .send()
            .await
            .expect("card");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "image/webp");
    }
    for a in q["data"]["artisans"]["nodes"].as_array().expect("artisans") {
        assert!(a["photo"]["alt"].is_string(), "{a}");
    }
    // Loading the demo again adds nothing.
    app.demo().await.expect("demo again");
    let list = app
        .admin(
            "GET",
            "/media",
            Some(&app.admin_token("marrakech-safi").await.expect("admin")),
            None,
        )
        .await;
    assert_eq!(
        list.body["items"].as_array().map(Vec::len),
        Some(4),
        "{}",
        list.body
    );
}

/// A JPEG whose EXIF block says "rotate 90° clockwise to display" (orientation 6), with a GPS
/// position beside it.
fn jpeg_with_exif(w: u32, h: u32) -> Vec<u8> {
    let plain = jpeg(w, h);
    // TIFF, big-endian: IFD0 with Orientation = 6 and a GPS IFD pointer (to an empty IFD).
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x06, 0, 0]);
    tiff.extend_from_slice(&[0x88, 0x25, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 38]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(&0u16.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(app1.len() + 2).expect("short").to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

#[tokio::test]
async fn variants_are_oriented_stripped_and_computed_once() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let editor = demo.marrakech.editor_token.as_str();
    let a = upload(
        &app,
        editor,
        "fileName=portrait.jpg&isPublic=true",
        jpeg_with_exif(400, 300),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let url = a.body["url"].as_str().expect("url").to_owned();
    // Sixteen clients ask for the same new variant at once: it is computed once.
    let before = app.state.media.variants_computed();
    let variant = format!("{url}?w=150&format=jpeg");
    let mut calls = Vec::new();
    for _ in 0..16 {
        let client = app.client.clone();
        let u = app.url(&variant);
        calls.push(tokio::spawn(async move {
            let r = client.get(u).send().await.expect("get");
            assert_eq!(r.status(), 200);
            r.bytes().await.expect("bytes")
        }));
    }
    let mut bodies = Vec::new();
    for c in calls {
        bodies.push(c.await.expect("join"));
    }
    assert_eq!(app.state.media.variants_computed() - before, 1);
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    // Oriented: a 400 × 300 picture shown rotated is 300 wide, 400 high; 150 wide → 200 high.
    let img = image::load_from_memory(&bodies[0]).expect("jpeg");
    assert_eq!((img.width(), img.height()), (150, 200));
    // No metadata carried over: no EXIF (APP1) segment in the variant.
    assert!(
        !bodies[0].windows(6).any(|w| w == b"Exif\x00\x00"),
        "EXIF (and its GPS position) stripped"
    );
    // The original keeps its bytes as uploaded.
    let r = app.client.get(app.url(&url)).send().await.expect("get");
    assert!(
        r.bytes()
            .await
            .expect("bytes")
            .windows(6)
            .any(|w| w == b"Exif\x00\x00")
    );
}

#[tokio::test]
async fn multipart_uploads_pages_roles_and_the_tenant_total() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let admin = app.admin_token("marrakech-safi").await.expect("admin");

    // Multipart: text parts before the file part carry the metadata.
    let form = reqwest::multipart::Form::new()
        .text("alt", json!({"ar": "ملصق المعرض"}).to_string())
        .text("tags", "poster,2017")
        .part(
            "file",
            reqwest::multipart::Part::bytes(jpeg(320, 200)).file_name("ملصق المعرض.jpg"),
        );
    let r = app
        .client
        .post(app.url("/admin/api/v1/media"))
        .bearer_auth(&demo.marrakech.editor_token)
        .multipart(form)
        .send()
        .await
        .expect("multipart");
    assert_eq!(r.status(), 201);
    let poster: Value = r.json().await.expect("json");
    assert_eq!(poster["fileName"], "ملصق المعرض.jpg");
    assert_eq!(poster["alt"]["ar"], "ملصق المعرض");
    assert_eq!(poster["tags"], json!(["poster", "2017"]));
    assert_eq!(poster["width"], 320);

    // Cursor pages: newest first, each asset once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/media?first=2&after={a}"),
            None => "/media?first=2".to_owned(),
        };
        let page = app.admin("GET", &path, Some(&admin), None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for item in page.body["items"].as_array().expect("items") {
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match page.body["endCursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "four demo pictures and the poster: {seen:?}");
    assert_eq!(seen[0], poster["id"].as_str().expect("id"));
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5);

    // Authors upload and change their own assets, not others'.
    let created = app
        .admin(
            "POST",
            "/users",
            Some(&admin),
            Some(json!({"email": "katiba@marrakech.ma", "role": "author", "password": "كاتبة-الأخبار"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let session = app
        .login("marrakech-safi", "katiba@marrakech.ma", "كاتبة-الأخبار")
        .await;
    let author = session.body["token"].as_str().expect("token").to_owned();
    let own = upload(&app, &author, "fileName=own.jpg", jpeg(40, 30)).await;
    assert_eq!(own.status, 201, "{}", own.body);
    let own_id = own.body["id"].as_str().expect("id").to_owned();
    let patch = app
        .admin(
            "PATCH",
            &format!("/media/{own_id}"),
            Some(&author),
            Some(json!({"folder": "أخبار"})),
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    let poster_id = poster["id"].as_str().expect("id");
    let theirs = app
        .admin(
            "PATCH",
            &format!("/media/{poster_id}"),
            Some(&author),
            Some(json!({"folder": "x"})),
        )
        .await;
    assert_eq!(theirs.status, 403, "{}", theirs.body);
    let d = app
        .admin(
            "DELETE",
            &format!("/media/{poster_id}"),
            Some(&author),
            None,
        )
        .await;
    assert_eq!(d.status, 403, "{}", d.body);
    let d = app
        .admin("DELETE", &format!("/media/{own_id}"), Some(&author), None)
        .await;
    assert_eq!(d.status, 204, "{}", d.body);

    // The tenant's total: what is stored counts, each content once.
    let s = app
        .admin(
            "PATCH",
            "/settings",
            Some(&admin),
            Some(json!({"media": {"maxBytes": 1}})),
        )
        .await;
    assert_eq!(s.status, 200, "{}", s.body);
    let over = upload(
        &app,
        &demo.marrakech.editor_token,
        "fileName=one-more.jpg",
        jpeg(20, 20),
    )
    .await;
    assert_eq!(over.status, 400, "{}", over.body);
    assert_eq!(
        over.body["fields"][0]["rule"], "tenantBytes",
        "{}",
        over.body
    );
}

#[tokio::test]
async fn media_fields_load_in_one_batch() {
    let app = TestApp::spawn_with(|c| {
        zellige_e2e::quiet(c);
        c.limits.graphql_cache_bytes = 0;
    })
    .await
    .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let token = Some(demo.marrakech.public_token.as_str());
    let query = "query($n: Int) { artisans(first: $n) { nodes { name photo { url alt width thumb: url(width: 120) } } } }";
    let mut costs = Vec::new();
    for n in [3, 60] {
        app.graphql(token, query, json!({"n": n})).await; // warm the schema and model
        let before = app.queries.load(std::sync::atomic::Ordering::SeqCst);
        let (_, _, body) = app.graphql(token, query, json!({"n": n})).await;
        costs.push(app.queries.load(std::sync::atomic::Ordering::SeqCst) - before);
        let nodes = body["data"]["artisans"]["nodes"]
            .as_array()
            .expect("nodes")
            .clone();
        assert_eq!(nodes.len(), n, "{body}");
        assert!(
            nodes.iter().all(|a| a["photo"]["url"].is_string()),
            "{body}"
        );
    }
    assert_eq!(
        costs[0], costs[1],
        "statements for 3 and 60 artisans: {costs:?}"
    );
}
