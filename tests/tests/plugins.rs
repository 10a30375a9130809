//! Plugins end to end: the real server, components built from `plugins/` by the build, GraphQL
//! and the admin API over HTTP. The bundled widgets render for the demo tenant; tenants only
//! reach what they enabled and granted; hostile components fail their own call only.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zellige_e2e::{TestApp, code};

/// Days of December 2017 with published events of the tenant, from GraphQL.
async fn december_event_days(app: &TestApp, token: &str) -> BTreeSet<u64> {
    let (_, _, body) = app
        .graphql(
            Some(token),
            "{ events(where: {startsAt: {gte: \"2017-12-01T00:00:00Z\", lt: \"2018-01-01T00:00:00Z\"}}, first: 100) { nodes { startsAt } } }",
            json!({}),
        )
        .await;
    body["data"]["events"]["nodes"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|n| n["startsAt"].as_str())
        .filter_map(|s| s.get(8..10)?.parse().ok())
        .collect()
}

/// Days the calendar's data marks as having events.
fn marked_days(data: &Value) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for week in data["weeks"].as_array().into_iter().flatten() {
        for day in week.as_array().into_iter().flatten() {
            if day["events"].as_array().is_some_and(|e| !e.is_empty())
                && let Some(d) = day["day"].as_u64()
            {
                out.insert(d);
            }
        }
    }
    out
}

/// A time limit for the tests that are not about time limits: with the whole suite running on
/// two cores in a debug build, a render that takes a millisecond can wait past the default
/// 50 ms for a core. The deadline itself is tested by the hostile plugins below.
fn unhurried(c: &mut zellige::config::Config) {
    c.plugins.timeout_ms = 1_000;
}

