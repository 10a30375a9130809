//! `ad-slot` (مساحة إعلانية): the tenant's ads, one per render, in turn.
//!
//! Widget `slot` picks the next ad with the atomic counter `rotation` of the plugin's kv store
//! and counts the ad's impression under `impressions:<ad id>`, so rotation and counts hold
//! across nodes and concurrent renders. Its answer is never cached.

use serde::Deserialize;
use zellige_plugin::{
    Context, LocalizedText, Plugin, PluginError, Rendered, Value, dir_of, html_escape, is_safe_url,
    json, kv, parse_props,
};

/// The kv key of the rotation counter.
pub const ROTATION_KEY: &str = "rotation";
/// The kv key prefix of impression counters.
pub const IMPRESSIONS_PREFIX: &str = "impressions:";
/// The longest ad id: keeps impression keys far below the host's 256-byte key limit.
pub const MAX_ID_BYTES: usize = 64;

/// The plugin.
pub struct AdSlot;

/// One configured ad.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ad {
    /// A stable id; impressions are counted under it.
    pub id: String,
    /// The image.
    pub image_url: String,
    /// Where the ad leads.
    pub link_url: String,
    /// The image's text alternative.
    pub alt: LocalizedText,
    /// The image's width in pixels, if known.
    pub width: Option<u32>,
    /// The image's height in pixels, if known.
    pub height: Option<u32>,
}

/// The per-tenant configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The ads, shown in turn.
    #[serde(default)]
    pub ads: Vec<Ad>,
    /// The slot's accessible name.
    pub label: Option<LocalizedText>,
}

/// `slot` takes no props.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotProps {}

impl Plugin for AdSlot {
    fn render(ctx: &Context, name: &str, props: Value) -> Result<Rendered, PluginError> {
        match name {
            "slot" => {
                let SlotProps {} = parse_props(props)?;
                render_slot(ctx, &ctx.config_as()?)
            }
            other => Err(PluginError::unknown_widget(other)),
        }
    }
}

zellige_plugin::export!(AdSlot);

/// Checks the configuration before anything is counted.
fn validate(config: &Config) -> Result<(), PluginError> {
    if config.ads.is_empty() {
        return Err(PluginError::bad_config(
            "ads",
            "no ads are configured: add at least one {id, imageUrl, linkUrl, alt}",
        ));
    }
    for (i, ad) in config.ads.iter().enumerate() {
        let id_ok = !ad.id.is_empty()
            && ad.id.len() <= MAX_ID_BYTES
            && ad
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(PluginError::bad_config(
                &format!("ads[{i}].id"),
                format!("must be 1 to {MAX_ID_BYTES} letters, digits, `-` or `_`"),
            ));
        }
        for (key, url) in [("imageUrl", &ad.image_url), ("linkUrl", &ad.link_url)] {
            let lower = url.trim().to_ascii_lowercase();
            let ok = is_safe_url(url)
                && (lower.starts_with("https://")
                    || lower.starts_with("http://")
                    || (lower.starts_with('/') && !lower.starts_with("//")));
            if !ok {
                return Err(PluginError::bad_config(
                    &format!("ads[{i}].{key}"),
                    "must be an http(s) URL or a path starting with /",
                ));
            }
        }
    }
    Ok(())
}

