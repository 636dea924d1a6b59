//! Writing the demo database: the schema, then each table in turn from one seeded generator
//! (customers, products, orders with their items, events), then the indexes. The tables are
//! written in this order and each step draws its random numbers in a fixed order, so the same
//! seed and day give the same file.
use super::{
    data::{
        CATEGORIES, COUNTRIES, DISCOUNTS, EVENT_ANONYMOUS, EVENT_DURATION, EVENT_KINDS,
        EVENT_KIND_WEIGHTS, FIRST_NAMES, HOUR_WEIGHTS, ITEM_COUNT_WEIGHTS, LAST_NAMES,
        QUANTITY_WEIGHTS, SEARCH_TERMS, SEGMENTS,
    },
    sample::{
        cents, cumulative, is_promo_day, normal, pick, pick_cum, sample_times, Customer, Product,
        Window,
    },
    DemoSummary, DAY, N_CUSTOMERS, N_EVENTS, N_ORDERS, N_PRODUCTS, SEED,
};
use chrono::{Datelike, NaiveDate};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rusqlite::{params, Connection, Transaction};
use std::{collections::HashSet, fmt::Write as _, path::Path};

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

/// The generator's state shared by the tables: one random sequence, the window and its
/// demand per day, and a reused text buffer for timestamps.
struct Gen {
    rng: StdRng,
    window: Window,
    demand: Vec<f64>,
    hour_cum: Vec<f64>,
    buf: String,
}

/// Customers with how much each buys and browses (cumulative, for sampling).
struct Customers {
    list: Vec<Customer>,
    activity_cum: Vec<f64>,
}

/// Products with how popular each is (cumulative, for sampling).
struct Products {
    list: Vec<Product>,
    popularity_cum: Vec<f64>,
}

pub(super) fn write_demo(file: &Path, today: NaiveDate) -> Result<DemoSummary, rusqlite::Error> {
    let window = Window::new(today);
    let demand: Vec<f64> = (0..window.days as usize)
        .map(|d| window.demand(d))
        .collect();
    let mut g = Gen {
        rng: StdRng::seed_from_u64(SEED),
        window,
        demand,
        hour_cum: cumulative(HOUR_WEIGHTS),
        buf: String::with_capacity(32),
    };

    let mut conn = Connection::open(file)?;
    conn.pragma_update_and_check(None, "journal_mode", "OFF", |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -65_536)?;

    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    let customers = g.customers(&tx)?;
    let products = g.products(&tx)?;
    let (orders, items) = g.orders(&tx, &customers, &products)?;
    let events = g.events(&tx, &customers, &products)?;
    tx.execute_batch(INDEXES)?;
    tx.commit()?;
    conn.execute_batch("ANALYZE;")?;
    conn.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))?;
    conn.close().map_err(|(_, e)| e)?;

    Ok(DemoSummary {
        tables: vec![
            ("customers".into(), customers.list.len() as u64),
            ("products".into(), products.list.len() as u64),
            ("orders".into(), orders),
            ("order_items".into(), items),
            ("events".into(), events),
        ],
    })
}

impl Gen {
    /// Demand per day with some noise (`0` on the first day), as sampling weights.
    fn noisy_demand(&mut self, low: f64, high: f64) -> Vec<f64> {
        let rng = &mut self.rng;
        cumulative(self.demand.iter().enumerate().map(|(d, w)| {
            if d == 0 {
                0.0
            } else {
                w * rng.gen_range(low..high)
            }
        }))
    }

    /// Customers: a launch cohort in the first two weeks, then signups following demand.
    fn customers(&mut self, tx: &Transaction) -> Result<Customers, rusqlite::Error> {
        let rng = &mut self.rng;
        let day_cum = cumulative(self.demand.iter().enumerate().map(|(d, w)| {
            let launch = if d < 14 { 10.0 } else { 0.0 };
            w * rng.gen_range(0.8..1.2) + launch
        }));
        let mut created = sample_times(&mut self.rng, N_CUSTOMERS, &day_cum, &self.hour_cum);
        created[0] = created[0].min(9 * 3600); // someone exists before the first order (day 1)
        let country_weights: Vec<f64> = COUNTRIES.iter().map(|c| c.1).collect();
        let segment_weights: Vec<f64> = SEGMENTS.iter().map(|s| s.1).collect();
        let mut list = Vec::with_capacity(N_CUSTOMERS);
        let mut activity = Vec::with_capacity(N_CUSTOMERS);
        let mut emails = HashSet::with_capacity(N_CUSTOMERS);
        let mut stmt = tx.prepare(
            "INSERT INTO customers (id, name, email, country, city, segment, created_at, is_active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (i, &t) in created.iter().enumerate() {
            let rng = &mut self.rng;
            let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
            let email = unique_email(rng, first, last, &mut emails);
            let country = pick(rng, &country_weights);
            let cities = COUNTRIES[country].2;
            let city = (!rng.gen_bool(0.03)).then(|| cities[rng.gen_range(0..cities.len())]);
            let segment = pick(rng, &segment_weights);
            let active = !rng.gen_bool(0.07);
            self.window.format(t, &mut self.buf);
            stmt.execute(params![
                i as i64 + 1,
                format!("{first} {last}"),
                email,
                COUNTRIES[country].0,
                city,
                SEGMENTS[segment].0,
                self.buf,
                active as i64,
            ])?;
            // How much this customer buys and browses: heavy-tailed, business buys more.
            let w = (0.9 * normal(&mut self.rng)).exp()
                * [1.0, 1.8, 3.0][segment]
                * if active { 1.0 } else { 0.3 };
            activity.push(w);
            list.push(Customer {
                created: t,
                country,
                segment,
            });
        }
        Ok(Customers {
            list,
            activity_cum: cumulative(activity),
        })
    }

