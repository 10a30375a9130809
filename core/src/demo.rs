//! The demo (SPEC §9): tenant `marrakech-safi` built from the chamber's current site (the seed
//! article, events of December 2017 and of 2017-07-06, 60+ artisans across the region's
//! provinces) and a second tenant `casablanca-settat` with content of its own, each with a
//! `public` and an `editor` token. Created once; the tokens are kept in the data directory so
//! that later `serve --demo` runs can print them again.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use crate::auth::{self, TokenKind};
use crate::content::Content;
use crate::content::transfer::EntryLine;
use crate::tenancy::{self, NewTenant, TenancyError};

const SEED_ARTICLE: &str = include_str!("../demo/article-2017-07-06.ar.txt");
const MARRAKECH: &str = include_str!("../demo/marrakech-safi.jsonl");
const CASABLANCA: &str = include_str!("../demo/casablanca-settat.jsonl");
/// The event that goes with the seed article (in `marrakech-safi.jsonl`).
const COOPERATIVES_EVENT: &str = "015d16f4-ec00-7000-8000-000000000706";
/// A fixed id (2017-07-06T15:00Z) so that loading the demo twice never duplicates the article.
const SEED_ARTICLE_ID: &str = "015d186a-3580-7000-8000-000000000001";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoTenant {
    pub slug: String,
    pub name: String,
    pub public_token: String,
    pub editor_token: String,
    /// An admin account for the admin UI at `/admin` (e-mail, generated password).
    #[serde(default)]
    pub admin_email: String,
    #[serde(default)]
    pub admin_password: String,
}

/// The seed article as an import line: title on the first line, paragraphs after it.
pub fn seed_article() -> EntryLine {
    let mut lines = SEED_ARTICLE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let title = lines.next().unwrap_or_default().to_owned();
    let paragraphs: Vec<&str> = lines.collect();
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p dir=\"rtl\">{}</p>", ammonia::clean_text(p)))
        .collect();
    let excerpt: String = paragraphs
        .first()
        .map(|p| p.chars().take(280).collect())
        .unwrap_or_default();
    let mut fields = Map::new();
    fields.insert("title".into(), json!({ "ar": title }));
    fields.insert("excerpt".into(), json!({ "ar": excerpt }));
    fields.insert("body".into(), json!({ "ar": body }));
    fields.insert("category".into(), json!("news"));
    fields.insert(
        "tags".into(),
        json!(["التعاونيات", "اليوم العالمي للتعاونيات"]),
    );
    fields.insert("city".into(), json!("مراكش"));
    fields.insert("province".into(), json!("مراكش"));
    fields.insert(
        "author".into(),
        json!("غرفة الصناعة التقليدية لجهة مراكش-آسفي"),
    );
    fields.insert("relatedEvents".into(), json!([COOPERATIVES_EVENT]));
    EntryLine {
        entry_type: "article".into(),
        id: Some(SEED_ARTICLE_ID.into()),
        slug: None,
        status: crate::content::Status::Published,
        version: None,
        created_at: Some("2017-07-06T15:00:00Z".into()),
        updated_at: Some("2017-07-06T15:00:00Z".into()),
        published_at: Some("2017-07-06T15:00:00Z".into()),
        created_by: None,
        updated_by: None,
        locales: Vec::new(),
        fields,
        published: None,
    }
}

fn parse_lines(src: &str) -> anyhow::Result<Vec<(usize, EntryLine)>> {
    src.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            Ok((
                i + 1,
                serde_json::from_str(l).with_context(|| format!("demo data line {}", i + 1))?,
            ))
        })
        .collect()
}

/// The demo's pictures: zellige star patterns in the palettes of the region's crafts, with
/// alternative text in both locales. Generated (no binary files in the repository).
const PICTURES: [([u8; 3], [u8; 3], &str, &str); 4] = [
    (
        [22, 78, 140],
        [236, 226, 205],
        "زليج بنجمة ثمانية بالأزرق الفاسي",
        "Zellige à étoile à huit branches, bleu de Fès",
    ),
    (
        [24, 110, 76],
        [240, 232, 210],
        "زليج أخضر على طريقة مراكش",
        "Zellige vert à la manière de Marrakech",
    ),
    (
        [176, 108, 40],
        [245, 238, 220],
        "نقش بلون الطين المراكشي",
        "Motif couleur terre de Marrakech",
    ),
    (
        [150, 36, 42],
        [240, 228, 214],
        "زخرفة حمراء من الخزف الآسفي",
        "Décor rouge de la céramique de Safi",
    ),
];

