//! `social-links` (موقع التواصل الإجتماعي): the chamber's accounts on social networks.
//!
//! Widget `links` renders the configured links as a list, each opening in a new tab, labelled
//! with the network's name in the reader's language unless the configuration gives a label.

use serde::Deserialize;
use zellige_plugin::{
    Context, LocalizedText, Plugin, PluginError, Rendered, Value, dir_of, html_escape, is_safe_url,
    json, parse_props,
};

/// How long the rendered links may be reused, in seconds.
pub const CACHE_SECONDS: u32 = 300;

/// The plugin.
pub struct SocialLinks;

/// A social network (or the chamber's own website).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Facebook.
    Facebook,
    /// YouTube.
    Youtube,
    /// X (formerly Twitter).
    X,
    /// Instagram.
    Instagram,
    /// LinkedIn.
    Linkedin,
    /// WhatsApp.
    Whatsapp,
    /// A website.
    Website,
}

impl Network {
    /// The configuration value, also used in class names.
    pub fn id(self) -> &'static str {
        match self {
            Self::Facebook => "facebook",
            Self::Youtube => "youtube",
            Self::X => "x",
            Self::Instagram => "instagram",
            Self::Linkedin => "linkedin",
            Self::Whatsapp => "whatsapp",
            Self::Website => "website",
        }
    }

    /// The network's name in Arabic (`ar`) or French (`fr`).
    pub fn label(self, french: bool) -> &'static str {
        match (self, french) {
            (Self::Facebook, false) => "فيسبوك",
            (Self::Youtube, false) => "يوتيوب",
            (Self::X, false) => "إكس",
            (Self::Instagram, false) => "إنستغرام",
            (Self::Linkedin, false) => "لينكدإن",
            (Self::Whatsapp, false) => "واتساب",
            (Self::Website, false) => "الموقع الإلكتروني",
            (Self::Facebook, true) => "Facebook",
            (Self::Youtube, true) => "YouTube",
            (Self::X, true) => "X",
            (Self::Instagram, true) => "Instagram",
            (Self::Linkedin, true) => "LinkedIn",
            (Self::Whatsapp, true) => "WhatsApp",
            (Self::Website, true) => "Site web",
        }
    }
}

/// One configured link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The network.
    pub network: Network,
    /// The address, `http(s)://…`.
    pub url: String,
    /// A label replacing the network's name.
    pub label: Option<LocalizedText>,
}

/// The per-tenant configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The links, in display order.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// `links` takes no props.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinksProps {}

impl Plugin for SocialLinks {
    fn render(ctx: &Context, name: &str, props: Value) -> Result<Rendered, PluginError> {
        match name {
            "links" => {
                let LinksProps {} = parse_props(props)?;
                render_links(ctx, &ctx.config_as()?)
            }
            other => Err(PluginError::unknown_widget(other)),
        }
    }
}

zellige_plugin::export!(SocialLinks);

