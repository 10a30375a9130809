//! `video-channel` (قناتنا): the latest videos of the chamber's channel.
//!
//! Widget `latest`, props `{count?}` (1 to 20, default 3): the configured videos, newest
//! first, and a link to the channel. The videos come from the tenant's configuration, so the
//! plugin needs no capability.

use serde::Deserialize;
use zellige_plugin::time::{Date, parse_rfc3339};
use zellige_plugin::{
    Context, LocalizedText, Plugin, PluginError, Rendered, Value, dir_of, html_escape, is_safe_url,
    json, parse_props,
};

/// How long the rendered list may be reused, in seconds.
pub const CACHE_SECONDS: u32 = 300;
/// The default number of videos.
pub const DEFAULT_COUNT: i64 = 3;
/// The largest number of videos.
pub const MAX_COUNT: i64 = 20;

/// The plugin.
pub struct VideoChannel;

/// The channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Its name.
    pub name: LocalizedText,
    /// Its address.
    pub url: String,
}

/// One configured video.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Video {
    /// The video's id on the platform.
    pub id: String,
    /// Its title.
    pub title: LocalizedText,
    /// Its address.
    pub url: String,
    /// Its thumbnail image, if any.
    pub thumbnail_url: Option<String>,
    /// When it was published, RFC 3339.
    pub published_at: String,
}

/// The per-tenant configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The channel, linked below the videos.
    pub channel: Option<Channel>,
    /// The videos, in any order.
    #[serde(default)]
    pub videos: Vec<Video>,
}

/// The props of `latest`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatestProps {
    /// How many videos to show.
    pub count: Option<i64>,
}

impl Plugin for VideoChannel {
    fn render(ctx: &Context, name: &str, props: Value) -> Result<Rendered, PluginError> {
        match name {
            "latest" => render_latest(ctx, &ctx.config_as()?, parse_props(props)?),
            other => Err(PluginError::unknown_widget(other)),
        }
    }
}

zellige_plugin::export!(VideoChannel);

fn http_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    is_safe_url(url) && (lower.starts_with("https://") || lower.starts_with("http://"))
}

/// `6 يوليوز 2017` or `6 juillet 2017`.
pub fn format_date(date: Date, french: bool) -> String {
    const AR: [&str; 12] = [
        "يناير",
        "فبراير",
        "مارس",
        "أبريل",
        "ماي",
        "يونيو",
        "يوليوز",
        "غشت",
        "شتنبر",
        "أكتوبر",
        "نونبر",
        "ديسمبر",
    ];
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let names = if french { &FR } else { &AR };
    let month = usize::try_from(date.month)
        .ok()
        .and_then(|m| m.checked_sub(1))
        .and_then(|i| names.get(i))
        .copied()
        .unwrap_or_default();
    format!("{} {month} {}", date.day, date.year)
}

