//! The "Demo" database: a deterministic, realistic e-commerce sample (customers, products,
//! orders, order items, web events) that Sightline writes on first start so a new user can
//! query at once.
//!
//! The data spans the two years ending at `today` (every timestamp falls in
//! `[today - 24 months, today)`), has seasonality (November/December, Black Friday and
//! Cyber Monday peaks, a weekday effect), grows over time, and is fully determined by the
//! seed and `today`. Money is computed in integer cents, so `orders.total` equals the sum of
//! `order_items.quantity * unit_price` exactly (up to the 2-decimal rounding of each value).
//!
//! The file is written to `<path>.tmp` and renamed into place, so a crash never leaves a
//! half-written demo database behind.

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rusqlite::{params, Connection};
use std::{
    ffi::OsString,
    fmt::Write as _,
    fs, io,
    path::{Path, PathBuf},
};

const SEED: u64 = 42;
const N_CUSTOMERS: usize = 5_000;
const N_PRODUCTS: usize = 300;
const N_ORDERS: usize = 40_000;
/// Events in total, including one `signup` event per customer.
const N_EVENTS: usize = 120_000;
const DAY: i64 = 86_400;

/// What [`generate`] wrote: each table with its row count, in creation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub tables: Vec<(String, u64)>,
}

impl DemoSummary {
    /// Rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Writes the demo database to `path` (replacing any existing file), with data spanning the
/// two years ending at `today`. Synchronous and CPU-bound: run it in `spawn_blocking`.
pub fn generate(path: &Path, today: NaiveDate) -> Result<DemoSummary, rusqlite::Error> {
    let tmp = tmp_path(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_error("cannot create the demo directory"))?;
    }
    remove_if_exists(&tmp)?;
    remove_if_exists(&suffixed(&tmp, "-journal"))?;

    let summary = match write_demo(&tmp, today) {
        Ok(summary) => summary,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };

    // Generation ran with `synchronous=OFF`: make the bytes durable before the rename
    // publishes them, so a crash leaves either the old file or the complete new one.
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_error("cannot sync the demo database"))?;
    fs::rename(&tmp, path).map_err(io_error("cannot move the demo database into place"))?;
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let dir = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(summary)
}

fn tmp_path(path: &Path) -> PathBuf {
    if path.extension().is_some_and(|e| e == "tmp") {
        path.with_extension("tmp-demo")
    } else {
        path.with_extension("tmp")
    }
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

fn remove_if_exists(path: &Path) -> Result<(), rusqlite::Error> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(io_error("cannot remove a stale demo file")(e))
        }
        _ => Ok(()),
    }
}

/// Reports a filesystem failure as a SQLite I/O error (the API speaks `rusqlite::Error`).
fn io_error(context: &'static str) -> impl Fn(io::Error) -> rusqlite::Error {
    move |e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
            Some(format!("{context}: {e}")),
        )
    }
}

// ---------------------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------------------

const FIRST_NAMES: &[&str] = &[
    "Aisha", "Liam", "Sofia", "Mateo", "Yuki", "Wei", "Priya", "Olga", "Kwame", "Fatima", "Lucas",
    "Emma", "Noah", "Mei", "Arjun", "Amara", "Hiroshi", "Ingrid", "Diego", "Leila", "Omar",
    "Hannah", "Tomasz", "Zara", "Ethan", "Isabela", "Kofi", "Anya", "Rafael", "Nadia",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Garcia",
    "Mueller",
    "Rossi",
    "Tanaka",
    "Kim",
    "Nguyen",
    "Patel",
    "Silva",
    "Johnson",
    "Okafor",
    "Kowalski",
    "Dubois",
    "Jensen",
    "Ivanova",
    "O'Connor",
    "Haddad",
    "Chen",
    "Mensah",
    "Lopez",
    "Novak",
    "Sato",
    "Brown",
    "Fernandes",
    "Cohen",
    "Singh",
    "Andersson",
    "Williams",
    "Martin",
    "Yilmaz",
];

/// (country, weight, cities)
const COUNTRIES: &[(&str, f64, &[&str])] = &[
    (
        "United States",
        30.0,
        &["New York", "Los Angeles", "Chicago", "Austin"],
    ),
    (
        "United Kingdom",
        12.0,
        &["London", "Manchester", "Edinburgh"],
    ),
    ("Germany", 10.0, &["Berlin", "Munich", "Hamburg", "Cologne"]),
    ("France", 8.0, &["Paris", "Lyon", "Marseille"]),
    ("Canada", 7.0, &["Toronto", "Vancouver", "Montreal"]),
    ("Australia", 5.0, &["Sydney", "Melbourne", "Brisbane"]),
    ("Spain", 5.0, &["Madrid", "Barcelona", "Valencia"]),
    ("Japan", 5.0, &["Tokyo", "Osaka", "Yokohama"]),
    (
        "Brazil",
        5.0,
        &["São Paulo", "Rio de Janeiro", "Belo Horizonte"],
    ),
    ("India", 5.0, &["Mumbai", "Bengaluru", "Delhi", "Pune"]),
    ("Italy", 4.0, &["Rome", "Milan", "Turin"]),
    ("Netherlands", 4.0, &["Amsterdam", "Rotterdam", "Utrecht"]),
];

