//! The month grid, its names and its HTML: pure functions, tested natively.

use zellige_plugin::time::{Date, days_in_month};
use zellige_plugin::{Value, fill_template, html_escape, json};

/// The first year the calendar shows (navigation stops there).
pub const YEAR_MIN: i64 = 1900;
/// The last year the calendar shows.
pub const YEAR_MAX: i64 = 2200;

/// The language of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Arabic, right to left, month names in both Moroccan usages.
    Ar,
    /// French, left to right.
    Fr,
}

impl Lang {
    /// The language of a locale code: French for `fr…`, Arabic otherwise (the default of the
    /// chambers).
    pub fn of_locale(locale: &str) -> Self {
        if locale.starts_with("fr") {
            Self::Fr
        } else {
            Self::Ar
        }
    }

    /// The BCP 47 code for the `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ar => "ar",
            Self::Fr => "fr",
        }
    }

    /// The writing direction for the `dir` attribute.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Ar => "rtl",
            Self::Fr => "ltr",
        }
    }

    /// The name of `month` (1 to 12). Arabic gives both usages, Levantine then Maghrebi, as
    /// the chamber's site does: `كانون1/ديسمبر`.
    pub fn month_name(self, month: u32) -> &'static str {
        const AR: [&str; 12] = [
            "كانون2/يناير",
            "شباط/فبراير",
            "آذار/مارس",
            "نيسان/أبريل",
            "أيار/ماي",
            "حزيران/يونيو",
            "تموز/يوليوز",
            "آب/غشت",
            "أيلول/شتنبر",
            "تشرين1/أكتوبر",
            "تشرين2/نونبر",
            "كانون1/ديسمبر",
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
        let names = match self {
            Self::Ar => &AR,
            Self::Fr => &FR,
        };
        let index = usize::try_from(month.clamp(1, 12) - 1).unwrap_or(0);
        names.get(index).copied().unwrap_or_default()
    }

    /// The weekday names, Monday first.
    pub fn weekdays(self) -> [&'static str; 7] {
        match self {
            Self::Ar => [
                "الإثنين",
                "الثلاثاء",
                "الأربعاء",
                "الخميس",
                "الجمعة",
                "السبت",
                "الأحد",
            ],
            Self::Fr => [
                "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
            ],
        }
    }

    /// The title of a month: `كانون1/ديسمبر 2017`, `décembre 2017`.
    pub fn title(self, ym: YearMonth) -> String {
        format!("{} {}", self.month_name(ym.month), ym.year)
    }

    fn labels(self) -> Labels {
        match self {
            Self::Ar => Labels {
                nav: "التنقل في المفكرة",
                prev_year: "السنة السابقة",
                prev_month: "الشهر السابق",
                next_month: "الشهر التالي",
                next_year: "السنة التالية",
            },
            Self::Fr => Labels {
                nav: "Navigation dans l'agenda",
                prev_year: "Année précédente",
                prev_month: "Mois précédent",
                next_month: "Mois suivant",
                next_year: "Année suivante",
            },
        }
    }
}

struct Labels {
    nav: &'static str,
    prev_year: &'static str,
    prev_month: &'static str,
    next_month: &'static str,
    next_year: &'static str,
}

/// A month of a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth {
    /// The year.
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
}