/// Renders widget `links` for `config`.
pub fn render_links(ctx: &Context, config: &Config) -> Result<Rendered, PluginError> {
    let french = ctx.locale.starts_with("fr");
    let lang = if french { "fr" } else { "ar" };
    let mut items = String::new();
    let mut data = Vec::with_capacity(config.links.len());
    for (i, link) in config.links.iter().enumerate() {
        let url = link.url.trim();
        let lower = url.to_ascii_lowercase();
        if !is_safe_url(url) || !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Err(PluginError::bad_config(
                &format!("links[{i}].url"),
                "must be an http(s) URL",
            ));
        }
        let label = link
            .label
            .as_ref()
            .map(|l| l.resolve_in(lang, &ctx.default_locale).trim())
            .filter(|l| !l.is_empty())
            .unwrap_or(link.network.label(french));
        let network = link.network.id();
        items.push_str(&format!(
            "<li class=\"zs-link zs-{network}\"><a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\"><bdi>{}</bdi></a></li>",
            html_escape(url),
            html_escape(label)
        ));
        data.push(json!({ "network": network, "url": url, "label": label }));
    }
    let title = if french {
        "Réseaux sociaux"
    } else {
        "موقع التواصل الإجتماعي"
    };
    let html = format!(
        "<nav class=\"zs-social\" dir=\"{}\" lang=\"{lang}\" aria-label=\"{title}\"><ul class=\"zs-links\">{items}</ul></nav>",
        dir_of(lang)
    );
    Ok(Rendered::new(html)
        .with_data(json!({ "links": data }))
        .cache_for(CACHE_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(locale: &str, config: Value) -> Context {
        Context::new("marrakech-safi", locale)
            .with_locales(&["ar", "fr"])
            .with_config(config)
    }

    #[test]
    fn renders_arabic_labels_by_default() {
        let config = json!({"links": [
            {"network": "facebook", "url": "https://www.facebook.com/chambre.marrakech"},
            {"network": "youtube", "url": "https://www.youtube.com/@chambre", "label": {"ar": "قناتنا", "fr": "Notre chaîne"}},
        ]});
        let out = SocialLinks::render(&ctx("ar", config.clone()), "links", json!({})).unwrap();
        assert_eq!(
            out.html,
            "<nav class=\"zs-social\" dir=\"rtl\" lang=\"ar\" aria-label=\"موقع التواصل الإجتماعي\"><ul class=\"zs-links\">\
             <li class=\"zs-link zs-facebook\"><a href=\"https://www.facebook.com/chambre.marrakech\" rel=\"noopener noreferrer\" target=\"_blank\"><bdi>فيسبوك</bdi></a></li>\
             <li class=\"zs-link zs-youtube\"><a href=\"https://www.youtube.com/@chambre\" rel=\"noopener noreferrer\" target=\"_blank\"><bdi>قناتنا</bdi></a></li>\
             </ul></nav>"
        );
        assert_eq!(out.cache_seconds, 300);
        assert_eq!(out.data["links"][1]["label"], "قناتنا");

        let out = SocialLinks::render(&ctx("fr", config), "links", json!({})).unwrap();
        assert!(out.html.contains("dir=\"ltr\" lang=\"fr\""));
        assert!(out.html.contains("<bdi>Facebook</bdi>"));
        assert!(out.html.contains("<bdi>Notre chaîne</bdi>"));
    }

    #[test]
    fn escapes_everything() {
        let config = json!({"links": [
            {"network": "website", "url": "https://example.ma/?a=1&b=\"2\"", "label": "<b>Chambre</b>"},
        ]});
        let out = SocialLinks::render(&ctx("ar", config), "links", json!({})).unwrap();
        assert!(
            out.html
                .contains("href=\"https://example.ma/?a=1&amp;b=&quot;2&quot;\"")
        );
        assert!(out.html.contains("&lt;b&gt;Chambre&lt;/b&gt;"));
    }

    #[test]
    fn refuses_bad_configuration() {
        let config = json!({"links": [{"network": "website", "url": "javascript:alert(1)"}]});
        assert_eq!(
            SocialLinks::render(&ctx("ar", config), "links", json!({})),
            Err(PluginError::BadProps(
                "config.links[0].url: must be an http(s) URL".into()
            ))
        );
        let config = json!({"links": [{"network": "tiktok", "url": "https://t.k"}]});
        let err = SocialLinks::render(&ctx("ar", config), "links", json!({})).unwrap_err();
        assert!(
            matches!(&err, PluginError::BadProps(m) if m.starts_with("config.links[0].network: ")),
            "{err}"
        );
        let err = SocialLinks::render(&ctx("ar", json!({})), "links", json!({"x": 1})).unwrap_err();
        assert!(matches!(err, PluginError::BadProps(_)));
    }

    #[test]
    fn no_links_is_an_empty_list() {
        let out = SocialLinks::render(&ctx("ar", json!({})), "links", json!({})).unwrap();
        assert!(out.html.contains("<ul class=\"zs-links\"></ul>"));
        assert_eq!(out.data, json!({"links": []}));
    }
}
