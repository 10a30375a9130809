//! `calendar` (مفكرة): a month of the tenant's published events, as on the chamber's site.
//!
//! Widget `month`, props `{year?, month?, locale?}` (default: the current month, UTC, in the
//! reader's locale). Weeks start on Monday; days with published events are marked
//! (`zc-has-event`) and linked to them; links lead to the previous/next month and year.

pub mod month;

use serde::Deserialize;
use zellige_plugin::entries::{self, Direction, Query};
use zellige_plugin::time::{Date, parse_rfc3339};
use zellige_plugin::{
    Context, Plugin, PluginError, Rendered, Value, is_safe_url, json, log, parse_props,
};

use month::{DayEvent, Lang, MonthView, YEAR_MAX, YEAR_MIN, YearMonth};

/// How many events of one month the calendar reads at most.
pub const MAX_EVENTS: usize = 500;
/// How long a rendered month may be reused, in seconds.
pub const CACHE_SECONDS: u32 = 60;

/// The plugin.
pub struct Calendar;

/// The props of `month`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthProps {
    /// The year, [`YEAR_MIN`] to [`YEAR_MAX`].
    pub year: Option<i64>,
    /// The month, 1 to 12.
    pub month: Option<i64>,
    /// `ar` or `fr`.
    pub locale: Option<String>,
}

/// The per-tenant configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// The link of an event.
    #[serde(default = "default_event_url")]
    pub event_url: String,
    /// The link of another month.
    #[serde(default = "default_month_url")]
    pub month_url: String,
}

fn default_event_url() -> String {
    "/events/{slug}".to_owned()
}

fn default_month_url() -> String {
    "?year={year}&month={month}".to_owned()
}

impl Plugin for Calendar {
    fn render(ctx: &Context, name: &str, props: Value) -> Result<Rendered, PluginError> {
        match name {
            "month" => render_month(ctx, parse_props(props)?),
            other => Err(PluginError::unknown_widget(other)),
        }
    }
}

zellige_plugin::export!(Calendar);

/// Renders widget `month`.
pub fn render_month(ctx: &Context, props: MonthProps) -> Result<Rendered, PluginError> {
    let config: Config = ctx.config_as()?;
    for (key, template) in [
        ("eventUrl", &config.event_url),
        ("monthUrl", &config.month_url),
    ] {
        if !is_safe_url(template) {
            return Err(PluginError::bad_config(
                key,
                "must be a relative or http(s) URL template",
            ));
        }
    }
    let lang = match props.locale.as_deref() {
        None => Lang::of_locale(&ctx.locale),
        Some("ar") => Lang::Ar,
        Some("fr") => Lang::Fr,
        Some(_) => return Err(PluginError::bad_prop("locale", "must be `ar` or `fr`")),
    };
    let today = Date::from_unix_ms(zellige_plugin::now_ms());
    let year = match props.year {
        None => today.year,
        Some(year) if (YEAR_MIN..=YEAR_MAX).contains(&year) => year,
        Some(_) => {
            return Err(PluginError::bad_prop(
                "year",
                format!("must be an integer from {YEAR_MIN} to {YEAR_MAX}"),
            ));
        }
    };
    let month = match props.month {
        None => today.month,
        Some(month) => u32::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| PluginError::bad_prop("month", "must be an integer from 1 to 12"))?,
    };
    let shown = YearMonth { year, month };
    if !shown.in_range() {
        // Only reachable when the clock is outside the range and no year was given.
        return Err(PluginError::bad_prop(
            "year",
            format!("must be given: the current year is outside {YEAR_MIN} to {YEAR_MAX}"),
        ));
    }

    // Only ask for a locale when the props chose one: the host resolves titles in the
    // reader's locale otherwise.
    let events = month_events(shown, props.locale.as_deref())?;
    let view = MonthView {
        month: shown,
        lang,
        events: &events,
        today: Some(today),
        event_url: &config.event_url,
        month_url: &config.month_url,
    };
    Ok(Rendered::new(view.html())
        .with_data(view.data())
        .cache_for(CACHE_SECONDS))
}

