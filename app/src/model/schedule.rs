//! Alert schedules: 5-field cron expressions evaluated in an IANA time zone, the presets the
//! form offers, and the scheduler's catch-up rule. Pure, but server only (`ssr`): the browser
//! gets each schedule in words and its next run from the server.
use crate::error::AppError;
use chrono::{DateTime, Utc, Weekday};
use chrono_tz::Tz;
use croner::{
    errors::CronError,
    parser::{CronParser, Seconds, Year},
    Cron,
};
use serde::{Deserialize, Serialize};

/// The time zone of a schedule that names none.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// When an alert runs: a cron expression (minute hour day-of-month month day-of-week, or
/// `@hourly`-style nicknames) read in `timezone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub cron: String,
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

fn default_timezone() -> String {
    DEFAULT_TIMEZONE.into()
}

/// Why a schedule is not usable, in words for the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ScheduleError {
    #[error("invalid cron expression \"{cron}\": {reason}")]
    InvalidCron { cron: String, reason: String },
    #[error("unknown time zone \"{0}\": use an IANA name such as Europe/Paris or UTC")]
    UnknownTimeZone(String),
    #[error("invalid time of day \"{0}\": use HH:MM, from 00:00 to 23:59")]
    InvalidTime(String),
    #[error("cron expression \"{0}\" never matches a date")]
    NeverMatches(String),
}

impl From<ScheduleError> for AppError {
    fn from(e: ScheduleError) -> Self {
        let field = match e {
            ScheduleError::UnknownTimeZone(_) => "timezone",
            _ => "cron",
        };
        AppError::field(field, e.to_string())
    }
}

/// A time of day to the minute; serialized as `"HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay {
    hour: u8,
    minute: u8,
}

impl TimeOfDay {
    /// `hour` 0–23, `minute` 0–59.
    pub fn new(hour: u8, minute: u8) -> Result<Self, ScheduleError> {
        if hour < 24 && minute < 60 {
            Ok(TimeOfDay { hour, minute })
        } else {
            Err(ScheduleError::InvalidTime(format!("{hour:02}:{minute:02}")))
        }
    }

    pub fn hour(self) -> u8 {
        self.hour
    }

    pub fn minute(self) -> u8 {
        self.minute
    }
}

impl std::fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl std::str::FromStr for TimeOfDay {
    type Err = ScheduleError;