impl YearMonth {
    /// The month before.
    pub fn prev(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month after.
    pub fn next(self) -> Self {
        if self.month >= 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The same month a year earlier.
    pub fn prev_year(self) -> Self {
        Self {
            year: self.year - 1,
            ..self
        }
    }

    /// The same month a year later.
    pub fn next_year(self) -> Self {
        Self {
            year: self.year + 1,
            ..self
        }
    }

    /// Whether the calendar shows this month (years [`YEAR_MIN`] to [`YEAR_MAX`]).
    pub fn in_range(self) -> bool {
        (YEAR_MIN..=YEAR_MAX).contains(&self.year) && (1..=12).contains(&self.month)
    }

    /// Midnight UTC of the 1st, as RFC 3339: `2017-12-01T00:00:00Z`.
    pub fn start_rfc3339(self) -> String {
        format!("{:04}-{:02}-01T00:00:00Z", self.year, self.month)
    }

    /// The number of days.
    pub fn days(self) -> u32 {
        days_in_month(self.year, self.month)
    }

    /// The weekday of the 1st, 0 for Monday to 6 for Sunday.
    pub fn first_weekday(self) -> u32 {
        Date {
            year: self.year,
            month: self.month,
            day: 1,
        }
        .weekday_from_monday()
    }

    /// The grid: weeks of seven cells, Monday first, `None` before the 1st and after the last
    /// day.
    pub fn weeks(self) -> Vec<[Option<u32>; 7]> {
        let mut cells: Vec<Option<u32>> = Vec::with_capacity(42);
        cells.extend((0..self.first_weekday()).map(|_| None));
        cells.extend((1..=self.days()).map(Some));
        while !cells.len().is_multiple_of(7) {
            cells.push(None);
        }
        cells
            .chunks(7)
            .map(|week| {
                let mut row = [None; 7];
                row.copy_from_slice(week);
                row
            })
            .collect()
    }
}

/// A published event on a day of the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayEvent {
    /// The day of the month it starts on (UTC).
    pub day: u32,
    /// The entry's id.
    pub id: String,
    /// The entry's slug.
    pub slug: String,
    /// The event's title in the grid's language.
    pub title: String,
}

/// Everything a month rendering depends on.
#[derive(Debug, Clone)]
pub struct MonthView<'a> {
    /// The month shown.
    pub month: YearMonth,
    /// The language.
    pub lang: Lang,
    /// The events of the month, in the order to list them.
    pub events: &'a [DayEvent],
    /// Today (UTC), marked when it is in the month.
    pub today: Option<Date>,
    /// The event link template (see the manifest).
    pub event_url: &'a str,
    /// The month link template (see the manifest).
    pub month_url: &'a str,
}