/// Renders widget `slot`: the next ad in turn, its impression counted.
pub fn render_slot(ctx: &Context, config: &Config) -> Result<Rendered, PluginError> {
    validate(config)?;
    let count = i64::try_from(config.ads.len()).unwrap_or(i64::MAX);
    let turn = kv::increment(ROTATION_KEY, 1)?;
    let index = usize::try_from((turn - 1).rem_euclid(count)).unwrap_or(0);
    let Some(ad) = config.ads.get(index) else {
        return Err(PluginError::failed("rotation out of range"));
    };
    let impressions = kv::increment(&format!("{IMPRESSIONS_PREFIX}{}", ad.id), 1)?;

    let lang = if ctx.locale.starts_with("fr") {
        "fr"
    } else {
        "ar"
    };
    let alt = ad.alt.resolve_in(lang, &ctx.default_locale);
    let label = config
        .label
        .as_ref()
        .map(|l| l.resolve_in(lang, &ctx.default_locale))
        .filter(|l| !l.trim().is_empty())
        .unwrap_or(if lang == "fr" {
            "Espace publicitaire"
        } else {
            "مساحة إعلانية"
        });
    let mut size = String::new();
    if let Some(width) = ad.width {
        size.push_str(&format!(" width=\"{width}\""));
    }
    if let Some(height) = ad.height {
        size.push_str(&format!(" height=\"{height}\""));
    }
    let html = format!(
        "<aside class=\"za-slot\" dir=\"{}\" lang=\"{lang}\" aria-label=\"{}\">\
         <a class=\"za-ad za-ad-{}\" href=\"{}\" rel=\"sponsored noopener noreferrer\" target=\"_blank\">\
         <img class=\"za-image\" src=\"{}\" alt=\"{}\"{size} loading=\"lazy\"></a></aside>",
        dir_of(lang),
        html_escape(label),
        html_escape(&ad.id),
        html_escape(ad.link_url.trim()),
        html_escape(ad.image_url.trim()),
        html_escape(alt),
    );
    Ok(Rendered::new(html)
        .with_data(json!({
            "adId": ad.id,
            "impressions": impressions,
            "index": index,
            "count": config.ads.len(),
            "imageUrl": ad.image_url.trim(),
            "linkUrl": ad.link_url.trim(),
            "alt": alt,
        }))
        .cache_for(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zellige_plugin::HostError;
    use zellige_plugin::testing::{MockHost, with_host};

    fn ctx(config: Value) -> Context {
        Context::new("marrakech-safi", "ar")
            .with_locales(&["ar", "fr"])
            .with_config(config)
    }

    fn two_ads() -> Value {
        json!({"ads": [
            {"id": "expo-2017", "imageUrl": "https://cdn.example.ma/expo.jpg", "linkUrl": "https://expo.example.ma", "alt": {"ar": "معرض الصناعة التقليدية", "fr": "Salon de l'artisanat"}, "width": 300, "height": 250},
            {"id": "souk", "imageUrl": "/media/souk.png", "linkUrl": "/events/souk", "alt": "Souk"},
        ]})
    }

    #[test]
    fn rotates_and_counts_impressions() {
        let ctx = ctx(two_ads());
        let (outs, host) = with_host(MockHost::new(), || {
            (0..5)
                .map(|_| AdSlot::render(&ctx, "slot", json!({})).unwrap())
                .collect::<Vec<_>>()
        });
        let ids: Vec<_> = outs.iter().map(|o| o.data["adId"].clone()).collect();
        assert_eq!(ids, ["expo-2017", "souk", "expo-2017", "souk", "expo-2017"]);
        assert_eq!(outs[4].data["impressions"], 3);
        assert_eq!(outs[3].data["impressions"], 2);
        assert_eq!(host.kv.get("rotation").map(String::as_str), Some("5"));
        assert_eq!(
            host.kv.get("impressions:souk").map(String::as_str),
            Some("2")
        );
        assert!(outs.iter().all(|o| o.cache_seconds == 0));
        assert_eq!(
            outs[0].html,
            "<aside class=\"za-slot\" dir=\"rtl\" lang=\"ar\" aria-label=\"مساحة إعلانية\">\
             <a class=\"za-ad za-ad-expo-2017\" href=\"https://expo.example.ma\" rel=\"sponsored noopener noreferrer\" target=\"_blank\">\
             <img class=\"za-image\" src=\"https://cdn.example.ma/expo.jpg\" alt=\"معرض الصناعة التقليدية\" width=\"300\" height=\"250\" loading=\"lazy\"></a></aside>"
        );
    }

    #[test]
    fn french_alt_text() {
        let mut ctx = ctx(two_ads());
        ctx.locale = "fr".into();
        let (out, _) = with_host(MockHost::new(), || AdSlot::render(&ctx, "slot", json!({})));
        let html = out.unwrap().html;
        assert!(html.contains("alt=\"Salon de l&#39;artisanat\""));
        assert!(html.contains("aria-label=\"Espace publicitaire\""));
    }

    #[test]
    fn no_ads_is_a_clear_error() {
        let (out, host) = with_host(MockHost::new(), || {
            AdSlot::render(&ctx(json!({})), "slot", json!({}))
        });
        assert!(
            matches!(out, Err(PluginError::BadProps(m)) if m.starts_with("config.ads: no ads are configured"))
        );
        assert!(host.kv.is_empty(), "nothing counted");
    }

    #[test]
    fn refuses_unsafe_urls_and_ids() {
        let config =
            json!({"ads": [{"id": "a", "imageUrl": "javascript:x", "linkUrl": "/", "alt": "x"}]});
        let (out, _) = with_host(MockHost::new(), || {
            AdSlot::render(&ctx(config), "slot", json!({}))
        });
        assert_eq!(
            out,
            Err(PluginError::BadProps(
                "config.ads[0].imageUrl: must be an http(s) URL or a path starting with /".into()
            ))
        );
        let config =
            json!({"ads": [{"id": "a b", "imageUrl": "/i.png", "linkUrl": "/", "alt": "x"}]});
        let (out, _) = with_host(MockHost::new(), || {
            AdSlot::render(&ctx(config), "slot", json!({}))
        });
        assert!(matches!(out, Err(PluginError::BadProps(m)) if m.starts_with("config.ads[0].id:")));
    }

    #[test]
    fn kv_denied_is_a_failure() {
        let (out, _) = with_host(MockHost::new().deny("kv"), || {
            AdSlot::render(&ctx(two_ads()), "slot", json!({}))
        });
        let expected: PluginError =
            HostError::Denied("capability `kv` is not granted".into()).into();
        assert_eq!(out, Err(expected));
    }
}