struct Category {
    name: &'static str,
    slug: &'static str,
    sku: &'static str,
    weight: f64,
    adjectives: &'static [&'static str],
    /// (item, lowest price, highest price) in whole currency units.
    items: &'static [(&'static str, f64, f64)],
}

const CATEGORIES: &[Category] = &[
    Category {
        name: "Electronics",
        slug: "electronics",
        sku: "ELE",
        weight: 1.4,
        adjectives: &[
            "Wireless", "Smart", "Portable", "Compact", "Ultra", "Pro", "Mini", "Premium",
        ],
        items: &[
            ("Headphones", 29.0, 349.0),
            ("Earbuds", 19.0, 249.0),
            ("Speaker", 25.0, 299.0),
            ("Charger", 12.0, 59.0),
            ("Power Bank", 19.0, 89.0),
            ("Smartwatch", 79.0, 449.0),
            ("Keyboard", 25.0, 179.0),
            ("Mouse", 12.0, 99.0),
            ("Webcam", 29.0, 149.0),
            ("Monitor", 129.0, 699.0),
        ],
    },
    Category {
        name: "Home & Kitchen",
        slug: "home-kitchen",
        sku: "HOM",
        weight: 1.2,
        adjectives: &[
            "Stainless",
            "Ceramic",
            "Classic",
            "Bamboo",
            "Modern",
            "Deluxe",
            "Essential",
            "Nordic",
        ],
        items: &[
            ("Frying Pan", 19.0, 129.0),
            ("Chef's Knife", 24.0, 179.0),
            ("Cutting Board", 12.0, 69.0),
            ("Coffee Maker", 39.0, 299.0),
            ("Blender", 29.0, 249.0),
            ("Kettle", 19.0, 99.0),
            ("Mixing Bowl Set", 15.0, 79.0),
            ("Dinnerware Set", 39.0, 199.0),
            ("Storage Jars", 12.0, 49.0),
            ("Toaster", 25.0, 149.0),
        ],
    },
    Category {
        name: "Clothing",
        slug: "clothing",
        sku: "CLO",
        weight: 1.3,
        adjectives: &[
            "Organic Cotton",
            "Slim Fit",
            "Classic",
            "Relaxed",
            "Merino",
            "Waterproof",
            "Lightweight",
            "Vintage",
        ],
        items: &[
            ("T-Shirt", 12.0, 39.0),
            ("Hoodie", 29.0, 89.0),
            ("Jeans", 39.0, 129.0),
            ("Rain Jacket", 59.0, 249.0),
            ("Sweater", 39.0, 149.0),
            ("Chinos", 35.0, 99.0),
            ("Socks (3-Pack)", 9.0, 24.0),
            ("Dress Shirt", 29.0, 99.0),
            ("Sneakers", 49.0, 179.0),
            ("Scarf", 15.0, 59.0),
        ],
    },
    Category {
        name: "Books",
        slug: "books",
        sku: "BOO",
        weight: 0.9,
        adjectives: &[
            "The Complete",
            "Practical",
            "Illustrated",
            "Modern",
            "Essential",
            "Beginner's",
            "Advanced",
            "Pocket",
        ],
        items: &[
            ("Cookbook", 15.0, 45.0),
            ("Guide to Data Analysis", 25.0, 69.0),
            ("World Atlas", 19.0, 59.0),
            ("History of Science", 15.0, 39.0),
            ("Gardening Handbook", 12.0, 35.0),
            ("Photography Manual", 19.0, 49.0),
            ("Field Guide to Birds", 15.0, 39.0),
            ("SQL Handbook", 25.0, 59.0),
            ("Travel Guide", 12.0, 35.0),
            ("Book of Puzzles", 9.0, 25.0),
        ],
    },
    Category {
        name: "Sports & Outdoors",
        slug: "sports-outdoors",
        sku: "SPO",
        weight: 1.0,
        adjectives: &[
            "Lightweight",
            "Trail",
            "Pro",
            "Insulated",
            "Foldable",
            "Adjustable",
            "Ultralight",
            "All-Weather",
        ],
        items: &[
            ("Yoga Mat", 19.0, 89.0),
            ("Water Bottle", 12.0, 45.0),
            ("Running Shoes", 59.0, 179.0),
            ("Tent", 89.0, 499.0),
            ("Backpack", 39.0, 199.0),
            ("Dumbbell Set", 39.0, 249.0),
            ("Cycling Helmet", 39.0, 199.0),
            ("Camping Chair", 25.0, 99.0),
            ("Jump Rope", 9.0, 29.0),
            ("Sleeping Bag", 49.0, 299.0),
        ],
    },
    Category {
        name: "Beauty",
        slug: "beauty",
        sku: "BEA",
        weight: 0.9,
        adjectives: &[
            "Hydrating",
            "Organic",
            "Gentle",
            "Daily",
            "Revitalizing",
            "Fragrance-Free",
            "Vitamin C",
            "Overnight",
        ],
        items: &[
            ("Face Cream", 12.0, 89.0),
            ("Serum", 15.0, 119.0),
            ("Cleanser", 9.0, 39.0),
            ("Shampoo", 8.0, 35.0),
            ("Conditioner", 8.0, 35.0),
            ("Sunscreen SPF 50", 9.0, 39.0),
            ("Lip Balm", 4.0, 15.0),
            ("Body Lotion", 8.0, 39.0),
            ("Hair Oil", 12.0, 49.0),
            ("Face Mask", 6.0, 29.0),
        ],
    },
    Category {
        name: "Toys & Games",
        slug: "toys-games",
        sku: "TOY",
        weight: 0.8,
        adjectives: &[
            "Classic",
            "Deluxe",
            "Mini",
            "Wooden",
            "Magnetic",
            "Family",
            "Junior",
            "Collector's",
        ],
        items: &[
            ("Building Blocks", 15.0, 129.0),
            ("Jigsaw Puzzle", 12.0, 39.0),
            ("Board Game", 19.0, 69.0),
            ("Card Game", 9.0, 29.0),
            ("Plush Bear", 12.0, 49.0),
            ("Remote Control Car", 29.0, 149.0),
            ("Train Set", 39.0, 199.0),
            ("Art Kit", 15.0, 59.0),
            ("Science Kit", 19.0, 79.0),
            ("Dollhouse", 49.0, 249.0),
        ],
    },
    Category {
        name: "Office Supplies",
        slug: "office",
        sku: "OFF",
        weight: 0.7,
        adjectives: &[
            "Ergonomic",
            "Recycled",
            "Premium",
            "Compact",
            "Adjustable",
            "Classic",
            "Heavy-Duty",
            "Minimalist",
        ],
        items: &[
            ("Notebook", 5.0, 25.0),
            ("Desk Organizer", 12.0, 59.0),
            ("Gel Pens (10-Pack)", 6.0, 19.0),
            ("Desk Lamp", 19.0, 99.0),
            ("Office Chair", 99.0, 499.0),
            ("Stapler", 8.0, 29.0),
            ("Whiteboard", 25.0, 129.0),
            ("Monitor Stand", 25.0, 89.0),
            ("Paper Shredder", 39.0, 199.0),
            ("Planner", 9.0, 35.0),
        ],
    },
];

