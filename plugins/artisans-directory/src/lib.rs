//! `artisans-directory` (دليل الحرفيين): the tenant's published artisans by craft and city.
//!
//! Widget `directory`, props `{craft?, city?, first?}`: reads every published artisan (up to
//! [`MAX_ARTISANS`]), counts them per craft and per city, and lists the first `first` (1 to
//! 50, default 10) that match, sorted by name. The counts are filter links; each facet's
//! counts take the other facet's filter into account, so a count is what its link shows.

use std::collections::BTreeMap;

use serde::Deserialize;
use zellige_plugin::entries::{self, Direction, Entry, Query};
use zellige_plugin::{
    Context, Plugin, PluginError, Rendered, Value, dir_of, fill_template, html_escape, is_safe_url,
    json, parse_props,
};

/// How many artisans the directory reads at most.
pub const MAX_ARTISANS: usize = 2_000;
/// How long a rendered directory may be reused, in seconds.
pub const CACHE_SECONDS: u32 = 60;
/// The default number of artisans listed.
pub const DEFAULT_FIRST: i64 = 10;
/// The largest number of artisans listed.
pub const MAX_FIRST: i64 = 50;

/// The plugin.
pub struct ArtisansDirectory;

/// The props of `directory`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryProps {
    /// Only artisans of this craft.
    pub craft: Option<String>,
    /// Only artisans of this city.
    pub city: Option<String>,
    /// How many artisans to list.
    pub first: Option<i64>,
}

/// The per-tenant configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// The link of a filtered directory.
    #[serde(default = "default_page_url")]
    pub page_url: String,
    /// The link of an artisan.
    #[serde(default = "default_artisan_url")]
    pub artisan_url: String,
}

fn default_page_url() -> String {
    "?craft={craft}&city={city}".to_owned()
}

fn default_artisan_url() -> String {
    "/artisans/{slug}".to_owned()
}

/// An artisan as the directory shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artisan {
    /// The entry's id.
    pub id: String,
    /// The entry's slug.
    pub slug: String,
    /// The artisan's name (localized by the host).
    pub name: String,
    /// The craft, e.g. زليج.
    pub craft: String,
    /// The city, e.g. مراكش.
    pub city: String,
    /// The province, if given.
    pub province: Option<String>,
    /// The cooperative, if any.
    pub cooperative: Option<String>,
    /// The phone number, if given.
    pub phone: Option<String>,
}

impl Artisan {
    /// The artisan of a published `artisan` entry.
    pub fn from_entry(entry: &Entry) -> Self {
        let text = |name: &str| {
            entry
                .str_field(name)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        Self {
            id: entry.id.clone(),
            slug: entry.slug.clone(),
            name: text("name").unwrap_or_else(|| entry.slug.clone()),
            craft: text("craft").unwrap_or_default(),
            city: text("city").unwrap_or_default(),
            province: text("province"),
            cooperative: text("cooperative"),
            phone: text("phone"),
        }
    }
}

/// One value of a facet and how many artisans have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facet {
    /// The craft or city.
    pub value: String,
    /// How many artisans.
    pub count: usize,
}

/// Counts `values`, most frequent first, then alphabetically; empty values are skipped.
pub fn count<'a>(values: impl Iterator<Item = &'a str>) -> Vec<Facet> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for value in values.filter(|v| !v.is_empty()) {
        *counts.entry(value).or_default() += 1;
    }
    let mut facets: Vec<Facet> = counts
        .into_iter()
        .map(|(value, count)| Facet {
            value: value.to_owned(),
            count,
        })
        .collect();
    facets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    facets
}

impl Plugin for ArtisansDirectory {
    fn render(ctx: &Context, name: &str, props: Value) -> Result<Rendered, PluginError> {
        match name {
            "directory" => {
                let props: DirectoryProps = parse_props(props)?;
                let config: Config = ctx.config_as()?;
                let query = Query::new("artisan")
                    .order_by("slug", Direction::Asc)
                    .first(100);
                let found = entries::collect(query, MAX_ARTISANS)?;
                let artisans: Vec<Artisan> =
                    found.entries.iter().map(Artisan::from_entry).collect();
                render_directory(ctx, &config, props, &artisans, found.truncated)
            }
            other => Err(PluginError::unknown_widget(other)),
        }
    }
}

zellige_plugin::export!(ArtisansDirectory);