/// A `w × h` JPEG of an eight-pointed star tiling in two colours.
fn picture(ink: [u8; 3], ground: [u8; 3], w: u32, h: u32) -> Vec<u8> {
    let tile = 80i32;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (cx, cy) = ((x as i32 % tile) - tile / 2, (y as i32 % tile) - tile / 2);
        let (ax, ay) = (cx.abs(), cy.abs());
        // Two squares, one turned by 45°, make the star; a ring around it the interlace.
        let square = ax.max(ay) < 22;
        let diamond = ax + ay < 30;
        let ring = (ax.max(ay) == 30) || (ax + ay == 42);
        if (square || diamond) && ax.max(ay) >= 8 || ring {
            image::Rgb(ink)
        } else {
            image::Rgb(ground)
        }
    });
    let mut out = Vec::new();
    // A picture that does not encode is a build defect; the demo then shows none.
    if let Err(e) =
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img)
    {
        tracing::error!(error = %e, "demo picture");
    }
    out
}

/// Stores the demo pictures of a tenant (where absent); returns their ids.
async fn pictures(
    media: &crate::media::Media,
    ctx: &tenancy::TenantCtx,
    tenant_no: u64,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for (i, (ink, ground, ar, fr)) in PICTURES.iter().enumerate() {
        let id = format!(
            "0160a000-0000-7000-8000-{:012x}",
            tenant_no * 16 + i as u64 + 1
        );
        if media.get(ctx, &id).await.is_err() {
            let bytes = picture(*ink, *ground, 480, 320);
            let sha256 = crate::media::content_hash(&bytes);
            let meta = crate::media::AssetMeta {
                file_name: Some(format!("zellige-{}.jpg", i + 1)),
                alt: Some(Map::from_iter([
                    ("ar".to_owned(), json!(ar)),
                    ("fr".to_owned(), json!(fr)),
                ])),
                caption: None,
                folder: Some("demo".into()),
                tags: Some(vec!["zellige".into(), "demo".into()]),
                is_public: Some(true),
                restore: Some(crate::media::Restore {
                    id: id.clone(),
                    created_by: Some("demo".into()),
                    created_at: 1_483_228_800_000,
                    updated_at: 1_483_228_800_000,
                    sha256,
                }),
            };
            media
                .upload_bytes(ctx, Some("demo"), meta, bytes.into())
                .await
                .with_context(|| format!("storing demo picture {id}"))?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Gives articles a cover and artisans a photo, in turn from `pictures`.
fn illustrate(lines: &mut [(usize, EntryLine)], pictures: &[String]) {
    if pictures.is_empty() {
        return;
    }
    let mut n = 0;
    for (_, line) in lines.iter_mut() {
        let field = match line.entry_type.as_str() {
            "article" => "cover",
            "artisan" => "photo",
            _ => continue,
        };
        let id = json!(pictures[n % pictures.len()]);
        n += 1;
        line.fields
            .entry(field.to_owned())
            .or_insert_with(|| id.clone());
        if let Some(published) = &mut line.published {
            published.entry(field.to_owned()).or_insert(id);
        }
    }
}

async fn load(
    content: &Content,
    media: &crate::media::Media,
    tenant_no: u64,
    slug: &str,
    name: &str,
    mut lines: Vec<(usize, EntryLine)>,
) -> anyhow::Result<DemoTenant> {
    // A database that has the demo while this data directory has not (a second node, a
    // removed directory): its content stays as the editors left it, and the credentials,
    // stored only as hashes, are issued anew.
    let (_created, existed) = match tenancy::create(
        content.db(),
        NewTenant {
            slug: slug.into(),
            name: name.into(),
            locales: vec!["ar".into(), "fr".into()],
            domains: vec![format!("{slug}.localhost")],
        },
        &[],
    )
    .await
    {
        Ok(ctx) => (ctx, false),
        Err(TenancyError::Exists(_)) => (tenancy::by_slug(content.db(), slug).await?, true),
        Err(e) => return Err(e.into()),
    };
    // The demo is browsable without a token (GraphiQL in a browser).
    let ctx = tenancy::set_anonymous_read(content.db(), slug, true).await?;
    if !existed {
        let pictures = pictures(media, &ctx, tenant_no).await?;
        illustrate(&mut lines, &pictures);
        let known: HashSet<(String, String)> = lines
            .iter()
            .filter_map(|(_, l)| l.id.clone().map(|id| (l.entry_type.clone(), id)))
            .collect();
        content
            .import_batch(&ctx, lines, &known)
            .await
            .with_context(|| format!("loading demo content of {slug}"))?;
    }
    let public = auth::create_token(
        content.db(),
        &ctx,
        TokenKind::Public,
        "demo public",
        None,
        "demo",
    )
    .await?;
    let editor = auth::create_token(
        content.db(),
        &ctx,
        TokenKind::Editor,
        "demo editor",
        None,
        "demo",
    )
    .await?;
    // An account to log in to the admin UI with; its password is generated, printed at start
    // and kept with the tokens.
    let admin_email = format!("admin@{slug}.demo");
    let admin_password = uuid::Uuid::new_v4().simple().to_string();
    let created = auth::create_user(
        content.db(),
        &ctx,
        auth::NewUser {
            email: admin_email.clone(),
            role: crate::access::Role::Admin,
            password: admin_password.clone(),
        },
        "demo",
    )
    .await;
    match created {
        Ok(_) => {}
        Err(auth::AuthError::Exists) => {
            let user = crate::store::users::find_by_email(content.db(), &ctx, &admin_email)
                .await?
                .with_context(|| format!("the demo account {admin_email} of {slug}"))?;
            auth::update_user(
                content.db(),
                &ctx,
                &user.id,
                auth::UserChange {
                    role: None,
                    password: Some(admin_password.clone()),
                    disabled: Some(false),
                },
                "demo",
            )
            .await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(DemoTenant {
        slug: slug.into(),
        name: name.into(),
        public_token: public.secret,
        editor_token: editor.secret,
        admin_email,
        admin_password,
    })
}

/// Creates the demo tenants, content and tokens where absent; returns them with their tokens.
/// Idempotent: a run interrupted half-way is completed by the next one.
pub async fn ensure(
    content: &Content,
    media: &crate::media::Media,
    data_dir: &Path,
) -> anyhow::Result<Vec<DemoTenant>> {
    let tokens_file = data_dir.join("demo-tokens.json");
    if let Ok(text) = std::fs::read_to_string(&tokens_file)
        && let Ok(saved) = serde_json::from_str::<Vec<DemoTenant>>(&text)
        && tenancy::by_slug(content.db(), "marrakech-safi")
            .await
            .is_ok()
    {
        return Ok(saved);
    }
    let mut marrakech = parse_lines(MARRAKECH)?;
    marrakech.push((marrakech.len() + 1, seed_article()));
    let tenants = vec![
        load(
            content,
            media,
            0,
            "marrakech-safi",
            "غرفة الصناعة التقليدية لجهة مراكش-آسفي",
            marrakech,
        )
        .await?,
        load(
            content,
            media,
            1,
            "casablanca-settat",
            "غرفة الصناعة التقليدية لجهة الدار البيضاء-سطات",
            parse_lines(CASABLANCA)?,
        )
        .await?,
    ];
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    std::fs::write(&tokens_file, serde_json::to_string_pretty(&tenants)?)
        .with_context(|| format!("writing {}", tokens_file.display()))?;
    Ok(tenants)
}

/// The demo files parse (a unit test keeps them loadable).
pub fn demo_lines() -> anyhow::Result<Vec<Vec<(usize, EntryLine)>>> {
    Ok(vec![parse_lines(MARRAKECH)?, parse_lines(CASABLANCA)?])
}

/// Synthetic published entries for load tests and benchmarks: `n` of each of article, event and
/// artisan, spread over the region's cities and crafts, with fresh ids and Arabic text.
pub fn synthetic(articles: usize, events: usize, artisans: usize) -> Vec<EntryLine> {
    const CITIES: [(&str, &str); 8] = [
        ("مراكش", "مراكش"),
        ("آسفي", "آسفي"),
        ("الصويرة", "الصويرة"),
        ("قلعة السراغنة", "قلعة السراغنة"),
        ("شيشاوة", "شيشاوة"),
        ("اليوسفية", "اليوسفية"),
        ("تحناوت", "الحوز"),
        ("ابن جرير", "الرحامنة"),
    ];
    const CRAFTS: [&str; 8] = [
        "زليج",
        "نحاس",
        "دباغة",
        "خزف",
        "نسيج",
        "خشب الأرز",
        "فضة",
        "جلد",
    ];
    const CATEGORIES: [&str; 4] = ["news", "announcement", "training", "exhibition"];
    const EVENT_CATEGORIES: [&str; 4] = ["exhibition", "training", "meeting", "fair"];
    let base = chrono::DateTime::parse_from_rfc3339("2015-01-01T09:00:00Z")
        .map(|d| d.timestamp())
        .unwrap_or(1_420_102_800);
    let at = |i: usize, step: i64| crate::time::to_rfc3339((base + i as i64 * step) * 1000);
    let line = |entry_type: &str, fields: serde_json::Value, when: String| EntryLine {
        entry_type: entry_type.into(),
        id: Some(uuid::Uuid::now_v7().to_string()),
        slug: None,
        status: crate::content::Status::Published,
        version: None,
        created_at: Some(when.clone()),
        updated_at: Some(when.clone()),
        published_at: Some(when),
        created_by: None,
        updated_by: None,
        locales: Vec::new(),
        fields: match fields {
            serde_json::Value::Object(m) => m,
            _ => Map::new(),
        },
        published: None,
    };
    let mut out = Vec::with_capacity(articles + events + artisans);
    for i in 0..articles {
        let (city, province) = CITIES[i % CITIES.len()];
        let craft = CRAFTS[i % CRAFTS.len()];
        out.push(line(
            "article",
            json!({
                "title": {"ar": format!("معرض {craft} بمدينة {city} رقم {i}"), "fr": format!("Exposition n° {i} à {city}")},
                "excerpt": {"ar": format!("نظمت الغرفة معرضا جهويا لحرفيي {craft} في {city}")},
                "body": {"ar": format!("<p dir=\"rtl\">احتفاءا بالصناعة التقليدية نظمت الغرفة بشراكة مع التعاونيات معرضا لحرفة {craft} بمدينة {city}.</p>")},
                "category": CATEGORIES[i % CATEGORIES.len()],
                "tags": [craft, city],
                "city": city,
                "province": province,
            }),
            at(i, 3_600),
        ));
    }
    for i in 0..events {
        let (city, _) = CITIES[i % CITIES.len()];
        out.push(line(
            "event",
            json!({
                "title": {"ar": format!("دورة تكوينية لفائدة الحرفيين رقم {i}")},
                "startsAt": at(i, 6 * 3_600),
                "city": city,
                "category": EVENT_CATEGORIES[i % EVENT_CATEGORIES.len()],
            }),
            at(i, 3_600),
        ));
    }
    for i in 0..artisans {
        let (city, province) = CITIES[i % CITIES.len()];
        let craft = CRAFTS[(i / CITIES.len()) % CRAFTS.len()];
        out.push(line(
            "artisan",
            json!({
                "name": {"ar": format!("الحرفي رقم {i:06}"), "fr": format!("Artisan {i:06}")},
                "craft": craft,
                "city": city,
                "province": province,
                "email": format!("artisan{i}@example.com"),
                "bio": {"ar": format!("<p>حرفي في {craft} من {city}</p>")},
            }),
            at(i, 60),
        ));
    }
    out
}

/// The demo configuration of each bundled plugin, per demo tenant.
fn plugin_config(plugin: &str, tenant: &str) -> serde_json::Value {
    let marrakech = tenant == "marrakech-safi";
    match plugin {
        "calendar" => {
            json!({ "eventUrl": "/events/{slug}", "monthUrl": "?year={year}&month={month}" })
        }
        "social-links" => json!({ "links": [
            { "network": "facebook", "url": if marrakech { "https://www.facebook.com/chambre.artisanat.marrakech" } else { "https://www.facebook.com/chambre.artisanat.casablanca" } },
            { "network": "youtube", "url": "https://www.youtube.com/@artisanat-maroc" },
            { "network": "website", "url": if marrakech { "https://marrakech-safi.localhost/" } else { "https://casablanca-settat.localhost/" }, "label": "الموقع الرسمي" }
        ] }),
        "ad-slot" => json!({ "ads": [
            { "id": "salon-2017", "imageUrl": "/media/ads/salon-2017.jpg", "linkUrl": "/events/salon-2017", "alt": { "ar": "المعرض الجهوي للصناعة التقليدية", "fr": "Salon régional de l'artisanat" } },
            { "id": "formation", "imageUrl": "/media/ads/formation.jpg", "linkUrl": "/articles/formation", "alt": { "ar": "التكوين بالتدرج المهني", "fr": "Formation par apprentissage" } },
            { "id": "label", "imageUrl": "/media/ads/label.jpg", "linkUrl": "/articles/label", "alt": { "ar": "علامة الجودة للصناعة التقليدية", "fr": "Label qualité de l'artisanat" } }
        ] }),
        "video-channel" => json!({
            "channel": { "name": "قناة الغرفة", "url": "https://www.youtube.com/@artisanat-maroc" },
            "videos": [
                { "id": "v1", "title": "اليوم العالمي للتعاونيات 2017", "url": "https://www.youtube.com/watch?v=coop2017", "publishedAt": "2017-07-07T10:00:00Z" },
                { "id": "v2", "title": "فن الزليج بمراكش", "url": "https://www.youtube.com/watch?v=zellige", "publishedAt": "2017-11-20T10:00:00Z" },
                { "id": "v3", "title": "معرض الصناعة التقليدية بآسفي", "url": "https://www.youtube.com/watch?v=safi", "publishedAt": "2017-12-10T10:00:00Z" },
                { "id": "v4", "title": "الدباغة التقليدية", "url": "https://www.youtube.com/watch?v=tannerie", "publishedAt": "2017-05-02T10:00:00Z" }
            ]
        }),
        "artisans-directory" => json!({ "pageUrl": "?craft={craft}&city={city}" }),
        _ => json!({}),
    }
}

/// Installs the bundled plugins as platform plugins (once per version) and enables each for the
/// demo tenants with a demo configuration and every capability it asks for, unless a tenant
/// has already set the plugin up.
pub async fn ensure_plugins(
    host: &crate::plugins::PluginHost,
    db: &crate::store::Db,
) -> anyhow::Result<()> {
    use crate::plugins::bundled::BUNDLED;
    use crate::plugins::registry::{self, EnableInput, Scope};
    for b in &BUNDLED {
        registry::install(host, Scope::Platform, b.wasm.to_vec(), b.manifest, "demo")
            .await
            .with_context(|| format!("installing the bundled plugin {}", b.id))?;
    }
    for slug in ["marrakech-safi", "casablanca-settat"] {
        let ctx = tenancy::by_slug(db, slug).await?;
        for b in &BUNDLED {
            let Some(info) = registry::info(host, Some(&ctx), b.id).await? else {
                continue;
            };
            if info.setup.is_some() {
                continue;
            }
            registry::enable(
                host,
                &ctx,
                b.id,
                EnableInput {
                    version: None,
                    config: Some(plugin_config(b.id, slug)),
                    grants: Some(info.capabilities.clone()),
                    limits: None,
                },
                "demo",
            )
            .await
            .with_context(|| format!("enabling {} for {slug}", b.id))?;
        }
    }
    Ok(())
}
