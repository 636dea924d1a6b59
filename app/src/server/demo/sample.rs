//! The time window with its seasonality and demand, and the weighted sampling the generator
//! uses (all from one seeded generator, so the data is the same for the same seed and day).
use super::DAY;
use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};
use rand::{rngs::StdRng, Rng};
use std::fmt::Write as _;

pub(super) struct Customer {
    /// Seconds since the window start.
    pub(super) created: i64,
    pub(super) country: usize,
    pub(super) segment: usize,
}

pub(super) struct Product {
    pub(super) created: i64,
    pub(super) price_cents: i64,
}

/// The time window: seconds since `start` 00:00:00, dates preformatted per day.
pub(super) struct Window {
    pub(super) days: i64,
    pub(super) dates: Vec<NaiveDate>,
    pub(super) date_text: Vec<String>,
}

impl Window {
    pub(super) fn new(today: NaiveDate) -> Self {
        let start = today
            .checked_sub_months(Months::new(24))
            .unwrap_or(today - Duration::days(730));
        let days = (today - start).num_days().max(1);
        let dates: Vec<NaiveDate> = (0..days).map(|d| start + Duration::days(d)).collect();
        let date_text = dates
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect();
        Self {
            days,
            dates,
            date_text,
        }
    }

    pub(super) fn seconds(&self) -> i64 {
        self.days * DAY
    }

    /// Formats a timestamp as `YYYY-MM-DD HH:MM:SS` into `buf`.
    pub(super) fn format(&self, t: i64, buf: &mut String) {
        let (d, s) = (t.div_euclid(DAY), t.rem_euclid(DAY));
        buf.clear();
        buf.push_str(&self.date_text[d as usize]);
        let _ = write!(buf, " {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    }

    /// Relative demand on each day: growth, season, weekday, holidays.
    pub(super) fn demand(&self, d: usize) -> f64 {
        let date = self.dates[d];
        let x = d as f64 / self.days as f64;
        let growth = 1.0 + 1.1 * x;
        let season = [
            0.85, 0.78, 0.88, 0.90, 0.95, 0.92, 0.90, 0.93, 0.97, 1.02, 1.40, 1.55,
        ][date.month0() as usize];
        let weekday = match date.weekday() {
            Weekday::Mon => 1.08,
            Weekday::Tue => 1.04,
            Weekday::Wed => 1.02,
            Weekday::Thu => 1.0,
            Weekday::Fri => 0.95,
            Weekday::Sat => 0.86,
            Weekday::Sun => 0.96,
        };
        growth * season * weekday * holiday(date)
    }
}

/// Black Friday weekend, Cyber Monday, Christmas, New Year.
pub(super) fn holiday(date: NaiveDate) -> f64 {
    if let Some(tg) = thanksgiving(date.year()) {
        match (date - tg).num_days() {
            0 => return 0.8,
            1 => return 3.2,
            2 | 3 => return 1.7,
            4 => return 2.5,
            _ => {}
        }
    }
    match (date.month(), date.day()) {
        (12, 24) => 0.7,
        (12, 25) => 0.45,
        (12, 26) => 1.3,
        (12, 31) => 0.75,
        (1, 1) => 0.6,
        _ => 1.0,
    }
}

/// The fourth Thursday of November.
pub(super) fn thanksgiving(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Thu, 4)
}

pub(super) fn is_promo_day(date: NaiveDate) -> bool {
    thanksgiving(date.year()).is_some_and(|tg| (1..=4).contains(&(date - tg).num_days()))
}

pub(super) fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// An index drawn by the cumulative weights `cum` (non-empty, positive total).
pub(super) fn pick_cum(rng: &mut StdRng, cum: &[f64]) -> usize {
    let r = rng.gen::<f64>() * cum[cum.len() - 1];
    cum.partition_point(|&c| c <= r).min(cum.len() - 1)
}

/// An index drawn by small weight lists.
pub(super) fn pick(rng: &mut StdRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut r = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

pub(super) fn normal(rng: &mut StdRng) -> f64 {
    let u1 = 1.0 - rng.gen::<f64>();
    let u2 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `n` sorted timestamps drawn by day weights and the hour-of-day profile.
pub(super) fn sample_times(
    rng: &mut StdRng,
    n: usize,
    day_cum: &[f64],
    hour_cum: &[f64],
) -> Vec<i64> {
    let mut times: Vec<i64> = (0..n)
        .map(|_| {
            let d = pick_cum(rng, day_cum) as i64;
            let h = pick_cum(rng, hour_cum) as i64;
            d * DAY + h * 3600 + rng.gen_range(0..3600)
        })
        .collect();
    times.sort_unstable();
    times
}

pub(super) fn cents(c: i64) -> f64 {
    c as f64 / 100.0
}