impl MonthView<'_> {
    fn event_href(&self, event: &DayEvent) -> String {
        let year = self.month.year.to_string();
        let month = self.month.month.to_string();
        let day = event.day.to_string();
        fill_template(
            self.event_url,
            &[
                ("slug", &event.slug),
                ("id", &event.id),
                ("locale", self.lang.code()),
                ("year", &year),
                ("month", &month),
                ("day", &day),
            ],
        )
    }

    fn month_href(&self, target: YearMonth) -> String {
        let year = target.year.to_string();
        let month = target.month.to_string();
        fill_template(
            self.month_url,
            &[
                ("year", &year),
                ("month", &month),
                ("locale", self.lang.code()),
            ],
        )
    }

    fn nav_link(
        &self,
        out: &mut String,
        class: &str,
        target: YearMonth,
        rel: &str,
        label: &str,
        arrows: &str,
    ) {
        if target.in_range() {
            out.push_str(&format!(
                "<a class=\"zc-nav-link {class}\" href=\"{}\" rel=\"{rel}\" aria-label=\"{}\" title=\"{}\">{arrows}</a>",
                html_escape(&self.month_href(target)),
                html_escape(label),
                html_escape(&self.lang.title(target)),
            ));
        } else {
            out.push_str(&format!(
                "<span class=\"zc-nav-link {class} zc-disabled\" aria-disabled=\"true\">{arrows}</span>"
            ));
        }
    }

    /// The widget's HTML.
    pub fn html(&self) -> String {
        let lang = self.lang;
        let labels = lang.labels();
        let mut out = String::with_capacity(4096);
        out.push_str(&format!(
            "<div class=\"zc-calendar\" dir=\"{}\" lang=\"{}\">\n",
            lang.dir(),
            lang.code(),
        ));
        out.push_str(&format!(
            "<nav class=\"zc-nav\" aria-label=\"{}\">",
            html_escape(labels.nav)
        ));
        self.nav_link(
            &mut out,
            "zc-prev-year",
            self.month.prev_year(),
            "prev",
            labels.prev_year,
            "◄◄",
        );
        out.push(' ');
        self.nav_link(
            &mut out,
            "zc-prev-month",
            self.month.prev(),
            "prev",
            labels.prev_month,
            "◄",
        );
        out.push(' ');
        self.nav_link(
            &mut out,
            "zc-next-month",
            self.month.next(),
            "next",
            labels.next_month,
            "►",
        );
        out.push(' ');
        self.nav_link(
            &mut out,
            "zc-next-year",
            self.month.next_year(),
            "next",
            labels.next_year,
            "►►",
        );
        out.push_str("</nav>\n<table class=\"zc-month\">\n");
        out.push_str(&format!(
            "<caption class=\"zc-title\">{}</caption>\n<thead><tr>",
            html_escape(&lang.title(self.month))
        ));
        for name in lang.weekdays() {
            out.push_str(&format!(
                "<th scope=\"col\" class=\"zc-weekday\">{name}</th>"
            ));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for week in self.month.weeks() {
            out.push_str("<tr>");
            for cell in week {
                match cell {
                    None => out.push_str("<td class=\"zc-empty\"></td>"),
                    Some(day) => self.day_cell(&mut out, day),
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n</div>");
        out
    }

    fn day_cell(&self, out: &mut String, day: u32) {
        let events: Vec<&DayEvent> = self.events.iter().filter(|e| e.day == day).collect();
        let today = self.today
            == Some(Date {
                year: self.month.year,
                month: self.month.month,
                day,
            });
        let mut class = String::from("zc-day");
        if !events.is_empty() {
            class.push_str(" zc-has-event");
        }
        if today {
            class.push_str(" zc-today");
        }
        out.push_str(&format!("<td class=\"{class}\""));
        if today {
            out.push_str(" aria-current=\"date\"");
        }
        out.push('>');
        match events.as_slice() {
            [] => out.push_str(&format!("<span class=\"zc-day-number\">{day}</span>")),
            [event] => out.push_str(&format!(
                "<a class=\"zc-day-number zc-event-link\" href=\"{}\" title=\"{}\">{day}</a>",
                html_escape(&self.event_href(event)),
                html_escape(&event.title)
            )),
            several => {
                out.push_str(&format!(
                    "<span class=\"zc-day-number\">{day}</span><ul class=\"zc-events\">"
                ));
                for event in several {
                    out.push_str(&format!(
                        "<li><a class=\"zc-event-link\" href=\"{}\">{}</a></li>",
                        html_escape(&self.event_href(event)),
                        html_escape(&event.title)
                    ));
                }
                out.push_str("</ul>");
            }
        }
        out.push_str("</td>");
    }

    /// The widget's structured data (see the README).
    pub fn data(&self) -> Value {
        let link = |target: YearMonth| {
            if target.in_range() {
                json!({ "year": target.year, "month": target.month })
            } else {
                Value::Null
            }
        };
        let weeks: Vec<Vec<Value>> = self
            .month
            .weeks()
            .iter()
            .map(|week| {
                week.iter()
                    .map(|cell| match cell {
                        None => Value::Null,
                        Some(day) => {
                            let events: Vec<Value> = self
                                .events
                                .iter()
                                .filter(|e| e.day == *day)
                                .map(|e| {
                                    json!({
                                        "id": e.id,
                                        "slug": e.slug,
                                        "title": e.title,
                                        "url": self.event_href(e),
                                    })
                                })
                                .collect();
                            json!({ "day": day, "events": events })
                        }
                    })
                    .collect()
            })
            .collect();
        json!({
            "year": self.month.year,
            "month": self.month.month,
            "locale": self.lang.code(),
            "title": self.lang.title(self.month),
            "weekdays": self.lang.weekdays(),
            "weeks": weeks,
            "prev": link(self.month.prev()),
            "next": link(self.month.next()),
            "prevYear": link(self.month.prev_year()),
            "nextYear": link(self.month.next_year()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECEMBER_2017: YearMonth = YearMonth {
        year: 2017,
        month: 12,
    };

    fn view<'a>(events: &'a [DayEvent], lang: Lang) -> MonthView<'a> {
        MonthView {
            month: DECEMBER_2017,
            lang,
            events,
            today: None,
            event_url: "/events/{slug}",
            month_url: "?year={year}&month={month}",
        }
    }

    fn event(day: u32, slug: &str, title: &str) -> DayEvent {
        DayEvent {
            day,
            id: format!("id-{slug}"),
            slug: slug.into(),
            title: title.into(),
        }
    }

    /// The text of an HTML fragment, tags removed, whitespace collapsed.
    fn text(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => {
                    in_tag = true;
                    out.push(' ');
                }
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn first_weekdays_and_lengths() {
        assert_eq!(DECEMBER_2017.first_weekday(), 4, "2017-12-01 was a Friday");
        assert_eq!(DECEMBER_2017.days(), 31);
        assert_eq!(
            YearMonth {
                year: 2018,
                month: 1
            }
            .first_weekday(),
            0,
            "a Monday"
        );
        assert_eq!(
            YearMonth {
                year: 2016,
                month: 2
            }
            .days(),
            29
        );
        assert_eq!(
            YearMonth {
                year: 2017,
                month: 2
            }
            .days(),
            28
        );
        assert_eq!(
            YearMonth {
                year: 1900,
                month: 2
            }
            .days(),
            28
        );
        assert_eq!(
            YearMonth {
                year: 2000,
                month: 2
            }
            .days(),
            29
        );
        assert_eq!(
            YearMonth {
                year: 2017,
                month: 7
            }
            .first_weekday(),
            5,
            "a Saturday"
        );
    }

    #[test]
    fn month_arithmetic() {
        assert_eq!(
            DECEMBER_2017.next(),
            YearMonth {
                year: 2018,
                month: 1
            }
        );
        assert_eq!(
            DECEMBER_2017.prev(),
            YearMonth {
                year: 2017,
                month: 11
            }
        );
        assert_eq!(
            YearMonth {
                year: 2018,
                month: 1
            }
            .prev(),
            DECEMBER_2017
        );
        assert_eq!(
            DECEMBER_2017.prev_year(),
            YearMonth {
                year: 2016,
                month: 12
            }
        );
        assert_eq!(DECEMBER_2017.next().start_rfc3339(), "2018-01-01T00:00:00Z");
        assert!(
            !YearMonth {
                year: 1899,
                month: 12
            }
            .in_range()
        );
    }

    #[test]
    fn december_2017_grid() {
        let weeks = DECEMBER_2017.weeks();
        assert_eq!(weeks.len(), 5);
        assert_eq!(
            weeks[0],
            [None, None, None, None, Some(1), Some(2), Some(3)]
        );
        assert_eq!(weeks[4], [25, 26, 27, 28, 29, 30, 31].map(Some));
        // February 2010 starts on a Monday and fills exactly four weeks.
        let february = YearMonth {
            year: 2010,
            month: 2,
        }
        .weeks();
        assert_eq!(february.len(), 4);
        assert_eq!(february[0][0], Some(1));
        // A month ending early in the week is padded.
        let november = YearMonth {
            year: 2017,
            month: 11,
        }
        .weeks();
        assert_eq!(november.last().unwrap()[4], None);
        assert_eq!(november.last().unwrap()[3], Some(30));
    }

    #[test]
    fn reproduces_the_chamber_block_in_arabic() {
        let html = view(&[], Lang::Ar).html();
        assert!(html.starts_with("<div class=\"zc-calendar\" dir=\"rtl\" lang=\"ar\""));
        let expected = format!(
            "◄◄ ◄ ► ►► كانون1/ديسمبر 2017 الإثنين الثلاثاء الأربعاء الخميس الجمعة السبت الأحد {}",
            (1..=31)
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(text(&html), expected);
        assert!(html.contains(
            "<a class=\"zc-nav-link zc-prev-month\" href=\"?year=2017&amp;month=11\" rel=\"prev\" aria-label=\"الشهر السابق\""
        ));
        assert!(
            html.contains(
                "href=\"?year=2018&amp;month=1\" rel=\"next\" aria-label=\"الشهر التالي\""
            )
        );
        assert!(html.contains(
            "href=\"?year=2016&amp;month=12\" rel=\"prev\" aria-label=\"السنة السابقة\""
        ));
        assert!(html.contains(
            "href=\"?year=2018&amp;month=12\" rel=\"next\" aria-label=\"السنة التالية\""
        ));
        // Four empty cells before Friday the 1st, none after Sunday the 31st.
        assert_eq!(html.matches("<td class=\"zc-empty\"></td>").count(), 4);
        assert!(!html.contains("<script") && !html.contains("style="));
    }

    #[test]
    fn french() {
        let html = view(&[], Lang::Fr).html();
        assert!(html.starts_with("<div class=\"zc-calendar\" dir=\"ltr\" lang=\"fr\""));
        assert!(text(&html).starts_with(
            "◄◄ ◄ ► ►► décembre 2017 lundi mardi mercredi jeudi vendredi samedi dimanche 1 2 3 4"
        ));
        assert!(html.contains("aria-label=\"Mois précédent\""));
    }

    #[test]
    fn all_month_names() {
        let names: Vec<_> = (1..=12).map(|m| Lang::Ar.month_name(m)).collect();
        assert_eq!(
            names.join(" "),
            "كانون2/يناير شباط/فبراير آذار/مارس نيسان/أبريل أيار/ماي حزيران/يونيو تموز/يوليوز آب/غشت أيلول/شتنبر تشرين1/أكتوبر تشرين2/نونبر كانون1/ديسمبر"
        );
        assert_eq!(Lang::Fr.month_name(8), "août");
    }

    #[test]
    fn marks_and_links_event_days() {
        let events = [
            event(5, "salon", "معرض الزليج"),
            event(12, "a", "Atelier <cuivre> & co"),
            event(12, "b", "تكوين"),
        ];
        let mut v = view(&events, Lang::Ar);
        v.today = Some(Date {
            year: 2017,
            month: 12,
            day: 20,
        });
        let html = v.html();
        assert!(html.contains(
            "<td class=\"zc-day zc-has-event\"><a class=\"zc-day-number zc-event-link\" href=\"/events/salon\" title=\"معرض الزليج\">5</a></td>"
        ));
        assert!(html.contains(
            "<li><a class=\"zc-event-link\" href=\"/events/a\">Atelier &lt;cuivre&gt; &amp; co</a></li><li><a class=\"zc-event-link\" href=\"/events/b\">تكوين</a></li>"
        ));
        assert_eq!(html.matches("zc-has-event").count(), 2);
        assert!(html.contains("<td class=\"zc-day zc-today\" aria-current=\"date\"><span class=\"zc-day-number\">20</span></td>"));

        let data = v.data();
        assert_eq!(data["title"], "كانون1/ديسمبر 2017");
        assert_eq!(data["weeks"][0][0], Value::Null);
        assert_eq!(data["weeks"][0][4], json!({"day": 1, "events": []}));
        assert_eq!(
            data["weeks"][1][1],
            json!({"day": 5, "events": [{"id": "id-salon", "slug": "salon", "title": "معرض الزليج", "url": "/events/salon"}]})
        );
        assert_eq!(data["weeks"][2][1]["events"].as_array().unwrap().len(), 2);
        assert_eq!(data["prev"], json!({"year": 2017, "month": 11}));
        assert_eq!(data["next"], json!({"year": 2018, "month": 1}));
        assert_eq!(data["prevYear"], json!({"year": 2016, "month": 12}));
        assert_eq!(data["nextYear"], json!({"year": 2018, "month": 12}));
        assert_eq!(data["weekdays"][0], "الإثنين");
    }

    #[test]
    fn urls_are_encoded_and_escaped() {
        let events = [event(1, "سوق \"x\"", "t")];
        let mut v = view(&events, Lang::Ar);
        v.event_url = "/{locale}/events/{slug}?from=cal&m={month}";
        let html = v.html();
        assert!(
            html.contains("href=\"/ar/events/%D8%B3%D9%88%D9%82%20%22x%22?from=cal&amp;m=12\"")
        );
    }

    #[test]
    fn navigation_stops_at_the_range() {
        let mut v = view(&[], Lang::Ar);
        v.month = YearMonth {
            year: YEAR_MAX,
            month: 12,
        };
        let html = v.html();
        assert!(html.contains(
            "<span class=\"zc-nav-link zc-next-month zc-disabled\" aria-disabled=\"true\">►</span>"
        ));
        assert_eq!(v.data()["next"], Value::Null);
        assert_eq!(v.data()["prev"], json!({"year": YEAR_MAX, "month": 11}));
    }
}