const SEGMENTS: &[(&str, f64)] = &[("consumer", 78.0), ("business", 17.0), ("enterprise", 5.0)];
/// Quantity 1..=5 weights per segment (consumer, business, enterprise).
const QUANTITY_WEIGHTS: [[f64; 5]; 3] = [
    [72.0, 17.0, 6.0, 3.0, 2.0],
    [55.0, 20.0, 12.0, 7.0, 6.0],
    [40.0, 20.0, 15.0, 12.0, 13.0],
];
/// Items per order: 1..=8.
const ITEM_COUNT_WEIGHTS: &[f64] = &[34.0, 24.0, 17.0, 11.0, 7.0, 4.0, 2.0, 1.0];
const DISCOUNTS: &[(f64, f64)] = &[
    (0.05, 30.0),
    (0.10, 30.0),
    (0.15, 15.0),
    (0.20, 15.0),
    (0.25, 5.0),
    (0.30, 5.0),
];
/// Activity by hour of day.
const HOUR_WEIGHTS: [f64; 24] = [
    2.0, 1.2, 0.8, 0.6, 0.6, 1.0, 2.0, 3.5, 5.5, 7.0, 8.0, 9.0, 10.5, 10.5, 9.5, 9.0, 9.0, 9.5,
    11.0, 13.0, 14.0, 12.5, 8.5, 4.5,
];
const SEARCH_TERMS: &[&str] = &[
    "headphones",
    "running shoes",
    "coffee maker",
    "yoga mat",
    "gift ideas",
    "desk lamp",
    "sunscreen",
    "board game",
    "backpack",
    "monitor",
    "t-shirt",
    "kettle",
    "sql book",
    "tent",
    "serum",
    "office chair",
    "rain jacket",
    "smartwatch",
    "lego",
    "sale",
];