/// Renders widget `latest`.
pub fn render_latest(
    ctx: &Context,
    config: &Config,
    props: LatestProps,
) -> Result<Rendered, PluginError> {
    let count = props.count.unwrap_or(DEFAULT_COUNT);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(PluginError::bad_prop(
            "count",
            format!("must be an integer from 1 to {MAX_COUNT}"),
        ));
    }
    let count = usize::try_from(count).unwrap_or(1);
    if config.channel.as_ref().is_some_and(|c| !http_url(&c.url)) {
        return Err(PluginError::bad_config(
            "channel.url",
            "must be an http(s) URL",
        ));
    }
    let mut videos = Vec::with_capacity(config.videos.len());
    for (i, video) in config.videos.iter().enumerate() {
        let Some(published) = parse_rfc3339(&video.published_at) else {
            return Err(PluginError::bad_config(
                &format!("videos[{i}].publishedAt"),
                "must be an RFC 3339 date-time, e.g. 2017-07-06T10:00:00Z",
            ));
        };
        if !http_url(&video.url) {
            return Err(PluginError::bad_config(
                &format!("videos[{i}].url"),
                "must be an http(s) URL",
            ));
        }
        if video.thumbnail_url.as_deref().is_some_and(|u| !http_url(u)) {
            return Err(PluginError::bad_config(
                &format!("videos[{i}].thumbnailUrl"),
                "must be an http(s) URL",
            ));
        }
        videos.push((published, video));
    }
    // Newest first; equal dates keep the configuration's order.
    videos.sort_by_key(|(published, _)| std::cmp::Reverse(*published));
    videos.truncate(count);

    let french = ctx.locale.starts_with("fr");
    let lang = if french { "fr" } else { "ar" };
    let mut html = format!(
        "<section class=\"zv-channel\" dir=\"{}\" lang=\"{lang}\" aria-label=\"{}\">",
        dir_of(lang),
        if french {
            "Notre chaîne"
        } else {
            "قناتنا"
        }
    );
    let mut data_videos = Vec::with_capacity(videos.len());
    if videos.is_empty() {
        html.push_str(&format!(
            "<p class=\"zv-empty\">{}</p>",
            if french {
                "Pas encore de vidéo."
            } else {
                "لا توجد فيديوهات بعد."
            }
        ));
    } else {
        html.push_str("<ul class=\"zv-videos\">");
        for (published, video) in &videos {
            let title = video.title.resolve_in(lang, &ctx.default_locale);
            let url = video.url.trim();
            let thumbnail = video.thumbnail_url.as_deref().map(str::trim);
            html.push_str(&format!(
                "<li class=\"zv-video\"><a class=\"zv-link\" href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">",
                html_escape(url)
            ));
            if let Some(thumbnail) = thumbnail {
                html.push_str(&format!(
                    "<img class=\"zv-thumb\" src=\"{}\" alt=\"\" loading=\"lazy\">",
                    html_escape(thumbnail)
                ));
            }
            html.push_str(&format!(
                "<span class=\"zv-title\">{}</span></a> <time class=\"zv-date\" datetime=\"{}\">{}</time></li>",
                html_escape(title),
                html_escape(video.published_at.trim()),
                format_date(Date::from_unix_ms(*published), french)
            ));
            data_videos.push(json!({
                "id": video.id,
                "title": title,
                "url": url,
                "thumbnailUrl": thumbnail,
                "publishedAt": video.published_at.trim(),
            }));
        }
        html.push_str("</ul>");
    }
    let channel = config.channel.as_ref().map(|channel| {
        let name = channel.name.resolve_in(lang, &ctx.default_locale);
        let url = channel.url.trim();
        html.push_str(&format!(
            "<p class=\"zv-more\"><a class=\"zv-channel-link\" href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{} <bdi>{}</bdi></a></p>",
            html_escape(url),
            if french { "Toutes les vidéos sur" } else { "جميع الفيديوهات على" },
            html_escape(name)
        ));
        json!({ "name": name, "url": url })
    });
    html.push_str("</section>");
    Ok(Rendered::new(html)
        .with_data(json!({ "channel": channel, "videos": data_videos }))
        .cache_for(CACHE_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Value {
        json!({
            "channel": {"name": {"ar": "قناة الغرفة", "fr": "Chaîne de la chambre"}, "url": "https://www.youtube.com/@chambre"},
            "videos": [
                {"id": "a", "title": "اليوم العالمي للتعاونيات", "url": "https://youtu.be/a", "publishedAt": "2017-07-06T10:00:00Z", "thumbnailUrl": "https://i.ytimg.com/vi/a/0.jpg"},
                {"id": "b", "title": {"ar": "معرض الزليج", "fr": "Salon du zellige"}, "url": "https://youtu.be/b", "publishedAt": "2017-12-05T09:00:00+01:00"},
                {"id": "c", "title": "Old", "url": "https://youtu.be/c", "publishedAt": "2016-01-01T00:00:00Z"},
                {"id": "d", "title": "Newest <3", "url": "https://youtu.be/d?x=1&y=2", "publishedAt": "2018-01-02T00:00:00Z"},
            ]
        })
    }

    fn ctx(locale: &str, config: Value) -> Context {
        Context::new("marrakech-safi", locale)
            .with_locales(&["ar", "fr"])
            .with_config(config)
    }

    #[test]
    fn newest_first_with_channel_link() {
        let out = VideoChannel::render(&ctx("ar", config()), "latest", json!({})).unwrap();
        let ids: Vec<_> = out.data["videos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["d", "b", "a"]);
        assert_eq!(out.cache_seconds, 300);
        assert!(out.html.starts_with(
            "<section class=\"zv-channel\" dir=\"rtl\" lang=\"ar\" aria-label=\"قناتنا\">"
        ));
        assert!(out.html.contains("href=\"https://youtu.be/d?x=1&amp;y=2\""));
        assert!(out.html.contains("Newest &lt;3"));
        assert!(out.html.contains(
            "<time class=\"zv-date\" datetime=\"2017-07-06T10:00:00Z\">6 يوليوز 2017</time>"
        ));
        assert!(out.html.contains("<img class=\"zv-thumb\" src=\"https://i.ytimg.com/vi/a/0.jpg\" alt=\"\" loading=\"lazy\">"));
        assert!(
            out.html
                .contains("جميع الفيديوهات على <bdi>قناة الغرفة</bdi>")
        );
        assert_eq!(
            out.data["channel"]["url"],
            "https://www.youtube.com/@chambre"
        );
    }

    #[test]
    fn french_and_count() {
        let out =
            VideoChannel::render(&ctx("fr", config()), "latest", json!({"count": 1})).unwrap();
        assert_eq!(out.data["videos"].as_array().unwrap().len(), 1);
        let out =
            VideoChannel::render(&ctx("fr", config()), "latest", json!({"count": 20})).unwrap();
        assert_eq!(out.data["videos"].as_array().unwrap().len(), 4);
        assert!(out.html.contains("Salon du zellige"));
        assert!(out.html.contains("5 décembre 2017"));
        assert!(
            out.html
                .contains("Toutes les vidéos sur <bdi>Chaîne de la chambre</bdi>")
        );
    }

    #[test]
    fn bad_count_and_config() {
        for count in [0, 21, -1] {
            assert_eq!(
                VideoChannel::render(&ctx("ar", config()), "latest", json!({"count": count})),
                Err(PluginError::BadProps(
                    "count: must be an integer from 1 to 20".into()
                ))
            );
        }
        assert!(matches!(
            VideoChannel::render(&ctx("ar", config()), "latest", json!({"count": 2.5})),
            Err(PluginError::BadProps(m)) if m.starts_with("count: ")
        ));
        let bad = json!({"videos": [{"id": "a", "title": "t", "url": "https://y", "publishedAt": "yesterday"}]});
        assert_eq!(
            VideoChannel::render(&ctx("ar", bad), "latest", json!({})),
            Err(PluginError::BadProps(
                "config.videos[0].publishedAt: must be an RFC 3339 date-time, e.g. 2017-07-06T10:00:00Z".into()
            ))
        );
        let bad = json!({"videos": [{"id": "a", "title": "t", "url": "javascript:x", "publishedAt": "2017-07-06T10:00:00Z"}]});
        assert!(matches!(
            VideoChannel::render(&ctx("ar", bad), "latest", json!({})),
            Err(PluginError::BadProps(m)) if m.starts_with("config.videos[0].url")
        ));
    }

    #[test]
    fn nothing_configured() {
        let out = VideoChannel::render(&ctx("ar", json!({})), "latest", json!({})).unwrap();
        assert!(out.html.contains("<p class=\"zv-empty\">"));
        assert_eq!(out.data, json!({"channel": null, "videos": []}));
    }

    #[test]
    fn dates() {
        let date = Date {
            year: 2017,
            month: 12,
            day: 31,
        };
        assert_eq!(format_date(date, false), "31 ديسمبر 2017");
        assert_eq!(format_date(date, true), "31 décembre 2017");
    }
}