/// The published events starting in `shown` (UTC), in start order.
fn month_events(shown: YearMonth, locale: Option<&str>) -> Result<Vec<DayEvent>, PluginError> {
    let mut query = Query::new("event")
        .filter(json!({
            "startsAt": {"gte": shown.start_rfc3339(), "lt": shown.next().start_rfc3339()}
        }))
        .order_by("startsAt", Direction::Asc)
        .first(100);
    if let Some(locale) = locale {
        query = query.locale(locale);
    }
    let found = entries::collect(query, MAX_EVENTS)?;
    if found.truncated {
        log::warn(format!(
            "calendar: {} events in {}-{:02}, showing the first {MAX_EVENTS}",
            found.total_count, shown.year, shown.month
        ));
    }
    Ok(found
        .entries
        .into_iter()
        .filter_map(|entry| {
            let starts = Date::from_unix_ms(parse_rfc3339(entry.str_field("startsAt")?)?);
            if starts.year != shown.year || starts.month != shown.month {
                return None;
            }
            let title = entry
                .str_field("title")
                .filter(|t| !t.trim().is_empty())
                .unwrap_or(&entry.slug)
                .to_owned();
            Some(DayEvent {
                day: starts.day,
                title,
                id: entry.id,
                slug: entry.slug,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zellige_plugin::testing::{MockHost, entry, with_host};

    /// 2017-12-20T12:00:00Z.
    const DEC_20_2017: i64 = 1_513_771_200_000;

    fn december_events() -> Vec<zellige_plugin::Entry> {
        vec![
            entry(
                "event",
                "salon-zellige",
                json!({"title": "معرض الزليج", "startsAt": "2017-12-05T09:00:00Z"}),
            ),
            entry(
                "event",
                "atelier",
                json!({"title": "ورشة النحاس", "startsAt": "2017-12-12T10:00:00Z"}),
            ),
            entry(
                "event",
                "formation",
                json!({"title": "تكوين", "startsAt": "2017-12-12T15:00:00Z"}),
            ),
            entry(
                "event",
                "nouvel-an",
                json!({"title": "رأس السنة", "startsAt": "2018-01-01T00:00:00Z"}),
            ),
            entry(
                "event",
                "late",
                json!({"title": "آخر الشهر", "startsAt": "2017-12-31T23:30:00Z"}),
            ),
            entry(
                "article",
                "not-an-event",
                json!({"title": "x", "startsAt": "2017-12-07T09:00:00Z"}),
            ),
        ]
    }

    fn render(
        ctx: &Context,
        props: Value,
        host: MockHost,
    ) -> (Result<Rendered, PluginError>, MockHost) {
        with_host(host, || Calendar::render(ctx, "month", props))
    }

    #[test]
    fn december_2017_with_events() {
        let ctx = Context::new("marrakech-safi", "ar");
        let host = MockHost::new()
            .at_ms(DEC_20_2017)
            .with_entries(december_events());
        let (result, host) = render(&ctx, json!({"year": 2017, "month": 12}), host);
        let out = result.unwrap();
        assert_eq!(out.cache_seconds, CACHE_SECONDS);
        assert!(
            out.html
                .contains("<caption class=\"zc-title\">كانون1/ديسمبر 2017</caption>")
        );
        assert_eq!(out.html.matches("zc-has-event").count(), 3, "5, 12 and 31");
        assert!(out.html.contains("href=\"/events/salon-zellige\""));
        assert!(out.html.contains("zc-today"));
        assert!(!out.html.contains("not-an-event") && !out.html.contains("nouvel-an"));

        let query = &host.queries[0];
        assert_eq!(query.entry_type, "event");
        assert_eq!(
            query.filter,
            Some(
                json!({"startsAt": {"gte": "2017-12-01T00:00:00Z", "lt": "2018-01-01T00:00:00Z"}})
            )
        );
        assert_eq!(query.order_by[0].field, "startsAt");
        assert_eq!(query.locale, None);

        let data = out.data;
        assert_eq!(data["year"], 2017);
        assert_eq!(data["month"], 12);
        assert_eq!(data["weeks"][2][1]["events"][1]["slug"], "formation");
    }

    #[test]
    fn defaults_to_the_current_month_and_reader_locale() {
        let ctx = Context::new("marrakech-safi", "fr");
        let (result, _) = render(&ctx, json!({}), MockHost::new().at_ms(DEC_20_2017));
        let out = result.unwrap();
        assert!(
            out.html
                .contains("<caption class=\"zc-title\">décembre 2017</caption>")
        );
        assert!(out.html.contains("lang=\"fr\""));
    }

    #[test]
    fn pages_through_many_events() {
        let many: Vec<_> = (0..250)
            .map(|i| {
                entry(
                    "event",
                    &format!("e{i:03}"),
                    json!({"title": format!("e{i}"), "startsAt": format!("2017-12-{:02}T08:00:00Z", i % 28 + 1)}),
                )
            })
            .collect();
        let ctx = Context::new("marrakech-safi", "ar");
        let host = MockHost::new().at_ms(DEC_20_2017).with_entries(many);
        let (result, host) = render(
            &ctx,
            json!({"year": 2017, "month": 12, "locale": "fr"}),
            host,
        );
        let out = result.unwrap();
        assert_eq!(host.queries.len(), 3, "three pages of at most 100");
        assert_eq!(host.queries[1].after.as_deref(), Some("100"));
        assert_eq!(host.queries[0].locale.as_deref(), Some("fr"));
        assert_eq!(
            out.html.matches("zc-event-link").count(),
            250,
            "every event is reachable"
        );
    }

    #[test]
    fn bad_props_name_the_prop() {
        let ctx = Context::new("marrakech-safi", "ar");
        for (props, message) in [
            (
                json!({"month": 13}),
                "month: must be an integer from 1 to 12",
            ),
            (
                json!({"month": 0}),
                "month: must be an integer from 1 to 12",
            ),
            (
                json!({"year": 1800}),
                "year: must be an integer from 1900 to 2200",
            ),
            (json!({"locale": "en"}), "locale: must be `ar` or `fr`"),
        ] {
            let (result, _) = render(&ctx, props, MockHost::new().at_ms(DEC_20_2017));
            assert_eq!(result, Err(PluginError::BadProps(message.into())));
        }
        let (result, _) = render(&ctx, json!({"month": "12"}), MockHost::new());
        assert!(matches!(result, Err(PluginError::BadProps(m)) if m.starts_with("month: ")));
        let (result, _) = render(&ctx, json!({"day": 1}), MockHost::new());
        assert!(matches!(result, Err(PluginError::BadProps(m)) if m.contains("day")));
    }

    #[test]
    fn configured_urls() {
        let ctx = Context::new("marrakech-safi", "ar")
            .with_config(json!({"eventUrl": "https://crafts.ma/{locale}/e/{slug}", "monthUrl": "/agenda/{year}/{month}"}));
        let host = MockHost::new()
            .at_ms(DEC_20_2017)
            .with_entries(december_events());
        let (result, _) = render(&ctx, json!({"year": 2017, "month": 12}), host);
        let html = result.unwrap().html;
        assert!(html.contains("href=\"https://crafts.ma/ar/e/salon-zellige\""));
        assert!(html.contains("href=\"/agenda/2017/11\""));

        let ctx =
            Context::new("t", "ar").with_config(json!({"eventUrl": "javascript:alert(1)//{slug}"}));
        let (result, _) = render(&ctx, json!({}), MockHost::new().at_ms(DEC_20_2017));
        assert!(
            matches!(result, Err(PluginError::BadProps(m)) if m.starts_with("config.eventUrl:"))
        );
    }

    #[test]
    fn a_denied_capability_is_a_clear_failure() {
        let ctx = Context::new("marrakech-safi", "ar");
        let (result, _) = render(
            &ctx,
            json!({}),
            MockHost::new().at_ms(DEC_20_2017).deny("entries"),
        );
        assert!(matches!(result, Err(PluginError::Failed(m)) if m.contains("denied")));
    }
}