struct Labels {
    filters: &'static str,
    crafts: &'static str,
    cities: &'static str,
    all_crafts: &'static str,
    all_cities: &'static str,
    count: &'static str,
    none: &'static str,
}

fn labels(french: bool) -> Labels {
    if french {
        Labels {
            filters: "Filtrer l'annuaire",
            crafts: "Métiers",
            cities: "Villes",
            all_crafts: "Tous les métiers",
            all_cities: "Toutes les villes",
            count: "Artisans : ",
            none: "Aucun artisan ne correspond.",
        }
    } else {
        Labels {
            filters: "تصفية الدليل",
            crafts: "الحرف",
            cities: "المدن",
            all_crafts: "كل الحرف",
            all_cities: "كل المدن",
            count: "عدد الحرفيين: ",
            none: "لا يوجد حرفيون مطابقون.",
        }
    }
}

/// The digits and leading `+` of a phone number, for a `tel:` link.
fn tel(phone: &str) -> String {
    phone
        .chars()
        .enumerate()
        .filter(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '+'))
        .map(|(_, c)| c)
        .collect()
}

/// Renders widget `directory` from the artisans already read.
pub fn render_directory(
    ctx: &Context,
    config: &Config,
    props: DirectoryProps,
    artisans: &[Artisan],
    truncated: bool,
) -> Result<Rendered, PluginError> {
    for (key, template) in [
        ("pageUrl", &config.page_url),
        ("artisanUrl", &config.artisan_url),
    ] {
        if !is_safe_url(template) {
            return Err(PluginError::bad_config(
                key,
                "must be a relative or http(s) URL template",
            ));
        }
    }
    let first = props.first.unwrap_or(DEFAULT_FIRST);
    if !(1..=MAX_FIRST).contains(&first) {
        return Err(PluginError::bad_prop(
            "first",
            format!("must be an integer from 1 to {MAX_FIRST}"),
        ));
    }
    let first = usize::try_from(first).unwrap_or(1);
    let craft = props.craft.as_deref().map(str::trim).unwrap_or_default();
    let city = props.city.as_deref().map(str::trim).unwrap_or_default();
    for (prop, value) in [("craft", craft), ("city", city)] {
        if value.chars().count() > 100 {
            return Err(PluginError::bad_prop(
                prop,
                "must be at most 100 characters",
            ));
        }
    }

    let craft_ok = |a: &Artisan| craft.is_empty() || a.craft == craft;
    let city_ok = |a: &Artisan| city.is_empty() || a.city == city;
    let crafts = count(
        artisans
            .iter()
            .filter(|a| city_ok(a))
            .map(|a| a.craft.as_str()),
    );
    let cities = count(
        artisans
            .iter()
            .filter(|a| craft_ok(a))
            .map(|a| a.city.as_str()),
    );
    let mut matching: Vec<&Artisan> = artisans
        .iter()
        .filter(|a| craft_ok(a) && city_ok(a))
        .collect();
    matching.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then_with(|| a.slug.cmp(&b.slug))
    });
    let total = matching.len();
    let listed = &matching[..total.min(first)];

    let french = ctx.locale.starts_with("fr");
    let lang = if french { "fr" } else { "ar" };
    let labels = labels(french);
    let page = |craft: &str, city: &str| {
        html_escape(&fill_template(
            &config.page_url,
            &[("craft", craft), ("city", city)],
        ))
    };
    let artisan_url = |a: &Artisan| {
        fill_template(
            &config.artisan_url,
            &[("slug", &a.slug), ("id", &a.id), ("locale", lang)],
        )
    };

    let mut html = format!(
        "<div class=\"zd-directory\" dir=\"{}\" lang=\"{lang}\">\n<nav class=\"zd-filters\" aria-label=\"{}\">\n",
        dir_of(lang),
        labels.filters
    );
    let facet_list = |html: &mut String,
                      class: &str,
                      title: &str,
                      all: &str,
                      facets: &[Facet],
                      active: &str,
                      link: &dyn Fn(&str) -> String| {
        let base: usize = facets.iter().map(|f| f.count).sum();
        html.push_str(&format!(
            "<div class=\"zd-facet {class}\"><span class=\"zd-facet-title\">{title}</span><ul>"
        ));
        let item = |html: &mut String, value: &str, label: &str, count: usize| {
            let current = value == active;
            html.push_str(&format!(
                "<li><a class=\"zd-filter{}\" href=\"{}\"{}><bdi>{}</bdi> <span class=\"zd-count\">{count}</span></a></li>",
                if current { " zd-active" } else { "" },
                link(value),
                if current { " aria-current=\"true\"" } else { "" },
                html_escape(label),
            ));
        };
        item(html, "", all, base);
        for facet in facets {
            item(html, &facet.value, &facet.value, facet.count);
        }
        html.push_str("</ul></div>\n");
    };
    facet_list(
        &mut html,
        "zd-crafts",
        labels.crafts,
        labels.all_crafts,
        &crafts,
        craft,
        &|v| page(v, city),
    );
    facet_list(
        &mut html,
        "zd-cities",
        labels.cities,
        labels.all_cities,
        &cities,
        city,
        &|v| page(craft, v),
    );
    html.push_str("</nav>\n");
    html.push_str(&format!(
        "<p class=\"zd-summary\">{}{total}</p>\n",
        labels.count
    ));
    if listed.is_empty() {
        html.push_str(&format!("<p class=\"zd-empty\">{}</p>\n", labels.none));
    } else {
        html.push_str("<ul class=\"zd-artisans\">\n");
        for artisan in listed {
            html.push_str(&format!(
                "<li class=\"zd-artisan\"><a class=\"zd-name\" href=\"{}\">{}</a>",
                html_escape(&artisan_url(artisan)),
                html_escape(&artisan.name)
            ));
            for (class, value) in [("zd-craft", &artisan.craft), ("zd-city", &artisan.city)] {
                if !value.is_empty() {
                    html.push_str(&format!(
                        " <span class=\"{class}\">{}</span>",
                        html_escape(value)
                    ));
                }
            }
            if let Some(cooperative) = &artisan.cooperative {
                html.push_str(&format!(
                    " <span class=\"zd-cooperative\">{}</span>",
                    html_escape(cooperative)
                ));
            }
            if let Some(phone) = &artisan.phone {
                let number = tel(phone);
                if number.is_empty() {
                    html.push_str(&format!(
                        " <span class=\"zd-phone\" dir=\"ltr\">{}</span>",
                        html_escape(phone)
                    ));
                } else {
                    html.push_str(&format!(
                        " <a class=\"zd-phone\" dir=\"ltr\" href=\"tel:{}\">{}</a>",
                        html_escape(&number),
                        html_escape(phone)
                    ));
                }
            }
            html.push_str("</li>\n");
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</div>");

    let facets_json = |facets: &[Facet]| -> Vec<Value> {
        facets
            .iter()
            .map(|f| json!({ "value": f.value, "count": f.count }))
            .collect()
    };
    let data = json!({
        "total": total,
        "craft": (!craft.is_empty()).then_some(craft),
        "city": (!city.is_empty()).then_some(city),
        "crafts": facets_json(&crafts),
        "cities": facets_json(&cities),
        "artisans": listed.iter().map(|a| json!({
            "id": a.id,
            "slug": a.slug,
            "name": a.name,
            "craft": a.craft,
            "city": a.city,
            "url": artisan_url(a),
        })).collect::<Vec<_>>(),
        "truncated": truncated,
    });
    Ok(Rendered::new(html).with_data(data).cache_for(CACHE_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zellige_plugin::testing::{MockHost, entry, with_host};

    fn artisans() -> Vec<Entry> {
        let rows = [
            (
                "yassine",
                "ياسين الفاسي",
                "زليج",
                "مراكش",
                Some("+212 6 11 22 33 44"),
            ),
            ("amina", "أمينة بنعلي", "زليج", "مراكش", None),
            ("omar", "عمر الصويري", "خشب الأرز", "الصويرة", None),
            ("khadija", "خديجة <الزهراء>", "نسيج", "مراكش", None),
            ("hassan", "حسن", "زليج", "آسفي", None),
            ("fatima", "فاطمة", "خزف", "آسفي", Some("0524 00 00 00")),
        ];
        rows.iter()
            .map(|(slug, name, craft, city, phone)| {
                entry(
                    "artisan",
                    slug,
                    json!({"name": name, "craft": craft, "city": city, "phone": phone, "cooperative": "تعاونية"}),
                )
            })
            .chain([entry("event", "x", json!({"name": "not an artisan"}))])
            .collect()
    }

    fn render(props: Value, locale: &str) -> (Result<Rendered, PluginError>, MockHost) {
        let ctx = Context::new("marrakech-safi", locale);
        with_host(MockHost::new().with_entries(artisans()), || {
            ArtisansDirectory::render(&ctx, "directory", props)
        })
    }

    #[test]
    fn counts_and_lists_everyone() {
        let (out, host) = render(json!({}), "ar");
        let out = out.unwrap();
        assert_eq!(host.queries[0].entry_type, "artisan");
        assert_eq!(out.cache_seconds, 60);
        assert_eq!(out.data["total"], 6);
        assert_eq!(out.data["crafts"][0], json!({"value": "زليج", "count": 3}));
        assert_eq!(out.data["cities"][0], json!({"value": "مراكش", "count": 3}));
        assert_eq!(out.data["cities"][1], json!({"value": "آسفي", "count": 2}));
        assert_eq!(out.data["artisans"].as_array().unwrap().len(), 6);
        assert_eq!(out.data["truncated"], false);
        assert!(
            out.html
                .starts_with("<div class=\"zd-directory\" dir=\"rtl\" lang=\"ar\">")
        );
        assert!(out.html.contains("<a class=\"zd-filter zd-active\" href=\"?craft=&amp;city=\" aria-current=\"true\"><bdi>كل الحرف</bdi> <span class=\"zd-count\">6</span></a>"));
        assert!(out.html.contains("href=\"?craft=%D8%B2%D9%84%D9%8A%D8%AC&amp;city=\"><bdi>زليج</bdi> <span class=\"zd-count\">3</span>"));
        assert!(out.html.contains("خديجة &lt;الزهراء&gt;"));
        assert!(out.html.contains(
            "<a class=\"zd-phone\" dir=\"ltr\" href=\"tel:+212611223344\">+212 6 11 22 33 44</a>"
        ));
        assert!(
            out.html
                .contains("<a class=\"zd-name\" href=\"/artisans/yassine\">ياسين الفاسي</a>")
        );
    }

    #[test]
    fn filters_by_craft_and_city() {
        let (out, _) = render(json!({"craft": "زليج", "city": "مراكش"}), "fr");
        let out = out.unwrap();
        assert_eq!(out.data["total"], 2);
        let names: Vec<_> = out.data["artisans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["أمينة بنعلي", "ياسين الفاسي"], "sorted by name");
        // Crafts are counted among Marrakech's artisans, cities among zellige artisans.
        assert_eq!(
            out.data["crafts"],
            json!([{"value": "زليج", "count": 2}, {"value": "نسيج", "count": 1}])
        );
        assert_eq!(
            out.data["cities"],
            json!([{"value": "مراكش", "count": 2}, {"value": "آسفي", "count": 1}])
        );
        assert_eq!(out.data["craft"], "زليج");
        assert!(out.html.contains("lang=\"fr\""));
        assert!(out.html.contains("Artisans : 2"));
        assert!(out.html.contains("zd-filter zd-active"));
    }

    #[test]
    fn first_limits_the_list_not_the_total() {
        let (out, _) = render(json!({"first": 2}), "ar");
        let out = out.unwrap();
        assert_eq!(out.data["total"], 6);
        assert_eq!(out.data["artisans"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn no_match() {
        let (out, _) = render(json!({"craft": "فضة"}), "ar");
        let out = out.unwrap();
        assert_eq!(out.data["total"], 0);
        assert!(out.html.contains("zd-empty"));
    }

    #[test]
    fn bad_props() {
        for (props, message) in [
            (
                json!({"first": 0}),
                "first: must be an integer from 1 to 50",
            ),
            (
                json!({"first": 51}),
                "first: must be an integer from 1 to 50",
            ),
        ] {
            assert_eq!(
                render(props, "ar").0,
                Err(PluginError::BadProps(message.into()))
            );
        }
        assert!(matches!(
            render(json!({"craft": 3}), "ar").0,
            Err(PluginError::BadProps(m)) if m.starts_with("craft: ")
        ));
    }

    #[test]
    fn pages_through_all_artisans() {
        let many: Vec<_> = (0..2_345)
            .map(|i| entry("artisan", &format!("a{i:04}"), json!({"name": format!("n{i}"), "craft": if i % 2 == 0 { "زليج" } else { "نحاس" }, "city": "مراكش"})))
            .collect();
        let ctx = Context::new("marrakech-safi", "ar");
        let (out, host) = with_host(MockHost::new().with_entries(many), || {
            ArtisansDirectory::render(&ctx, "directory", json!({}))
        });
        let out = out.unwrap();
        assert_eq!(host.queries.len(), 20, "stops at the cap");
        assert_eq!(out.data["total"], 2_000);
        assert_eq!(out.data["truncated"], true);
    }
}