    /// Products: most exist at launch, the rest are added over time.
    fn products(&mut self, tx: &Transaction) -> Result<Products, rusqlite::Error> {
        let day_cum = cumulative((0..self.window.days).map(|d| if d < 3 { 60.0 } else { 0.12 }));
        let mut created = sample_times(&mut self.rng, N_PRODUCTS, &day_cum, &self.hour_cum);
        created[0] = created[0].min(8 * 3600);
        let category_weights: Vec<f64> = CATEGORIES.iter().map(|c| c.weight).collect();
        let mut list = Vec::with_capacity(N_PRODUCTS);
        let mut popularity = Vec::with_capacity(N_PRODUCTS);
        let mut names = HashSet::with_capacity(N_PRODUCTS);
        let mut sku_numbers = [0u32; 8];
        let mut stmt = tx.prepare(
            "INSERT INTO products (id, sku, name, category, price, cost, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (i, &t) in created.iter().enumerate() {
            let rng = &mut self.rng;
            let category = pick(rng, &category_weights);
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
            self.window.format(t, &mut self.buf);
            stmt.execute(params![
                i as i64 + 1,
                sku,
                name,
                cat.name,
                cents(price_cents),
                cents(cost_cents),
                self.buf,
            ])?;
            popularity.push((1.1 * normal(&mut self.rng)).exp());
            list.push(Product {
                created: t,
                price_cents,
            });
        }
        Ok(Products {
            list,
            popularity_cum: cumulative(popularity),
        })
    }