#[tokio::test]
async fn bundled_widgets_render_for_the_demo_tenant() {
    for app in TestApp::both_with(unhurried).await.expect("spawn") {
        let demo = app.demo_with_plugins().await.expect("demo");
        let token = demo.marrakech.public_token.as_str();

        // The widgets query lists the five bundled plugins.
        let (_, _, body) = app
            .graphql(
                Some(token),
                "{ widgets { plugin name description propsSchema } }",
                json!({}),
            )
            .await;
        let plugins: BTreeSet<&str> = body["data"]["widgets"]
            .as_array()
            .expect("widgets")
            .iter()
            .filter_map(|w| w["plugin"].as_str())
            .collect();
        for p in [
            "calendar",
            "social-links",
            "ad-slot",
            "video-channel",
            "artisans-directory",
        ] {
            assert!(plugins.contains(p), "{p} missing from {body}");
        }

        // The calendar of December 2017 reproduces the chamber's block.
        let (status, body) = app
            .widget(
                Some(token),
                "calendar",
                "month",
                json!({"year": 2017, "month": 12}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let w = &body["data"]["widget"];
        let html = w["html"].as_str().expect("html");
        assert!(html.contains("كانون1/ديسمبر 2017"), "{html}");
        assert!(html.contains("dir=\"rtl\""), "{html}");
        let header = [
            "الإثنين",
            "الثلاثاء",
            "الأربعاء",
            "الخميس",
            "الجمعة",
            "السبت",
            "الأحد",
        ];
        let positions: Vec<usize> = header
            .iter()
            .map(|d| html.find(d).unwrap_or_else(|| panic!("{d} missing")))
            .collect();
        assert!(
            positions.windows(2).all(|p| p[0] < p[1]),
            "Monday first: {positions:?}"
        );
        assert!(!html.contains("<script"), "{html}");
        let expected = december_event_days(&app, token).await;
        assert!(
            expected.len() >= 5,
            "the demo has December events: {expected:?}"
        );
        assert_eq!(
            marked_days(&w["data"]),
            expected,
            "marked days = event days"
        );
        // 2017-12-01 was a Friday: the first week has four empty cells, then 1, 2, 3.
        let first_week = w["data"]["weeks"][0].as_array().expect("week");
        assert_eq!(first_week.len(), 7);
        assert!(first_week[..4].iter().all(Value::is_null), "{first_week:?}");
        assert_eq!(first_week[4]["day"], 1);
        let days: usize = w["data"]["weeks"]
            .as_array()
            .expect("weeks")
            .iter()
            .map(|wk| {
                wk.as_array()
                    .map_or(0, |d| d.iter().filter(|x| !x.is_null()).count())
            })
            .sum();
        assert_eq!(days, 31);
        // Each marked day links to its event.
        let (_, _, ev) = app
            .graphql(Some(token), "{ events(where: {startsAt: {gte: \"2017-12-05T00:00:00Z\", lt: \"2017-12-06T00:00:00Z\"}}) { nodes { slug } } }", json!({}))
            .await;
        let slug = ev["data"]["events"]["nodes"][0]["slug"]
            .as_str()
            .expect("event of the 5th");
        assert!(
            html.contains(&format!("/events/{slug}"))
                || html.contains(&format!("/events/{}", urlencode(slug))),
            "{html}"
        );

        // French.
        let (_, body) = app
            .widget(
                Some(token),
                "calendar",
                "month",
                json!({"year": 2017, "month": 12, "locale": "fr"}),
            )
            .await;
        let html = body["data"]["widget"]["html"].as_str().expect("html");
        assert!(html.contains("décembre 2017"), "{html}");
        assert!(html.contains("lundi"), "{html}");

        // Social links from the tenant's configuration.
        let (_, body) = app
            .widget(Some(token), "social-links", "links", json!({}))
            .await;
        let html = body["data"]["widget"]["html"].as_str().expect("html");
        assert!(
            html.contains("https://www.facebook.com/chambre.artisanat.marrakech"),
            "{body}"
        );
        assert!(html.contains("noopener"), "{html}");

        // The ad slot rotates and counts impressions in kv.
        let mut ads = Vec::new();
        for _ in 0..4 {
            let (_, body) = app.widget(Some(token), "ad-slot", "slot", json!({})).await;
            assert_eq!(body["data"]["widget"]["cacheSeconds"], 0, "{body}");
            ads.push(body["data"]["widget"]["data"].clone());
        }
        let ids: BTreeSet<String> = ads.iter().map(|d| d.to_string()).collect();
        assert!(ids.len() >= 3, "rotating ads: {ads:?}");

        // The latest videos, newest first.
        let (_, body) = app
            .widget(Some(token), "video-channel", "latest", json!({"count": 3}))
            .await;
        let html = body["data"]["widget"]["html"].as_str().expect("html");
        let a = html
            .find("معرض الصناعة التقليدية بآسفي")
            .expect("newest video");
        let b = html.find("فن الزليج بمراكش").expect("second video");
        assert!(a < b, "{html}");
        assert!(!html.contains("الدباغة التقليدية"), "only three: {html}");

        // The artisans directory: counts per city equal GraphQL's totalCount per city.
        let (_, body) = app
            .widget(
                Some(token),
                "artisans-directory",
                "directory",
                json!({"city": "آسفي"}),
            )
            .await;
        let data = &body["data"]["widget"]["data"];
        let (_, _, count) = app
            .graphql(
                Some(token),
                "{ artisans(where: {city: {eq: \"آسفي\"}}) { totalCount } }",
                json!({}),
            )
            .await;
        let safi = count["data"]["artisans"]["totalCount"]
            .as_u64()
            .expect("count");
        let listed = data["cities"]
            .as_array()
            .expect("cities")
            .iter()
            .find(|c| c["value"] == "آسفي")
            .expect("Safi");
        assert_eq!(listed["count"].as_u64(), Some(safi), "{data}");
        assert!(
            data["artisans"]
                .as_array()
                .expect("artisans")
                .iter()
                .all(|a| a["city"] == "آسفي"),
            "{data}"
        );
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn tenants_reach_only_what_they_enabled() {
    let app = TestApp::spawn_with(unhurried).await.expect("spawn");
    let demo = app.demo_with_plugins().await.expect("demo");
    let casa = demo.casablanca.public_token.as_str();
    let admin = app.admin_token("casablanca-settat").await.expect("admin");
    // The calendar of December 2017 on a node with a token: whether it rendered, or the code.
    async fn december(node: &TestApp, token: &str) -> Result<(), String> {
        let month = json!({"year": 2017, "month": 12});
        let (_, body) = node.widget(Some(token), "calendar", "month", month).await;
        match body["data"]["widget"]["html"].is_string() {
            true => Ok(()),
            false => Err(code(&body).to_string()),
        }
    }
    async fn set_calendar(app: &TestApp, admin: &str, enabled: bool) {
        let body = json!({ "enabled": enabled });
        let a = app
            .admin("PUT", "/plugins/calendar/setup", Some(admin), Some(body))
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
    let forbidden = Err("FORBIDDEN".to_string());
    // Another node renders first, so it holds Casablanca's calendar setup in memory.
    let other = app.another_node().await.expect("second node");
    assert_eq!(december(&other, casa).await, Ok(()));

    // Disabled for Casablanca: FORBIDDEN there, still fine in Marrakech.
    set_calendar(&app, &admin, false).await;
    assert_eq!(december(&app, casa).await, forbidden);
    // The other node sees each change at its next request, not after a restart or a delay.
    assert_eq!(december(&other, casa).await, forbidden);
    set_calendar(&app, &admin, true).await;
    assert_eq!(december(&other, casa).await, Ok(()));
    set_calendar(&app, &admin, false).await;
    assert_eq!(december(&other, casa).await, forbidden);
    assert_eq!(december(&app, &demo.marrakech.public_token).await, Ok(()));

    // A grant the manifest does not ask for is refused, naming the field.
    let a = app
        .admin(
            "PUT",
            "/plugins/social-links/setup",
            Some(&admin),
            Some(json!({"enabled": true, "grants": ["kv"]})),
        )
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(a.body["fields"][0]["path"], "grants[0]");
    // A configuration outside the schema is refused.
    let a = app
        .admin(
            "PUT",
            "/plugins/social-links/setup",
            Some(&admin),
            Some(json!({"enabled": true, "config": {"links": "nope"}})),
        )
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert!(
        a.body["fields"][0]["path"]
            .as_str()
            .expect("path")
            .starts_with("config"),
        "{:?}",
        a.body
    );

    // Bad props name the prop.
    let (_, body) = app
        .widget(
            Some(&demo.marrakech.public_token),
            "calendar",
            "month",
            json!({"month": 13}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    // Unknown plugin or widget.
    let (_, body) = app.widget(Some(casa), "nope", "x", json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn a_plugin_sees_only_its_tenants_published_entries() {
    for app in TestApp::both_with(unhurried).await.expect("spawn") {
        let demo = app.demo_with_plugins().await.expect("demo");
        let a = app
            .install_platform_plugin("fixtures/hostile-peek")
            .await
            .expect("install");
        assert_eq!(a.status, 201, "{:?}", a.body);
        let id = a.body["id"].as_str().expect("id").to_owned();
        let a = app
            .enable_plugin("casablanca-settat", &id, &["entries"], json!({}))
            .await
            .expect("enable");
        assert_eq!(a.status, 200, "{:?}", a.body);
        let casa = demo.casablanca.public_token.as_str();
        let widget = a.body["widgets"][0].as_str().expect("widget").to_owned();
        let (_, body) = app.widget(Some(casa), &id, &widget, json!({})).await;
        let data = &body["data"]["widget"]["data"];
        let seen: BTreeSet<String> = data["ids"]
            .as_array()
            .unwrap_or_else(|| panic!("ids in {body}"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        // Exactly Casablanca's published articles: no drafts, nothing of Marrakech.
        let (_, _, list) = app
            .graphql(
                Some(casa),
                "{ articles(first: 100) { nodes { id } } }",
                json!({}),
            )
            .await;
        let published: BTreeSet<String> = list["data"]["articles"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["id"].as_str().map(str::to_owned))
            .collect();
        assert!(!published.is_empty());
        assert_eq!(seen, published, "{body}");

        // Without the grant the import answers `denied`, and the call still succeeds.
        let a = app
            .enable_plugin("casablanca-settat", &id, &[], json!({}))
            .await
            .expect("enable");
        assert_eq!(a.status, 200, "{:?}", a.body);
        let (_, body) = app.widget(Some(casa), &id, &widget, json!({})).await;
        let text = body["data"]["widget"]["data"].to_string();
        assert!(
            text.to_lowercase().contains("denied") || text.contains("granted"),
            "{body}"
        );
        assert!(
            body["data"]["widget"]["data"]["ids"]
                .as_array()
                .is_none_or(|a| a.is_empty()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_private_plugin_is_invisible_to_other_tenants() {
    use base64::Engine as _;
    let app = TestApp::spawn_with(unhurried).await.expect("spawn");
    let demo = app.demo_with_plugins().await.expect("demo");
    let (wasm, manifest) = zellige_e2e::plugin_component("template").expect("template");
    let mrk = app.admin_token("marrakech-safi").await.expect("admin");
    let casa = app.admin_token("casablanca-settat").await.expect("admin");
    let a = app
        .admin(
            "POST",
            "/plugins",
            Some(&mrk),
            Some(json!({"manifest": manifest, "component": base64::engine::general_purpose::STANDARD.encode(&wasm)})),
        )
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.body["scope"], "tenant");
    let id = a.body["id"].as_str().expect("id").to_owned();
    let a = app
        .admin(
            "PUT",
            &format!("/plugins/{id}/setup"),
            Some(&mrk),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let (_, body) = app
        .widget(
            Some(&demo.marrakech.public_token),
            &id,
            "greeting",
            json!({"name": "فاطمة"}),
        )
        .await;
    assert!(
        body["data"]["widget"]["html"]
            .as_str()
            .expect("html")
            .contains("فاطمة"),
        "{body}"
    );

    // Casablanca cannot list, read, enable or render it.
    let list = app.admin("GET", "/plugins", Some(&casa), None).await;
    assert!(
        !list.body.to_string().contains(&format!("\"{id}\"")),
        "{:?}",
        list.body
    );
    let a = app
        .admin("GET", &format!("/plugins/{id}"), Some(&casa), None)
        .await;
    assert_eq!(a.status, 404);
    let a = app
        .admin(
            "PUT",
            &format!("/plugins/{id}/setup"),
            Some(&casa),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(a.status, 404, "{:?}", a.body);
    let (_, body) = app
        .widget(
            Some(&demo.casablanca.public_token),
            &id,
            "greeting",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    // Editors cannot manage plugins.
    let a = app
        .admin("GET", "/plugins", Some(&demo.marrakech.editor_token), None)
        .await;
    assert_eq!(a.status, 403);
}

/// Installs a hostile fixture for Marrakech with every capability it asks for.
async fn hostile(app: &TestApp, dir: &str) -> String {
    let a = app.install_platform_plugin(dir).await.expect("install");
    assert_eq!(a.status, 201, "{dir}: {:?}", a.body);
    let id = a.body["id"].as_str().expect("id").to_owned();
    let caps: Vec<String> = a.body["capabilities"]
        .as_array()
        .expect("capabilities")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    let e = app
        .enable_plugin("marrakech-safi", &id, &caps, json!({}))
        .await
        .expect("enable");
    assert_eq!(e.status, 200, "{dir}: {:?}", e.body);
    id
}

async fn first_widget(app: &TestApp, id: &str) -> String {
    let admin = app.admin_token("marrakech-safi").await.expect("admin");
    let a = app
        .admin("GET", &format!("/plugins/{id}"), Some(&admin), None)
        .await;
    a.body["widgets"][0].as_str().expect("widget").to_owned()
}

/// The server still serves: the calendar renders in both tenants.
async fn still_serving(app: &TestApp, tokens: &[&str]) {
    for t in tokens {
        let (_, body) = app
            .widget(
                Some(t),
                "calendar",
                "month",
                json!({"year": 2017, "month": 12}),
            )
            .await;
        assert!(
            body["data"]["widget"]["html"]
                .as_str()
                .is_some_and(|h| h.contains("2017")),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_plugins_fail_only_their_own_call() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo_with_plugins().await.expect("demo");
    let mrk = demo.marrakech.public_token.clone();
    let tokens = [mrk.as_str(), demo.casablanca.public_token.as_str()];
    let cases = [
        ("fixtures/hostile-loop", json!({}), "PLUGIN_TIMEOUT"),
        ("fixtures/hostile-memory", json!({}), "PLUGIN_LIMIT"),
        ("fixtures/hostile-trap", json!({}), "PLUGIN_ERROR"),
        // Twice the 1 MiB output limit.
        ("fixtures/hostile-output", json!({"mib": 2}), "PLUGIN_LIMIT"),
        ("fixtures/hostile-recursion", json!({}), "PLUGIN_ERROR"),
    ];
    for (dir, props, expected) in cases {
        let id = hostile(&app, dir).await;
        let widget = first_widget(&app, &id).await;
        let started = Instant::now();
        let (status, body) = app.widget(Some(&mrk), &id, &widget, props).await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{dir}: {body}");
        assert_eq!(code(&body), expected, "{dir}: {body}");
        assert!(took < Duration::from_secs(2), "{dir} took {took:?}");
        if expected == "PLUGIN_TIMEOUT" {
            assert!(
                took < Duration::from_millis(500),
                "stopped within its deadline: {took:?}"
            );
        }
        still_serving(&app, &tokens).await;
    }

    // Script in HTML is sanitized away; Arabic text with dir/lang survives.
    let id = hostile(&app, "fixtures/hostile-script").await;
    let widget = first_widget(&app, &id).await;
    let (_, body) = app.widget(Some(&mrk), &id, &widget, json!({})).await;
    let html = body["data"]["widget"]["html"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    for bad in ["<script", "onerror", "javascript:", "alert("] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert!(
        html.contains("dir=\"rtl\"") && html.contains("lang=\"ar\""),
        "{html}"
    );

    // No filesystem, environment or network: the attempts fail inside the plugin.
    match app
        .install_platform_plugin("fixtures/hostile-escape")
        .await
        .expect("install")
    {
        a if a.status == 201 => {
            let id = a.body["id"].as_str().expect("id").to_owned();
            let e = app
                .enable_plugin("marrakech-safi", &id, &[], json!({}))
                .await
                .expect("enable");
            assert_eq!(e.status, 200, "{:?}", e.body);
            let widget = first_widget(&app, &id).await;
            let (_, body) = app.widget(Some(&mrk), &id, &widget, json!({})).await;
            let text = body["data"]["widget"].to_string();
            assert!(!text.contains("root:"), "read /etc/passwd: {text}");
            assert!(
                body["data"]["widget"]["data"]["env"].as_u64().unwrap_or(0) == 0,
                "{text}"
            );
            assert!(text.contains("error"), "the attempts failed: {text}");
        }
        a => {
            assert_eq!(a.status, 400, "{:?}", a.body);
            assert_eq!(a.body["fields"][0]["rule"], "imports", "{:?}", a.body);
        }
    }

    // A component that imports what the host does not provide is refused at install.
    let a = app
        .install_platform_plugin("fixtures/hostile-import")
        .await
        .expect("install");
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(a.body["fields"][0]["rule"], "imports", "{:?}", a.body);

    still_serving(&app, &tokens).await;
}

#[tokio::test]
async fn kv_limits_are_errors_the_plugin_sees() {
    let app = TestApp::spawn_with(|c| {
        unhurried(c);
        c.plugins.kv_keys = 25;
    })
    .await
    .expect("spawn");
    let demo = app.demo_with_plugins().await.expect("demo");
    let mrk = demo.marrakech.public_token.clone();
    let id = hostile(&app, "fixtures/hostile-kv").await;
    let (_, body) = app.widget(Some(&mrk), &id, "limits", json!({})).await;
    let d = &body["data"]["widget"]["data"];
    assert_eq!(d["key256"], json!({"ok": null}), "{body}");
    assert_eq!(d["key257"]["error"]["kind"], "invalid", "{body}");
    assert_eq!(d["arabicKey258Bytes"]["error"]["kind"], "invalid", "{body}");
    assert_eq!(d["emptyKey"]["error"]["kind"], "invalid", "{body}");
    assert_eq!(d["value64KiB"], json!({"ok": null}), "{body}");
    assert_eq!(d["value64KiBPlus1"]["error"]["kind"], "invalid", "{body}");
    assert_eq!(d["incrementText"]["error"]["kind"], "invalid", "{body}");
    assert_eq!(d["incrementOverflow"]["error"]["kind"], "invalid", "{body}");
    // The key quota: 25 keys in all (5 written by the probes above), then `limit`.
    let (_, body) = app
        .widget(Some(&mrk), &id, "run", json!({"keys": 40}))
        .await;
    let d = &body["data"]["widget"]["data"];
    assert_eq!(d["error"]["kind"], "limit", "{body}");
    assert!(
        d["written"]
            .as_u64()
            .is_some_and(|w| (19..=25).contains(&w)),
        "{body}"
    );
    // Another tenant's plugin store is its own: Casablanca starts empty.
    let e = app
        .enable_plugin("casablanca-settat", &id, &["kv"], json!({}))
        .await
        .expect("enable");
    assert_eq!(e.status, 200, "{:?}", e.body);
    let (_, body) = app
        .widget(
            Some(&demo.casablanca.public_token),
            &id,
            "run",
            json!({"keys": 10}),
        )
        .await;
    assert_eq!(body["data"]["widget"]["data"]["written"], 10, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_looping_plugin_under_load_does_not_stop_other_tenants() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo_with_plugins().await.expect("demo");
    let id = hostile(&app, "fixtures/hostile-loop").await;
    let widget = first_widget(&app, &id).await;
    let mrk = demo.marrakech.public_token.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut hammers = Vec::new();
    for _ in 0..16 {
        let (client, url, mrk, id, widget, stop) = (
            app.client.clone(),
            app.url("/graphql"),
            mrk.clone(),
            id.clone(),
            widget.clone(),
            stop.clone(),
        );
        hammers.push(tokio::spawn(async move {
            let mut timeouts = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .bearer_auth(&mrk)
                    .json(&json!({"query": format!("{{ widget(plugin: \"{id}\", name: \"{widget}\") {{ html }} }}")}))
                    .send()
                    .await;
                if let Ok(r) = r
                    && let Ok(v) = r.json::<Value>().await
                    && code(&v) == "PLUGIN_TIMEOUT"
                {
                    timeouts += 1;
                }
            }
            timeouts
        }));
    }
    // Meanwhile Casablanca's calendar keeps answering.
    let casa = demo.casablanca.public_token.clone();
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let (_, body) = app
            .widget(
                Some(&casa),
                "calendar",
                "month",
                json!({"year": 2017, "month": 12}),
            )
            .await;
        worst = worst.max(started.elapsed());
        assert!(body["data"]["widget"]["html"].is_string(), "{body}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut timeouts = 0;
    for h in hammers {
        timeouts += h.await.expect("join");
    }
    assert!(timeouts >= 16, "the loop was stopped each time: {timeouts}");
    assert!(
        worst < Duration::from_secs(2),
        "other tenants kept being served: {worst:?}"
    );
}

/// Installs the `test-hooks` fixture and enables it for Marrakech's articles.
async fn enable_test_hooks(app: &TestApp) {
    let a = app
        .install_platform_plugin("fixtures/test-hooks")
        .await
        .expect("install");
    assert_eq!(a.status, 201, "{:?}", a.body);
    let e = app
        .enable_plugin(
            "marrakech-safi",
            "test-hooks",
            &["kv", "log"],
            json!({"types": ["article"]}),
        )
        .await
        .expect("enable");
    assert_eq!(e.status, 200, "{:?}", e.body);
}

#[tokio::test]
async fn content_hooks_run_before_save_and_after_publish() {
    for app in TestApp::both_with(unhurried).await.expect("spawn") {
        let demo = app.demo_with_plugins().await.expect("demo");
        enable_test_hooks(&app).await;
        let editor = demo.marrakech.editor_token.as_str();

        // before-save refuses, naming the field and the plugin; nothing is written.
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "mutation { createArticle(data: {title: \"REFUSE هذا العنوان\"}) { id } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        let field = &body["errors"][0]["extensions"]["fields"][0];
        assert!(
            field["path"].as_str().expect("path").starts_with("title"),
            "{body}"
        );
        assert!(
            field["message"]
                .as_str()
                .expect("message")
                .contains("test-hooks"),
            "{body}"
        );

        // before-save transforms: the title is saved trimmed.
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "mutation { createArticle(data: {title: \"   معرض الخزف بآسفي   \"}) { id title } }",
                json!({}),
            )
            .await;
        let created = &body["data"]["createArticle"];
        assert_eq!(created["title"], "معرض الخزف بآسفي", "{body}");
        let id = created["id"].as_str().expect("id").to_owned();

        // after-publish runs from the outbox after the commit.
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "mutation($id: ID!) { publishArticle(id: $id) { publishedAt } }",
                json!({"id": id}),
            )
            .await;
        let published_at = body["data"]["publishArticle"]["publishedAt"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned();
        let token = demo.marrakech.public_token.as_str();
        let mut seen = Value::Null;
        for _ in 0..100 {
            let (_, body) = app
                .widget(
                    Some(token),
                    "test-hooks",
                    "published",
                    json!({"id": id, "type": "article"}),
                )
                .await;
            seen = body["data"]["widget"]["data"].clone();
            // The hook writes two keys: wait for both.
            if seen["publishedAt"].is_string() && seen["count"] == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen["publishedAt"], json!(published_at), "{seen}");
        assert_eq!(seen["count"], 1, "{seen}");
        // Compiled code is kept on disk for the next start.
        let cache = app.state.config.data_dir.join("plugin-cache");
        assert!(
            std::fs::read_dir(&cache).is_ok_and(|mut d| d.next().is_some()),
            "{}",
            cache.display()
        );
    }
}

/// Every node keeps each tenant's `before-save` plugins in memory between writes, versioned by
/// the revision a request reads with its token: a hook enabled or disabled through one node
/// applies to the very next write on another, with no restart or delay.
#[tokio::test]
async fn hook_changes_reach_every_node_at_its_next_write() {
    for app in TestApp::both_with(unhurried).await.expect("spawn") {
        let demo = app.demo_with_plugins().await.expect("demo");
        let other = app.another_node().await.expect("second node");
        let editor = demo.marrakech.editor_token.as_str();
        // The fixture's hook refuses a title with `REFUSE`: "ok" or the error code.
        async fn create(node: &TestApp, editor: &str, title: &str) -> String {
            let (_, _, body) = node
                .graphql(
                    Some(editor),
                    "mutation($t: String!) { createArticle(data: {title: $t}) { id } }",
                    json!({ "t": title }),
                )
                .await;
            match body["data"]["createArticle"]["id"].is_string() {
                true => "ok".to_owned(),
                false => code(&body).to_string(),
            }
        }
        // No hooks yet: the other node writes (and keeps the empty list of hooks).
        assert_eq!(create(&other, editor, "REFUSE زرابي الرباط").await, "ok");
        enable_test_hooks(&app).await;
        // Enabled through the first node: the other runs the hook at once.
        let refused = "BAD_USER_INPUT";
        assert_eq!(create(&other, editor, "REFUSE معرض الخزف").await, refused);
        assert_eq!(create(&other, editor, "نحاس فاس").await, "ok");
        assert_eq!(create(&other, editor, "REFUSE نحاس فاس").await, refused);
        let admin = app.admin_token("marrakech-safi").await.expect("admin");
        let d = app
            .admin(
                "PUT",
                "/plugins/test-hooks/setup",
                Some(&admin),
                Some(json!({"enabled": false})),
            )
            .await;
        assert_eq!(d.status, 200, "{:?}", d.body);
        // Disabled: the other node stops at its next write.
        assert_eq!(create(&other, editor, "REFUSE خزف آسفي").await, "ok");
    }
}

/// A plugin upload compiles the component before it answers: it has its own time limit
/// (`plugins.install_timeout_ms`), and one cut short installs nothing.
#[tokio::test]
async fn plugin_uploads_have_their_own_time_limit() {
    let app = TestApp::spawn_with(|c| c.plugins.install_timeout_ms = 1)
        .await
        .expect("spawn");
    app.demo().await.expect("demo");
    let a = app
        .install_platform_plugin("template")
        .await
        .expect("upload");
    assert_eq!(a.status, 408, "{:?}", a.body);
    // Other requests keep the general limit, and nothing was installed.
    let op = app.operator_session().await.expect("operator");
    let list = app.admin("GET", "/platform/plugins", Some(&op), None).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    assert!(
        !list.body.to_string().contains("\"hello\""),
        "{:?}",
        list.body
    );
}