const EVENT_KINDS: &[&str] = &["page_view", "search", "add_to_cart", "checkout", "signup"];
/// Weights of the non-signup kinds (signups are one per customer).
const EVENT_KIND_WEIGHTS: &[f64] = &[66.0, 16.0, 11.0, 7.0];
/// Probability that an event of each kind is anonymous.
const EVENT_ANONYMOUS: &[f64] = &[0.45, 0.40, 0.20, 0.08, 0.0];
/// (median, log-sigma, probability of NULL) of `duration_ms` per kind.
const EVENT_DURATION: &[(f64, f64, f64)] = &[
    (9_000.0, 1.0, 0.12),
    (2_500.0, 0.8, 0.04),
    (1_500.0, 0.6, 0.04),
    (45_000.0, 0.7, 0.05),
    (60_000.0, 0.6, 0.03),
];

// ---------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------

struct Customer {
    /// Seconds since the window start.
    created: i64,
    country: usize,
    segment: usize,
}

struct Product {
    created: i64,
    price_cents: i64,
}

/// The time window: seconds since `start` 00:00:00, dates preformatted per day.
struct Window {
    days: i64,
    dates: Vec<NaiveDate>,
    date_text: Vec<String>,
}

impl Window {
    fn new(today: NaiveDate) -> Self {
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

    fn seconds(&self) -> i64 {
        self.days * DAY
    }

    /// Formats a timestamp as `YYYY-MM-DD HH:MM:SS` into `buf`.
    fn format(&self, t: i64, buf: &mut String) {
        let (d, s) = (t.div_euclid(DAY), t.rem_euclid(DAY));
        buf.clear();
        buf.push_str(&self.date_text[d as usize]);
        let _ = write!(buf, " {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    }

    /// Relative demand on each day: growth, season, weekday, holidays.
    fn demand(&self, d: usize) -> f64 {
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
fn holiday(date: NaiveDate) -> f64 {
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
fn thanksgiving(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Thu, 4)
}

fn is_promo_day(date: NaiveDate) -> bool {
    thanksgiving(date.year()).is_some_and(|tg| (1..=4).contains(&(date - tg).num_days()))
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
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
fn pick_cum(rng: &mut StdRng, cum: &[f64]) -> usize {
    let r = rng.gen::<f64>() * cum[cum.len() - 1];
    cum.partition_point(|&c| c <= r).min(cum.len() - 1)
}

/// An index drawn by small weight lists.
fn pick(rng: &mut StdRng, weights: &[f64]) -> usize {
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

fn normal(rng: &mut StdRng) -> f64 {
    let u1 = 1.0 - rng.gen::<f64>();
    let u2 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `n` sorted timestamps drawn by day weights and the hour-of-day profile.
fn sample_times(rng: &mut StdRng, n: usize, day_cum: &[f64], hour_cum: &[f64]) -> Vec<i64> {
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

fn cents(c: i64) -> f64 {
    c as f64 / 100.0
}

const SCHEMA: &str = "
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL UNIQUE,
    country     TEXT NOT NULL,
    city        TEXT,
    segment     TEXT NOT NULL CHECK (segment IN ('consumer', 'business', 'enterprise')),
    created_at  TEXT NOT NULL,
    is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
);
CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    sku         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    price       REAL NOT NULL,
    cost        REAL NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE orders (
    id               INTEGER PRIMARY KEY,
    customer_id      INTEGER NOT NULL REFERENCES customers (id),
    ordered_at       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('delivered', 'shipped', 'processing', 'cancelled', 'refunded', 'failed')),
    channel          TEXT NOT NULL CHECK (channel IN ('web', 'mobile', 'store')),
    total            REAL NOT NULL,
    shipping_country TEXT
);
CREATE TABLE order_items (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    product_id  INTEGER NOT NULL REFERENCES products (id),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_price  REAL NOT NULL,
    discount    REAL NOT NULL DEFAULT 0
);
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER REFERENCES customers (id),
    occurred_at  TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('page_view', 'search', 'add_to_cart', 'checkout', 'signup')),
    path         TEXT NOT NULL,
    duration_ms  INTEGER
);
";

const INDEXES: &str = "
CREATE INDEX customers_created_at ON customers (created_at);
CREATE INDEX products_category ON products (category);
CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE INDEX orders_ordered_at ON orders (ordered_at);
CREATE INDEX order_items_order_id ON order_items (order_id);
CREATE INDEX order_items_product_id ON order_items (product_id);
CREATE INDEX events_customer_id ON events (customer_id);
CREATE INDEX events_occurred_at ON events (occurred_at);
";

fn write_demo(file: &Path, today: NaiveDate) -> Result<DemoSummary, rusqlite::Error> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let window = Window::new(today);
    let demand: Vec<f64> = (0..window.days as usize)
        .map(|d| window.demand(d))
        .collect();
    let hour_cum = cumulative(HOUR_WEIGHTS);

    let mut conn = Connection::open(file)?;
    conn.pragma_update_and_check(None, "journal_mode", "OFF", |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -65_536)?;

    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    let mut buf = String::with_capacity(32);

    // Customers: a launch cohort in the first two weeks, then signups following demand.
    let day_cum = cumulative(demand.iter().enumerate().map(|(d, w)| {
        let launch = if d < 14 { 10.0 } else { 0.0 };
        w * rng.gen_range(0.8..1.2) + launch
    }));
    let mut created = sample_times(&mut rng, N_CUSTOMERS, &day_cum, &hour_cum);
    created[0] = created[0].min(9 * 3600); // someone exists before the first order (day 1)
    let country_weights: Vec<f64> = COUNTRIES.iter().map(|c| c.1).collect();
    let segment_weights: Vec<f64> = SEGMENTS.iter().map(|s| s.1).collect();
    let mut customers = Vec::with_capacity(N_CUSTOMERS);
    let mut activity = Vec::with_capacity(N_CUSTOMERS);
    let mut emails = std::collections::HashSet::with_capacity(N_CUSTOMERS);
    {
        let mut stmt = tx.prepare(
            "INSERT INTO customers (id, name, email, country, city, segment, created_at, is_active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (i, &t) in created.iter().enumerate() {
            let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
            let f = first.to_ascii_lowercase();
            let l: String = last
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            let local = match rng.gen_range(0..4) {
                0 => format!("{f}.{l}"),
                1 => format!("{f}{l}"),
                2 => format!("{}{l}", &f[..1]),
                _ => format!("{f}_{l}"),
            };
            let domain = if rng.gen_bool(0.7) {
                "example.com"
            } else {
                "example.org"
            };
            let mut email = format!("{local}@{domain}");
            while emails.contains(&email) {
                email = format!("{local}{}@{domain}", rng.gen_range(1..1000));
            }
            emails.insert(email.clone());

            let country = pick(&mut rng, &country_weights);
            let cities = COUNTRIES[country].2;
            let city = (!rng.gen_bool(0.03)).then(|| cities[rng.gen_range(0..cities.len())]);
            let segment = pick(&mut rng, &segment_weights);
            let active = !rng.gen_bool(0.07);
            window.format(t, &mut buf);
            stmt.execute(params![
                i as i64 + 1,
                format!("{first} {last}"),
                email,
                COUNTRIES[country].0,
                city,
                SEGMENTS[segment].0,
                buf,
                active as i64,
            ])?;
            // How much this customer buys and browses: heavy-tailed, business buys more.
            let w = (0.9 * normal(&mut rng)).exp()
                * [1.0, 1.8, 3.0][segment]
                * if active { 1.0 } else { 0.3 };
            activity.push(w);
            customers.push(Customer {
                created: t,
                country,
                segment,
            });
        }
    }
    let activity_cum = cumulative(activity);

    // Products: most exist at launch, the rest are added over time.
    let day_cum = cumulative((0..window.days).map(|d| if d < 3 { 60.0 } else { 0.12 }));
    let mut created = sample_times(&mut rng, N_PRODUCTS, &day_cum, &hour_cum);
    created[0] = created[0].min(8 * 3600);
    let category_weights: Vec<f64> = CATEGORIES.iter().map(|c| c.weight).collect();
    let mut products = Vec::with_capacity(N_PRODUCTS);
    let mut popularity = Vec::with_capacity(N_PRODUCTS);
    let mut names = std::collections::HashSet::with_capacity(N_PRODUCTS);
    let mut sku_numbers = [0u32; 8];
    {
        let mut stmt = tx.prepare(
            "INSERT INTO products (id, sku, name, category, price, cost, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (i, &t) in created.iter().enumerate() {
            let category = pick(&mut rng, &category_weights);
            let cat = &CATEGORIES[category];
            let (mut name, mut item);
            let mut tries = 0;
            loop {
                item = cat.items[rng.gen_range(0..cat.items.len())];
                let adjective = cat.adjectives[rng.gen_range(0..cat.adjectives.len())];
                name = format!("{adjective} {}", item.0);
                tries += 1;
                if !names.contains(&name) {
                    break;
                }
                if tries > 50 {
                    name = format!("{name} {}", i + 1);
                    break;
                }
            }
            names.insert(name.clone());
            // Log-uniform price in the item's range, ending in .99.
            let price = (item.1.ln() + rng.gen::<f64>() * (item.2.ln() - item.1.ln())).exp();
            let price_cents = price.floor().max(1.0) as i64 * 100 - 1;
            let cost_cents = (price_cents as f64 * rng.gen_range(0.35..0.70)).round() as i64;
            sku_numbers[category] += 1;
            let sku = format!(
                "{}-{:05}",
                cat.sku,
                10_000 + sku_numbers[category] * 7 + (i as u32 % 7)
            );
            window.format(t, &mut buf);
            stmt.execute(params![
                i as i64 + 1,
                sku,
                name,
                cat.name,
                cents(price_cents),
                cents(cost_cents),
                buf,
            ])?;
            popularity.push((1.1 * normal(&mut rng)).exp());
            products.push(Product {
                created: t,
                price_cents,
            });
        }
    }
    let popularity_cum = cumulative(popularity);

    // Orders and their items.
    let day_cum = cumulative(demand.iter().enumerate().map(|(d, w)| {
        if d == 0 {
            0.0
        } else {
            w * rng.gen_range(0.85..1.15)
        }
    }));
    let order_times = sample_times(&mut rng, N_ORDERS, &day_cum, &hour_cum);
    let end = window.seconds();
    let discount_weights: Vec<f64> = DISCOUNTS.iter().map(|d| d.1).collect();
    let mut n_items: u64 = 0;
    {
        let mut order_stmt = tx.prepare(
            "INSERT INTO orders (id, customer_id, ordered_at, status, channel, total, shipping_country)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut item_stmt = tx.prepare(
            "INSERT INTO order_items (id, order_id, product_id, quantity, unit_price, discount)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut lines: Vec<(usize, i64, i64, f64)> = Vec::with_capacity(8);
        for (i, &t) in order_times.iter().enumerate() {
            let order_id = i as i64 + 1;
            let x = t as f64 / end as f64;
            let date = window.dates[(t / DAY) as usize];
            let k = customers.partition_point(|c| c.created < t).max(1);
            let c = pick_cum(&mut rng, &activity_cum[..k]);
            let customer = &customers[c];

            let r = rng.gen::<f64>();
            let mobile = 0.25 + 0.2 * x;
            let channel = if r < 0.10 {
                "store"
            } else if r < 0.10 + mobile {
                "mobile"
            } else {
                "web"
            };
            let age_days = (end - t) as f64 / DAY as f64;
            let r = rng.gen::<f64>();
            let status = if r < 0.015 {
                "failed"
            } else if r < 0.055 {
                "cancelled"
            } else if r < 0.09 && age_days > 5.0 {
                "refunded"
            } else if age_days < 1.5 {
                if rng.gen_bool(0.8) {
                    "processing"
                } else {
                    "shipped"
                }
            } else if age_days < 6.0 {
                if rng.gen::<f64>() < (6.0 - age_days) / 4.5 {
                    "shipped"
                } else {
                    "delivered"
                }
            } else if rng.gen_bool(0.005) {
                "shipped"
            } else {
                "delivered"
            };
            let shipping_country = if channel == "store" {
                None
            } else if rng.gen_bool(0.96) {
                Some(COUNTRIES[customer.country].0)
            } else {
                Some(COUNTRIES[rng.gen_range(0..COUNTRIES.len())].0)
            };

            let promo = if is_promo_day(date) {
                0.65
            } else if date.month() >= 11 {
                0.30
            } else {
                0.12
            };
            let kp = products.partition_point(|p| p.created < t).max(1);
            let n = (pick(&mut rng, ITEM_COUNT_WEIGHTS) + 1).min(kp);
            lines.clear();
            let mut total_cents = 0;
            while lines.len() < n {
                let p = pick_cum(&mut rng, &popularity_cum[..kp]);
                if lines.iter().any(|l| l.0 == p) {
                    continue;
                }
                let quantity = pick(&mut rng, &QUANTITY_WEIGHTS[customer.segment]) as i64 + 1;
                let discount = if rng.gen::<f64>() < promo {
                    DISCOUNTS[pick(&mut rng, &discount_weights)].0
                } else {
                    0.0
                };
                let unit_cents = (products[p].price_cents as f64 * (1.0 - discount)).round() as i64;
                total_cents += quantity * unit_cents;
                lines.push((p, quantity, unit_cents, discount));
            }

            window.format(t, &mut buf);
            order_stmt.execute(params![
                order_id,
                c as i64 + 1,
                buf,
                status,
                channel,
                cents(total_cents),
                shipping_country,
            ])?;
            for &(p, quantity, unit_cents, discount) in &lines {
                n_items += 1;
                item_stmt.execute(params![
                    n_items as i64,
                    order_id,
                    p as i64 + 1,
                    quantity,
                    cents(unit_cents),
                    discount,
                ])?;
            }
        }
    }

    // Events: one signup per customer plus a sampled clickstream.
    let day_cum = cumulative(demand.iter().enumerate().map(|(d, w)| {
        if d == 0 {
            0.0
        } else {
            w * rng.gen_range(0.85..1.15)
        }
    }));
    let click_times = sample_times(&mut rng, N_EVENTS - N_CUSTOMERS, &day_cum, &hour_cum);
    // (time, customer id, kind)
    let mut events: Vec<(i64, Option<i64>, usize)> = Vec::with_capacity(N_EVENTS);
    events.extend(
        customers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.created, Some(i as i64 + 1), 4)),
    );
    for &t in &click_times {
        let kind = pick(&mut rng, EVENT_KIND_WEIGHTS);
        let k = customers.partition_point(|c| c.created < t);
        let customer = if k == 0 || rng.gen_bool(EVENT_ANONYMOUS[kind]) {
            None
        } else {
            Some(pick_cum(&mut rng, &activity_cum[..k]) as i64 + 1)
        };
        events.push((t, customer, kind));
    }
    events.sort_by_key(|e| e.0); // stable: deterministic order for equal timestamps
    {
        let mut stmt = tx.prepare(
            "INSERT INTO events (id, customer_id, occurred_at, kind, path, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut path = String::with_capacity(64);
        for (i, &(t, customer, kind)) in events.iter().enumerate() {
            let kp = products.partition_point(|p| p.created < t).max(1);
            path.clear();
            match kind {
                0 => match pick(&mut rng, &[40.0, 15.0, 15.0, 7.0, 7.0, 5.0, 5.0, 3.0]) {
                    0 => {
                        let p = pick_cum(&mut rng, &popularity_cum[..kp]);
                        let _ = write!(path, "/products/{}", p + 1);
                    }
                    1 => path.push('/'),
                    2 => {
                        let cat = &CATEGORIES[rng.gen_range(0..CATEGORIES.len())];
                        let _ = write!(path, "/category/{}", cat.slug);
                    }
                    3 => path.push_str("/deals"),
                    4 => path.push_str("/cart"),
                    5 => path.push_str("/account"),
                    6 => path.push_str("/account/orders"),
                    _ => path.push_str("/help"),
                },
                1 => {
                    let term = SEARCH_TERMS[rng.gen_range(0..SEARCH_TERMS.len())];
                    let _ = write!(path, "/search?q={}", term.replace(' ', "+"));
                }
                2 => {
                    let p = pick_cum(&mut rng, &popularity_cum[..kp]);
                    let _ = write!(path, "/products/{}", p + 1);
                }
                3 => path.push_str(
                    [
                        "/checkout",
                        "/checkout/shipping",
                        "/checkout/payment",
                        "/checkout/confirmation",
                    ][pick(&mut rng, &[50.0, 25.0, 15.0, 10.0])],
                ),
                _ => path.push_str("/signup"),
            }
            let (median, sigma, null) = EVENT_DURATION[kind];
            let duration = (!rng.gen_bool(null)).then(|| {
                (median * (sigma * normal(&mut rng)).exp()).clamp(50.0, 1_800_000.0) as i64
            });
            window.format(t, &mut buf);
            stmt.execute(params![
                i as i64 + 1,
                customer,
                buf,
                EVENT_KINDS[kind],
                path,
                duration
            ])?;
        }
    }

    tx.execute_batch(INDEXES)?;
    tx.commit()?;
    conn.execute_batch("ANALYZE;")?;
    conn.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))?;
    conn.close().map_err(|(_, e)| e)?;

    Ok(DemoSummary {
        tables: vec![
            ("customers".into(), customers.len() as u64),
            ("products".into(), products.len() as u64),
            ("orders".into(), order_times.len() as u64),
            ("order_items".into(), n_items),
            ("events".into(), events.len() as u64),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OpenFlags;
    use std::time::Instant;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let dir = std::env::temp_dir().join(format!(
                "sightline-demo-{name}-{}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn timed(path: &Path) -> DemoSummary {
        let started = Instant::now();
        let summary = generate(path, today()).unwrap();
        println!(
            "demo: {} rows in {:.2?} ({} bytes): {:?}",
            summary.total_rows(),
            started.elapsed(),
            fs::metadata(path).unwrap().len(),
            summary.tables
        );
        summary
    }

    #[test]
    fn generates_a_consistent_demo_database() {
        let dir = TempDir::new("consistent");
        let path = dir.0.join("demo.sqlite");
        let summary = timed(&path);
        assert!(
            !tmp_path(&path).exists(),
            "the temporary file was renamed away"
        );
        assert!(!suffixed(&path, "-journal").exists());

        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");

        // Row counts match the summary and the expected sizes.
        let ranges = [
            ("customers", 4_500, 5_500),
            ("products", 250, 350),
            ("orders", 35_000, 45_000),
            ("order_items", 85_000, 120_000),
            ("events", 100_000, 140_000),
        ];
        for ((table, n), (name, lo, hi)) in summary.tables.iter().zip(ranges) {
            assert_eq!(table, name);
            let actual = count(&conn, &format!("SELECT COUNT(*) FROM {table}"));
            assert_eq!(actual as u64, *n, "{table}");
            assert!((lo..=hi).contains(&actual), "{table}: {actual}");
        }
        assert!(summary.total_rows() >= 250_000);

        // Every order's total is the sum of its items, and every order has items.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM orders o
                 LEFT JOIN (SELECT order_id, SUM(quantity * unit_price) AS s
                            FROM order_items GROUP BY order_id) i ON i.order_id = o.id
                 WHERE i.s IS NULL OR ABS(o.total - i.s) > 0.01"
            ),
            0
        );
        // No orphans.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM order_items oi
                 LEFT JOIN orders o ON o.id = oi.order_id
                 LEFT JOIN products p ON p.id = oi.product_id
                 WHERE o.id IS NULL OR p.id IS NULL"
            ),
            0
        );
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
                 WHERE c.id IS NULL"
            ),
            0
        );
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM events e LEFT JOIN customers c ON c.id = e.customer_id
                 WHERE e.customer_id IS NOT NULL AND c.id IS NULL"
            ),
            0
        );
        // Causality: nobody orders before signing up, nothing is sold before it exists.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id
                 WHERE o.ordered_at < c.created_at"
            ),
            0
        );
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id
                 JOIN products p ON p.id = oi.product_id WHERE o.ordered_at < p.created_at"
            ),
            0
        );

        // Every timestamp lies within the two years ending at `today`.
        let start = "2023-06-15 00:00:00";
        let end = "2025-06-15 00:00:00";
        for (table, column) in [
            ("customers", "created_at"),
            ("products", "created_at"),
            ("orders", "ordered_at"),
            ("events", "occurred_at"),
        ] {
            let (min, max): (String, String) = conn
                .query_row(
                    &format!("SELECT MIN({column}), MAX({column}) FROM {table}"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert!(
                min.as_str() >= start && max.as_str() < end,
                "{table}: {min}..{max}"
            );
            assert_eq!(
                count(
                    &conn,
                    &format!(
                        "SELECT COUNT(*) FROM {table}
                         WHERE {column} IS NOT strftime('%Y-%m-%d %H:%M:%S', {column})"
                    )
                ),
                0,
                "{table}.{column} is ISO 8601"
            );
        }

        // Plausible shape: emails are example addresses, seasonality and statuses show.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM customers
                 WHERE email NOT LIKE '%@example.com' AND email NOT LIKE '%@example.org'"
            ),
            0
        );
        let delivered = count(
            &conn,
            "SELECT COUNT(*) FROM orders WHERE status = 'delivered'",
        );
        assert!(delivered > 30_000, "{delivered}");
        let november = count(
            &conn,
            "SELECT COUNT(*) FROM orders WHERE ordered_at >= '2024-11-01' AND ordered_at < '2024-12-01'",
        );
        let february = count(
            &conn,
            "SELECT COUNT(*) FROM orders WHERE ordered_at >= '2024-02-01' AND ordered_at < '2024-03-01'",
        );
        assert!(november > february * 3 / 2, "{november} vs {february}");
        assert!(
            count(
                &conn,
                "SELECT COUNT(*) FROM events WHERE customer_id IS NULL"
            ) > 10_000
        );
        assert!(
            count(
                &conn,
                "SELECT COUNT(*) FROM events WHERE duration_ms IS NULL"
            ) > 1_000
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM events WHERE kind = 'signup'"),
            5_000
        );
        assert!(
            count(&conn, "SELECT COUNT(*) FROM sqlite_stat1") > 0,
            "ANALYZE ran"
        );
    }

    #[test]
    fn is_deterministic_and_replaces_stale_files() {
        let dir = TempDir::new("deterministic");
        let a = dir.0.join("a.db");
        let b = dir.0.join("b.db");
        // A stale temporary file and an existing database are both replaced.
        fs::write(tmp_path(&b), b"half-written garbage").unwrap();
        fs::write(&b, b"an old demo").unwrap();

        let first = timed(&a);
        let second = timed(&b);
        assert_eq!(first, second);
        assert!(!tmp_path(&b).exists());

        let fingerprint = |path: &Path| -> (i64, f64, String, String) {
            let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
            conn.query_row(
                "SELECT (SELECT COUNT(*) FROM order_items),
                        (SELECT ROUND(SUM(total), 2) FROM orders),
                        (SELECT group_concat(email) FROM (SELECT email FROM customers LIMIT 50)),
                        (SELECT MAX(occurred_at) FROM events)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
        };
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }
}