    /// Parses `H:MM` or `HH:MM`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ScheduleError::InvalidTime(s.to_string());
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let digits = |p: &str, max_len: usize| {
            (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u8>().ok())
                .flatten()
        };
        match (digits(h, 2), digits(m, 2).filter(|_| m.len() == 2)) {
            (Some(h), Some(m)) => TimeOfDay::new(h, m).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = ScheduleError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TimeOfDay> for String {
    fn from(t: TimeOfDay) -> Self {
        t.to_string()
    }
}

/// The schedules the form offers without writing cron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "preset", rename_all = "snake_case")]
pub enum Preset {
    #[serde(rename = "every_5_minutes")]
    Every5Minutes,
    /// On the hour.
    Hourly,
    Daily {
        at: TimeOfDay,
    },
    Weekly {
        day: Weekday,
        at: TimeOfDay,
    },
}

impl Preset {
    /// The cron expression of this preset.
    pub fn cron(self) -> String {
        match self {
            Preset::Every5Minutes => "*/5 * * * *".into(),
            Preset::Hourly => "0 * * * *".into(),
            Preset::Daily { at } => format!("{} {} * * *", at.minute, at.hour),
            Preset::Weekly { day, at } => format!(
                "{} {} * * {}",
                at.minute,
                at.hour,
                day.num_days_from_sunday()
            ),
        }
    }

    /// The preset whose cron expression is exactly `cron` (as [`Preset::cron`] writes it).
    pub fn from_cron(cron: &str) -> Option<Preset> {
        let fields: Vec<&str> = cron.split_whitespace().collect();
        let [minute, hour, "*", "*", dow] = fields[..] else {
            return None;
        };
        match (minute, hour, dow) {
            ("*/5", "*", "*") => return Some(Preset::Every5Minutes),
            ("0", "*", "*") => return Some(Preset::Hourly),
            _ => {}
        }
        let at = TimeOfDay::new(canonical(hour)?, canonical(minute)?).ok()?;
        if dow == "*" {
            return Some(Preset::Daily { at });
        }
        let day = match canonical(dow)? {
            0 => Weekday::Sun,
            d @ 1..=6 => Weekday::try_from(d - 1).ok()?,
            _ => return None,
        };
        Some(Preset::Weekly { day, at })
    }
}

/// A number written without leading zeros.
fn canonical(field: &str) -> Option<u8> {
    let n: u8 = field.parse().ok()?;
    (n.to_string() == field).then_some(n)
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

impl Schedule {
    /// A checked schedule; surrounding whitespace is trimmed.
    pub fn new(cron: &str, timezone: &str) -> Result<Self, ScheduleError> {
        let schedule = Schedule {
            cron: cron.trim().to_string(),
            timezone: timezone.trim().to_string(),
        };
        schedule.validate()?;
        Ok(schedule)
    }

    /// A schedule from a preset.
    pub fn from_preset(preset: Preset, timezone: &str) -> Result<Self, ScheduleError> {
        Schedule::new(&preset.cron(), timezone)
    }

    /// The preset this schedule is, if it is one.
    pub fn preset(&self) -> Option<Preset> {
        Preset::from_cron(&self.cron)
    }

    /// Checks the expression (5 fields, values in range, matches some date) and the zone.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        let (cron, tz) = self.parse()?;
        // Probe from a fixed instant so the check is pure; a year covers every pattern
        // except Feb 29, which croner still finds within its search window.
        let probe = DateTime::<Utc>::UNIX_EPOCH.with_timezone(&tz);
        match cron.find_next_occurrence(&probe, false) {
            Ok(_) => Ok(()),
            Err(_) => Err(ScheduleError::NeverMatches(self.cron.clone())),
        }
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleError> {
        let (cron, tz) = self.parse()?;
        cron.find_next_occurrence(&t.with_timezone(&tz), false)
            .map(|next| next.with_timezone(&Utc))
            .map_err(|_| ScheduleError::NeverMatches(self.cron.clone()))
    }

    /// The latest scheduled time at or before `t`, if there is one.
    pub fn latest_at_or_before(
        &self,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let (cron, tz) = self.parse()?;
        match cron.find_previous_occurrence(&t.with_timezone(&tz), true) {
            Ok(prev) => Ok(Some(prev.with_timezone(&Utc))),
            Err(CronError::TimeSearchLimitExceeded) => Ok(None),
            Err(_) => Err(ScheduleError::NeverMatches(self.cron.clone())),
        }
    }

    /// The one tick to run now, if any: the latest scheduled time at or before `now` that is
    /// after `last_scheduled`. However many ticks were missed, this catches up once.
    /// `None` for `last_scheduled` means the schedule never ran, so it runs at once; pass
    /// the creation time instead to wait for the first tick.
    pub fn due_ticks(
        &self,
        last_scheduled: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let latest = self.latest_at_or_before(now)?;
        Ok(latest.filter(|tick| last_scheduled.is_none_or(|last| *tick > last)))
    }

    /// How the UI says the schedule: "every 5 minutes", "daily at 09:00 Europe/Paris".
    pub fn describe(&self) -> String {
        let tz = &self.timezone;
        match self.preset() {
            Some(Preset::Every5Minutes) => "every 5 minutes".into(),
            Some(Preset::Hourly) => "hourly".into(),
            Some(Preset::Daily { at }) => format!("daily at {at} {tz}"),
            Some(Preset::Weekly { day, at }) => {
                format!("weekly on {} at {at} {tz}", weekday_name(day))
            }
            None => format!("cron \"{}\" in {tz}", self.cron),
        }
    }

    /// The parsed expression and zone.
    fn parse(&self) -> Result<(Cron, Tz), ScheduleError> {
        let tz = self
            .timezone
            .parse::<Tz>()
            .map_err(|_| ScheduleError::UnknownTimeZone(self.timezone.clone()))?;
        Ok((parse_cron(&self.cron)?, tz))
    }
}

/// Parses a 5-field expression or an `@` nickname; seconds and years are refused.
fn parse_cron(cron: &str) -> Result<Cron, ScheduleError> {
    let invalid = |reason: String| ScheduleError::InvalidCron {
        cron: cron.to_string(),
        reason,
    };
    let fields = cron.split_whitespace().count();
    if !cron.trim_start().starts_with('@') && fields != 5 {
        return Err(invalid(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), found {fields}"
        )));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(cron)
        .map_err(|e| invalid(cron_reason(e)))
}

fn cron_reason(e: CronError) -> String {
    match e {
        CronError::InvalidPattern(m)
        | CronError::IllegalCharacters(m)
        | CronError::ComponentError(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn at(h: u8, m: u8) -> TimeOfDay {
        TimeOfDay::new(h, m).unwrap()
    }

    #[test]
    fn presets_become_cron_and_back() {
        // (preset, cron, description in Europe/Paris)
        let table = [
            (Preset::Every5Minutes, "*/5 * * * *", "every 5 minutes"),
            (Preset::Hourly, "0 * * * *", "hourly"),
            (
                Preset::Daily { at: at(9, 0) },
                "0 9 * * *",
                "daily at 09:00 Europe/Paris",
            ),
            (
                Preset::Daily { at: at(23, 59) },
                "59 23 * * *",
                "daily at 23:59 Europe/Paris",
            ),
            (
                Preset::Weekly {
                    day: Weekday::Mon,
                    at: at(8, 30),
                },
                "30 8 * * 1",
                "weekly on Monday at 08:30 Europe/Paris",
            ),
            (
                Preset::Weekly {
                    day: Weekday::Sun,
                    at: at(0, 5),
                },
                "5 0 * * 0",
                "weekly on Sunday at 00:05 Europe/Paris",
            ),
            (
                Preset::Weekly {
                    day: Weekday::Sat,
                    at: at(12, 0),
                },
                "0 12 * * 6",
                "weekly on Saturday at 12:00 Europe/Paris",
            ),
        ];
        for (preset, cron, described) in table {
            assert_eq!(preset.cron(), cron);
            assert_eq!(Preset::from_cron(cron), Some(preset), "{cron}");
            let schedule = Schedule::from_preset(preset, "Europe/Paris").unwrap();
            assert_eq!(schedule.describe(), described);
        }
        for not_preset in [
            "*/10 * * * *",
            "0 9 1 * *",
            "00 9 * * *",
            "0 9 * * 7",
            "0 9 * * 1-5",
        ] {
            assert_eq!(Preset::from_cron(not_preset), None, "{not_preset}");
        }
        let custom = Schedule::new("0 9 * * 1-5", "America/New_York").unwrap();
        assert_eq!(
            custom.describe(),
            "cron \"0 9 * * 1-5\" in America/New_York"
        );
    }

    #[test]
    fn presets_and_times_serialize_readably() {
        let weekly = Preset::Weekly {
            day: Weekday::Fri,
            at: at(17, 45),
        };
        let json = serde_json::to_value(weekly).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"preset": "weekly", "day": "Fri", "at": "17:45"})
        );
        assert_eq!(serde_json::from_value::<Preset>(json).unwrap(), weekly);
        let five: Preset = serde_json::from_str(r#"{"preset":"every_5_minutes"}"#).unwrap();
        assert_eq!(five, Preset::Every5Minutes);
        let schedule: Schedule = serde_json::from_str(r#"{"cron":"0 * * * *"}"#).unwrap();
        assert_eq!(schedule.timezone, "UTC");
    }

    #[test]
    fn times_of_day_parse_strictly() {
        for (text, want) in [
            ("09:00", Some(at(9, 0))),
            ("9:05", Some(at(9, 5))),
            ("23:59", Some(at(23, 59))),
        ] {
            assert_eq!(text.parse::<TimeOfDay>().ok(), want, "{text}");
        }
        for bad in [
            "24:00", "12:60", "12", "12:5", "-1:00", "ab:cd", "", "123:00", "12:00:00",
        ] {
            assert_eq!(
                bad.parse::<TimeOfDay>(),
                Err(ScheduleError::InvalidTime(bad.into())),
                "{bad}"
            );
        }
        assert!(TimeOfDay::new(24, 0).is_err());
        assert!(serde_json::from_str::<Preset>(r#"{"preset":"daily","at":"25:00"}"#).is_err());
    }

    #[test]
    fn invalid_schedules_get_clear_errors() {
        let table = [
            (
                "* * * *",
                "UTC",
                "expected 5 fields (minute hour day-of-month month day-of-week), found 4",
            ),
            ("0 * * * * *", "UTC", "found 6"),
            ("", "UTC", "found 0"),
            (
                "61 * * * *",
                "UTC",
                "invalid cron expression \"61 * * * *\"",
            ),
            ("0 25 * * *", "UTC", "invalid cron expression"),
            ("0 9 * * FUNDAY", "UTC", "invalid cron expression"),
            ("@sometimes", "UTC", "invalid cron expression"),
            ("0 0 30 2 *", "UTC", "never matches"),
            (
                "0 9 * * *",
                "Europe/Pariss",
                "unknown time zone \"Europe/Pariss\"",
            ),
            ("0 9 * * *", "", "unknown time zone \"\""),
        ];
        for (cron, tz, message) in table {
            let err = Schedule::new(cron, tz).unwrap_err();
            assert!(err.to_string().contains(message), "{cron} / {tz}: {err}");
        }
        for ok in [
            "@hourly",
            "@daily",
            "*/15 8-18 * * MON-FRI",
            "0 0 29 2 *",
            "0 0 L * *",
        ] {
            assert!(Schedule::new(ok, "UTC").is_ok(), "{ok}");
        }
        let err: AppError = ScheduleError::UnknownTimeZone("Mars/Olympus".into()).into();
        assert!(err
            .field_message("timezone")
            .unwrap()
            .contains("Mars/Olympus"));
    }

    #[test]
    fn next_after_reads_the_cron_in_its_time_zone() {
        let paris = Schedule::new("0 9 * * *", "Europe/Paris").unwrap();
        // Summer: Paris is UTC+2.
        assert_eq!(
            paris.next_after(utc(2024, 7, 1, 6, 0)).unwrap(),
            utc(2024, 7, 1, 7, 0)
        );
        // Strictly after.
        assert_eq!(
            paris.next_after(utc(2024, 7, 1, 7, 0)).unwrap(),
            utc(2024, 7, 2, 7, 0)
        );
        // Winter: UTC+1.
        assert_eq!(
            paris.next_after(utc(2024, 1, 10, 9, 0)).unwrap(),
            utc(2024, 1, 11, 8, 0)
        );
        let five = Schedule::new("*/5 * * * *", "UTC").unwrap();
        assert_eq!(
            five.next_after(utc(2024, 1, 1, 0, 3)).unwrap(),
            utc(2024, 1, 1, 0, 5)
        );
        let weekly = Schedule::from_preset(
            Preset::Weekly {
                day: Weekday::Mon,
                at: at(9, 0),
            },
            "America/New_York",
        )
        .unwrap();
        // 2024-05-01 is a Wednesday; next Monday is May 6th, 09:00 EDT = 13:00 UTC.
        assert_eq!(
            weekly.next_after(utc(2024, 5, 1, 0, 0)).unwrap(),
            utc(2024, 5, 6, 13, 0)
        );
    }

    #[test]
    fn daily_schedule_keeps_local_time_across_dst() {
        let paris = Schedule::new("0 9 * * *", "Europe/Paris").unwrap();
        // Clocks go forward on 2024-03-31 at 02:00 local.
        let mut t = utc(2024, 3, 29, 12, 0);
        let mut ticks = Vec::new();
        for _ in 0..4 {
            t = paris.next_after(t).unwrap();
            ticks.push(t);
        }
        assert_eq!(
            ticks,
            [
                utc(2024, 3, 30, 8, 0),
                utc(2024, 3, 31, 7, 0),
                utc(2024, 4, 1, 7, 0),
                utc(2024, 4, 2, 7, 0)
            ]
        );
        // Back on 2024-10-27 at 03:00 local: 09:00 is UTC+1 again.
        assert_eq!(
            paris.next_after(utc(2024, 10, 26, 12, 0)).unwrap(),
            utc(2024, 10, 27, 8, 0)
        );
    }

    #[test]
    fn times_inside_a_dst_change_run_once() {
        // 02:30 does not exist in Paris on 2024-03-31: it runs once, at the first instant
        // after the gap (03:00 CEST = 01:00 UTC), and the next day as usual.
        let gap = Schedule::new("30 2 * * *", "Europe/Paris").unwrap();
        let first = gap.next_after(utc(2024, 3, 30, 12, 0)).unwrap();
        assert_eq!(first, utc(2024, 3, 31, 1, 0));
        assert_eq!(gap.next_after(first).unwrap(), utc(2024, 4, 1, 0, 30));
        // 02:30 happens twice on 2024-10-27: it runs on the first one only.
        let first = gap.next_after(utc(2024, 10, 26, 12, 0)).unwrap();
        assert_eq!(first, utc(2024, 10, 27, 0, 30));
        assert_eq!(gap.next_after(first).unwrap(), utc(2024, 10, 28, 1, 30));
        // Interval schedules follow real time: 12 ticks in the repeated hour and the next.
        let five = Schedule::new("*/5 * * * *", "Europe/Paris").unwrap();
        let mut t = utc(2024, 10, 27, 0, 0);
        let mut n = 0;
        while t < utc(2024, 10, 27, 2, 0) {
            let next = five.next_after(t).unwrap();
            assert!(next - t <= Duration::minutes(5), "{t} → {next}");
            t = next;
            n += 1;
        }
        assert_eq!(n, 24);
    }

    #[test]
    fn catch_up_runs_at_most_once_after_missed_ticks() {
        let hourly = Schedule::from_preset(Preset::Hourly, "Europe/Paris").unwrap();
        let last = utc(2024, 5, 1, 9, 0);
        // (now, expected tick) with the last run at 09:00 UTC.
        let table = [
            (utc(2024, 5, 1, 9, 0), None),
            (utc(2024, 5, 1, 9, 59), None),
            (utc(2024, 5, 1, 10, 0), Some(utc(2024, 5, 1, 10, 0))),
            (utc(2024, 5, 1, 10, 7), Some(utc(2024, 5, 1, 10, 0))),
            // Down for three hours: one catch-up, for the latest tick.
            (utc(2024, 5, 1, 12, 30), Some(utc(2024, 5, 1, 12, 0))),
        ];
        for (now, want) in table {
            assert_eq!(hourly.due_ticks(Some(last), now).unwrap(), want, "{now}");
        }
        // After that catch-up nothing more is due until the next tick.
        let caught_up = utc(2024, 5, 1, 12, 0);
        assert_eq!(
            hourly
                .due_ticks(Some(caught_up), utc(2024, 5, 1, 12, 31))
                .unwrap(),
            None
        );
        assert_eq!(
            hourly
                .due_ticks(Some(caught_up), utc(2024, 5, 1, 13, 0))
                .unwrap(),
            Some(utc(2024, 5, 1, 13, 0))
        );
        // Never ran: the latest tick is due at once.
        assert_eq!(
            hourly.due_ticks(None, utc(2024, 5, 1, 12, 30)).unwrap(),
            Some(caught_up)
        );
    }

    #[test]
    fn catch_up_across_a_dst_change_counts_real_hours() {
        let daily = Schedule::new("0 9 * * *", "Europe/Paris").unwrap();
        // Last ran 2024-03-30 09:00 CET; the scheduler was down until 2024-04-01 12:00 UTC.
        let tick = daily
            .due_ticks(Some(utc(2024, 3, 30, 8, 0)), utc(2024, 4, 1, 12, 0))
            .unwrap();
        assert_eq!(tick, Some(utc(2024, 4, 1, 7, 0)));
        // Between the two runs of the repeated night nothing is due twice.
        let gap = Schedule::new("30 2 * * *", "Europe/Paris").unwrap();
        let ran = utc(2024, 10, 27, 0, 30);
        assert_eq!(
            gap.due_ticks(Some(ran), utc(2024, 10, 27, 1, 45)).unwrap(),
            None
        );
    }

    #[test]
    fn broken_schedules_error_instead_of_guessing() {
        let broken = Schedule {
            cron: "nope".into(),
            timezone: "UTC".into(),
        };
        assert!(matches!(
            broken.next_after(utc(2024, 1, 1, 0, 0)),
            Err(ScheduleError::InvalidCron { .. })
        ));
        assert!(broken.due_ticks(None, utc(2024, 1, 1, 0, 0)).is_err());
        let bad_zone = Schedule {
            cron: "0 * * * *".into(),
            timezone: "Nowhere".into(),
        };
        assert_eq!(
            bad_zone.next_after(utc(2024, 1, 1, 0, 0)),
            Err(ScheduleError::UnknownTimeZone("Nowhere".into()))
        );
    }
}
