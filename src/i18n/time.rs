//! Dates and times as the pages and emails show them: in the cycle's local time zone, in
//! the reader's language, with deadlines said plainly.

use super::Lang;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

/// A moment in local time: `18 Jun 17:00` / `6月18日 17:00`, with the year when it is not
/// the current one.
pub fn moment(at: DateTime<Utc>, now: DateTime<Utc>, zone: Tz, lang: Lang) -> String {
    let local = at.with_timezone(&zone);
    let same_year = local.year() == now.with_timezone(&zone).year();
    match (lang, same_year) {
        (Lang::En, true) => local.format("%-d %b %H:%M").to_string(),
        (Lang::En, false) => local.format("%-d %b %Y %H:%M").to_string(),
        (Lang::Zh, true) => local.format("%-m月%-d日 %H:%M").to_string(),
        (Lang::Zh, false) => local.format("%Y年%-m月%-d日 %H:%M").to_string(),
    }
}

/// A deadline as a person says it: `closes in 3 days, 18 Jun 17:00` /
/// `3 天后截止，6月18日 17:00`; once passed, `closed 18 Jun 17:00` / `已于6月18日 17:00截止`.
pub fn deadline(close: DateTime<Utc>, now: DateTime<Utc>, zone: Tz, lang: Lang) -> String {
    let when = moment(close, now, zone, lang);
    if close <= now {
        return match lang {
            Lang::En => format!("closed {when}"),
            Lang::Zh => format!("已于{when}截止"),
        };
    }
    let left = close - now;
    let (count, en_unit, zh_unit) = if left.num_days() >= 1 {
        (left.num_days(), "day", "天")
    } else if left.num_hours() >= 1 {
        (left.num_hours(), "hour", "小时")
    } else {
        (left.num_minutes().max(1), "minute", "分钟")
    };
    match lang {
        Lang::En => {
            let plural = if count == 1 { "" } else { "s" };
            format!("closes in {count} {en_unit}{plural}, {when}")
        }
        Lang::Zh => format!("{count} {zh_unit}后截止，{when}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("a valid instant")
    }

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn a_deadline_three_days_away_is_said_in_both_languages_in_local_time() {
        // 09:00 UTC is 17:00 in Shanghai.
        let close = at(2027, 6, 18, 9, 0);
        let now = at(2027, 6, 15, 8, 0);
        assert_eq!(
            deadline(close, now, SHANGHAI, Lang::En),
            "closes in 3 days, 18 Jun 17:00"
        );
        assert_eq!(
            deadline(close, now, SHANGHAI, Lang::Zh),
            "3 天后截止，6月18日 17:00"
        );
    }

    #[test]
    fn the_last_day_counts_hours_then_minutes() {
        let close = at(2027, 6, 18, 9, 0);
        assert_eq!(
            deadline(close, at(2027, 6, 18, 4, 30), SHANGHAI, Lang::En),
            "closes in 4 hours, 18 Jun 17:00"
        );
        assert_eq!(
            deadline(close, at(2027, 6, 18, 8, 0), SHANGHAI, Lang::En),
            "closes in 1 hour, 18 Jun 17:00"
        );
        assert_eq!(
            deadline(close, at(2027, 6, 18, 8, 35), SHANGHAI, Lang::Zh),
            "25 分钟后截止，6月18日 17:00"
        );
    }

    #[test]
    fn a_passed_deadline_says_when_it_closed() {
        let close = at(2027, 6, 18, 9, 0);
        let now = at(2027, 6, 20, 0, 0);
        assert_eq!(
            deadline(close, now, SHANGHAI, Lang::En),
            "closed 18 Jun 17:00"
        );
        assert_eq!(
            deadline(close, now, SHANGHAI, Lang::Zh),
            "已于6月18日 17:00截止"
        );
    }

    #[test]
    fn another_year_and_another_zone_are_shown() {
        let close = at(2028, 1, 2, 9, 0);
        let now = at(2027, 12, 20, 0, 0);
        assert_eq!(
            deadline(close, now, chrono_tz::Europe::London, Lang::En),
            "closes in 13 days, 2 Jan 2028 09:00"
        );
        assert_eq!(moment(close, now, SHANGHAI, Lang::Zh), "2028年1月2日 17:00");
    }
}