    /// Orders and their items; returns how many of each were written.
    fn orders(
        &mut self,
        tx: &Transaction,
        customers: &Customers,
        products: &Products,
    ) -> Result<(u64, u64), rusqlite::Error> {
        let day_cum = self.noisy_demand(0.85, 1.15);
        let order_times = sample_times(&mut self.rng, N_ORDERS, &day_cum, &self.hour_cum);
        let end = self.window.seconds();
        let discount_weights: Vec<f64> = DISCOUNTS.iter().map(|d| d.1).collect();
        let mut n_items: u64 = 0;
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
            let date = self.window.dates[(t / DAY) as usize];
            let rng = &mut self.rng;
            let k = customers.list.partition_point(|c| c.created < t).max(1);
            let c = pick_cum(rng, &customers.activity_cum[..k]);
            let customer = &customers.list[c];
            let channel = order_channel(rng, t as f64 / end as f64);
            let status = order_status(rng, (end - t) as f64 / DAY as f64);
            let shipping_country = if channel == "store" {
                None
            } else if rng.gen_bool(0.96) {
                Some(COUNTRIES[customer.country].0)
            } else {
                Some(COUNTRIES[rng.gen_range(0..COUNTRIES.len())].0)
            };
            let total_cents = order_lines(
                rng,
                (date, t),
                customer,
                products,
                &discount_weights,
                &mut lines,
            );
            self.window.format(t, &mut self.buf);
            order_stmt.execute(params![
                order_id,
                c as i64 + 1,
                self.buf,
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
        Ok((order_times.len() as u64, n_items))
    }

    /// Events: one signup per customer plus a sampled clickstream; returns how many.
    fn events(
        &mut self,
        tx: &Transaction,
        customers: &Customers,
        products: &Products,
    ) -> Result<u64, rusqlite::Error> {
        let day_cum = self.noisy_demand(0.85, 1.15);
        let click_times = sample_times(
            &mut self.rng,
            N_EVENTS - N_CUSTOMERS,
            &day_cum,
            &self.hour_cum,
        );
        // (time, customer id, kind)
        let mut events: Vec<(i64, Option<i64>, usize)> = Vec::with_capacity(N_EVENTS);
        events.extend(
            customers
                .list
                .iter()
                .enumerate()
                .map(|(i, c)| (c.created, Some(i as i64 + 1), 4)),
        );
        for &t in &click_times {
            let rng = &mut self.rng;
            let kind = pick(rng, EVENT_KIND_WEIGHTS);
            let k = customers.list.partition_point(|c| c.created < t);
            let customer = if k == 0 || rng.gen_bool(EVENT_ANONYMOUS[kind]) {
                None
            } else {
                Some(pick_cum(rng, &customers.activity_cum[..k]) as i64 + 1)
            };
            events.push((t, customer, kind));
        }
        events.sort_by_key(|e| e.0); // stable: deterministic order for equal timestamps
        let mut stmt = tx.prepare(
            "INSERT INTO events (id, customer_id, occurred_at, kind, path, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut path = String::with_capacity(64);
        for (i, &(t, customer, kind)) in events.iter().enumerate() {
            let rng = &mut self.rng;
            let kp = products.list.partition_point(|p| p.created < t).max(1);
            event_path(rng, kind, &products.popularity_cum[..kp], &mut path);
            let (median, sigma, null) = EVENT_DURATION[kind];
            let duration = (!rng.gen_bool(null))
                .then(|| (median * (sigma * normal(rng)).exp()).clamp(50.0, 1_800_000.0) as i64);
            self.window.format(t, &mut self.buf);
            stmt.execute(params![
                i as i64 + 1,
                customer,
                self.buf,
                EVENT_KINDS[kind],
                path,
                duration
            ])?;
        }
        Ok(events.len() as u64)
    }
}

/// An email address from the name, made unique with a number when taken.
fn unique_email(rng: &mut StdRng, first: &str, last: &str, taken: &mut HashSet<String>) -> String {
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
    while taken.contains(&email) {
        email = format!("{local}{}@{domain}", rng.gen_range(1..1000));
    }
    taken.insert(email.clone());
    email
}

/// Where an order was placed; mobile grows over the window (`x` from 0 to 1).
fn order_channel(rng: &mut StdRng, x: f64) -> &'static str {
    let r = rng.gen::<f64>();
    let mobile = 0.25 + 0.2 * x;
    if r < 0.10 {
        "store"
    } else if r < 0.10 + mobile {
        "mobile"
    } else {
        "web"
    }
}

/// An order's status by its age: recent ones are still on the way.
fn order_status(rng: &mut StdRng, age_days: f64) -> &'static str {
    let r = rng.gen::<f64>();
    if r < 0.015 {
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
    }
}

/// An order's items (distinct products that existed at `t`, discounted more on promotion
/// days) into `lines` as (product, quantity, unit price in cents, discount); returns the
/// order's total in cents.
fn order_lines(
    rng: &mut StdRng,
    (date, t): (NaiveDate, i64),
    customer: &Customer,
    products: &Products,
    discount_weights: &[f64],
    lines: &mut Vec<(usize, i64, i64, f64)>,
) -> i64 {
    let promo = if is_promo_day(date) {
        0.65
    } else if date.month() >= 11 {
        0.30
    } else {
        0.12
    };
    let kp = products.list.partition_point(|p| p.created < t).max(1);
    let n = (pick(rng, ITEM_COUNT_WEIGHTS) + 1).min(kp);
    lines.clear();
    let mut total_cents = 0;
    while lines.len() < n {
        let p = pick_cum(rng, &products.popularity_cum[..kp]);
        if lines.iter().any(|l| l.0 == p) {
            continue;
        }
        let quantity = pick(rng, &QUANTITY_WEIGHTS[customer.segment]) as i64 + 1;
        let discount = if rng.gen::<f64>() < promo {
            DISCOUNTS[pick(rng, discount_weights)].0
        } else {
            0.0
        };
        let unit_cents = (products.list[p].price_cents as f64 * (1.0 - discount)).round() as i64;
        total_cents += quantity * unit_cents;
        lines.push((p, quantity, unit_cents, discount));
    }
    total_cents
}

/// The page an event of `kind` is on, into `path` (products by popularity).
fn event_path(rng: &mut StdRng, kind: usize, popularity_cum: &[f64], path: &mut String) {
    path.clear();
    match kind {
        0 => match pick(rng, &[40.0, 15.0, 15.0, 7.0, 7.0, 5.0, 5.0, 3.0]) {
            0 => {
                let p = pick_cum(rng, popularity_cum);
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
            let p = pick_cum(rng, popularity_cum);
            let _ = write!(path, "/products/{}", p + 1);
        }
        3 => path.push_str(
            [
                "/checkout",
                "/checkout/shipping",
                "/checkout/payment",
                "/checkout/confirmation",
            ][pick(rng, &[50.0, 25.0, 15.0, 10.0])],
        ),
        _ => path.push_str("/signup"),
    }
}
