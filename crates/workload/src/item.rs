//! Builders for new items of each kind in the shop table (single-table design).
//!
//! | kind    | pk              | sk (text / numeric)          | size          |
//! |---------|-----------------|------------------------------|---------------|
//! | profile | `USER#<id>`     | `PROFILE` / `0`              | 0.4–1.5 KB    |
//! | cart    | `USER#<id>`     | `CART` / `1`                 | 0.4–4 KB      |
//! | session | `USER#<id>`     | `SESSION#<hex>` / serial     | 0.3–0.6 KB    |
//! | order   | `ORDER#<no>`    | `DETAILS` / `0`              | 1–20 KB       |
//! | review  | `PRODUCT#<sku>` | `REVIEW#<user id>` / serial  | 0.4–3 KB      |
//!
//! Orders carry the long lists (order lines, status history) and so make up the large end of
//! the size range, as they do in real shops.

use crate::attr::{
    self, b, bool_, bs, get_int, get_s, l, m, map, money, n, n_int, ns, null, s, ss, Item,
};
use crate::model::{ItemKey, Kind};
use crate::names;
use crate::values::{date, exponent_form, iso, Gen, Product, SortKey};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::Value;
use std::collections::BTreeSet;

mod order;

#[cfg(test)]
use order::fixed;
pub(crate) use order::{
    cents, local_price, num_str, order, order_line, order_line_budget, recompute_order,
};

/// A freshly built item, not yet in the model.
#[derive(Debug)]
pub(crate) struct NewItem {
    pub key: ItemKey,
    pub kind: Kind,
    pub item: Item,
}

fn keyed(g: &Gen, kind: Kind, pk: String, sk: SortKey, mut rest: Item) -> NewItem {
    rest.insert("pk".into(), s(pk.clone()));
    rest.insert("sk".into(), g.sk_attr(&sk));
    NewItem {
        key: (pk, sk.text),
        kind,
        item: rest,
    }
}

/// What an order, cart, session or review copies from the customer's profile.
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub user_id: String,
    pub first: String,
    pub last: String,
    pub email: String,
    pub address: Option<Value>,
    pub currency: String,
    pub country: String,
    pub locale: String,
}

impl Customer {
    pub fn from_profile(p: &Item) -> Self {
        let prefs = p.get("preferences").and_then(|v| v.get("M"));
        let pref = |k: &str| -> String {
            prefs
                .and_then(|x| x.get(k))
                .and_then(|x| x.get("S"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let address = p.get("address").cloned();
        let country = address
            .as_ref()
            .and_then(|a| a.get("M"))
            .and_then(|a| a.get("country"))
            .and_then(|c| c.get("S"))
            .and_then(Value::as_str)
            .unwrap_or("US")
            .to_owned();
        Customer {
            user_id: get_s(p, "user_id").unwrap_or_default().to_owned(),
            first: get_s(p, "first_name").unwrap_or_default().to_owned(),
            last: get_s(p, "last_name").unwrap_or_default().to_owned(),
            email: get_s(p, "email").unwrap_or_default().to_owned(),
            address,
            currency: pref("currency"),
            country,
            locale: pref("language"),
        }
    }
}

/// A new customer profile.
pub(crate) fn profile(g: &mut Gen, now_ms: i64) -> NewItem {
    let user_id = g.new_user_id();
    let first = g.pick(names::FIRST_NAMES);
    let last = g.pick(names::LAST_NAMES);
    let city = g.city();
    let signed_up = now_ms;
    let mut it = map([
        ("entity", s("USER")),
        ("user_id", s(user_id.clone())),
        ("first_name", s(first)),
        ("last_name", s(last)),
        ("email", s(g.email(first, last))),
        ("email_verified", bool_(g.chance(0.8))),
        ("phone", s(g.pattern(city.phone))),
        ("address", g.address_attr(city, first, last)),
        ("created_at", s(iso(signed_up))),
        ("updated_at", s(iso(now_ms))),
        ("last_login_at", s(iso(now_ms))),
        ("login_count", n_int(1)),
        ("order_count", n_int(0)),
        ("lifetime_value", n(money(0))),
        ("loyalty_points", n_int(g.rng.gen_range(0..3) * 50)),
        ("tier", s(g.pick(names::TIERS))),
        ("marketing_opt_in", bool_(g.chance(0.45))),
        (
            "preferences",
            m(map([
                ("currency", s(city.currency)),
                ("language", s(city.language)),
                ("newsletter", bool_(g.chance(0.35))),
                ("sms_alerts", bool_(g.chance(0.15))),
                ("theme", s(if g.chance(0.3) { "dark" } else { "system" })),
            ])),
        ),
    ]);
    it.insert(
        "referrer".into(),
        if g.chance(0.4) {
            s(g.pick(names::REFERRERS))
        } else {
            null()
        },
    );
    if g.chance(0.6) {
        let k = g.rng.gen_range(1..=4);
        it.insert("tags".into(), ss(pick_distinct(g, names::CUSTOMER_TAGS, k)));
    }
    if g.chance(0.7) {
        let dob = format!(
            "{}-{:02}-{:02}",
            g.rng.gen_range(1950..=2007),
            g.rng.gen_range(1..=12),
            g.rng.gen_range(1..=28)
        );
        it.insert("date_of_birth".into(), s(dob));
    }
    if g.chance(0.25) {
        let png = g.thumbnail();
        it.insert("avatar".into(), b(&png));
    }
    if g.chance(0.15) {
        it.insert("shoe_sizes".into(), shoe_sizes(g));
    }
    let sk = SortKey {
        text: "PROFILE".into(),
        num: 0,
    };
    keyed(g, Kind::Profile, format!("USER#{user_id}"), sk, it)
}

fn shoe_sizes(g: &mut Gen) -> Value {
    let base = g.rng.gen_range(36..=45) * 2;
    let k = g.rng.gen_range(1..=3);
    // Half sizes as "42.5": a number set with decimals.
    let set: BTreeSet<u32> = (0..k).map(|i| base + i).collect();
    ns(set.into_iter().map(|h| {
        if h % 2 == 0 {
            (h / 2).to_string()
        } else {
            format!("{}.5", h / 2)
        }
    }))
}

pub(crate) fn pick_distinct(g: &mut Gen, xs: &[&str], k: usize) -> Vec<String> {
    xs.choose_multiple(&mut g.rng, k)
        .map(|x| (*x).to_owned())
        .collect()
}

/// A new cart of `customer`; carts expire through TTL when abandoned.
pub(crate) fn cart(g: &mut Gen, c: &Customer, now_ms: i64) -> NewItem {
    let k = g.rng.gen_range(1..=5);
    let lines: Vec<Value> = (0..k).map(|_| cart_line(g, now_ms, &c.currency)).collect();
    let mut it = map([
        ("entity", s("CART")),
        ("user_id", s(c.user_id.clone())),
        ("currency", s(c.currency.clone())),
        ("lines", l(lines)),
        ("created_at", s(iso(now_ms))),
        ("updated_at", s(iso(now_ms))),
        (
            "expires_at",
            n_int(now_ms / 1000 + g.rng.gen_range(3_600..=172_800)),
        ),
    ]);
    recompute_cart(&mut it);
    let sk = SortKey {
        text: "CART".into(),
        num: 1,
    };
    keyed(g, Kind::Cart, format!("USER#{}", c.user_id), sk, it)
}

pub(crate) fn cart_line(g: &mut Gen, now_ms: i64, currency: &str) -> Value {
    let p = g.product().clone();
    let mut line = map([
        ("sku", s(p.sku)),
        ("name", s(p.name)),
        ("qty", n_int(g.rng.gen_range(1..=2))),
        ("unit_price", n(money(local_price(p.price_cents, currency)))),
        ("added_at", s(iso(now_ms))),
    ]);
    if let Some(sz) = p.size {
        line.insert("size".into(), s(sz));
    }
    m(line)
}

pub(crate) fn recompute_cart(item: &mut Item) {
    let (mut count, mut subtotal) = (0i64, 0i64);
    if let Some(Value::Array(lines)) = item.get("lines").and_then(|v| v.get("L")) {
        for line in lines {
            let q = num_str(line, "qty").parse::<i64>().unwrap_or(0);
            count += q;
            subtotal += q * cents(num_str(line, "unit_price"));
        }
    }
    item.insert("item_count".into(), n_int(count));
    item.insert("subtotal".into(), n(money(subtotal)));
}

/// A new web or app session; sessions expire through TTL minutes after the last request.
pub(crate) fn session(g: &mut Gen, c: &Customer, now_ms: i64) -> NewItem {
    let token = g.hex(16);
    let i = g.rng.gen_range(0..names::USER_AGENTS.len());
    let (device, os) = names::DEVICES[i];
    let mut dev = map([("type", s(device)), ("os", s(os))]);
    dev.insert(
        "app_version".into(),
        if device == "app" {
            s(format!(
                "4.{}.{}",
                g.rng.gen_range(9..=12),
                g.rng.gen_range(0..=3)
            ))
        } else {
            null()
        },
    );
    let it = map([
        ("entity", s("SESSION")),
        ("session_id", s(token.clone())),
        ("user_id", s(c.user_id.clone())),
        ("created_at", s(iso(now_ms))),
        ("last_seen_at", s(iso(now_ms))),
        ("expires_at", n_int(session_expiry(g, now_ms))),
        (
            "ip_address",
            s(format!(
                "{}.{}.{}.{}",
                g.rng.gen_range(1..=223),
                g.rng.gen_range(0..=255),
                g.rng.gen_range(0..=255),
                g.rng.gen_range(1..=254)
            )),
        ),
        ("user_agent", s(names::USER_AGENTS[i])),
        ("device", m(dev)),
        ("page_views", n_int(1)),
        ("authenticated", bool_(g.chance(0.6))),
        ("token_hash", b(&crate::blob::token_hash(&mut g.rng))),
        ("locale", s(c.locale.clone())),
    ]);
    let sk = SortKey {
        text: format!("SESSION#{token}"),
        num: g.next_serial(),
    };
    keyed(g, Kind::Session, format!("USER#{}", c.user_id), sk, it)
}

/// Idle timeout: 1 to 15 minutes after the last request.
pub(crate) fn session_expiry(g: &mut Gen, now_ms: i64) -> i64 {
    now_ms / 1000 + g.rng.gen_range(60..=900)
}

/// A new product review by `customer`; `None` if they already reviewed the product.
pub(crate) fn review(
    g: &mut Gen,
    c: &Customer,
    exists: impl Fn(&ItemKey) -> bool,
    now_ms: i64,
) -> Option<NewItem> {
    let p = g.product().clone();
    let pk = format!("PRODUCT#{}", p.sku);
    let sk_text = format!("REVIEW#{}", c.user_id);
    if exists(&(pk.clone(), sk_text.clone())) {
        return None;
    }
    let rating: i64 = *[5, 5, 5, 4, 4, 3, 2, 1]
        .choose(&mut g.rng)
        .expect("ratings");
    let aspects: BTreeSet<i64> = (0..3)
        .map(|_| (rating * 2 + g.rng.gen_range(-2..=1)).clamp(2, 10))
        .collect();
    let sentences = g.rng.gen_range(1..=6);
    let body: Vec<&str> = names::REVIEW_SENTENCES
        .choose_multiple(&mut g.rng, sentences)
        .copied()
        .collect();
    let mut it = map([
        ("entity", s("REVIEW")),
        ("sku", s(p.sku.clone())),
        ("product_name", s(p.name.clone())),
        ("author_id", s(format!("USER#{}", c.user_id))),
        (
            "author_name",
            s(format!(
                "{} {}.",
                c.first,
                c.last.chars().next().unwrap_or('X')
            )),
        ),
        ("rating", n_int(rating)),
        (
            "aspect_scores",
            ns(aspects.into_iter().map(|h| {
                if h % 2 == 0 {
                    (h / 2).to_string()
                } else {
                    format!("{}.5", h / 2)
                }
            })),
        ),
        ("title", s(g.pick(names::REVIEW_TITLES))),
        ("body", s(body.join(" "))),
        ("verified_purchase", bool_(g.chance(0.85))),
        ("helpful_votes", n_int(0)),
        ("created_at", s(iso(now_ms))),
        ("updated_at", s(iso(now_ms))),
        ("merchant_reply", null()),
        ("locale", s(c.locale.clone())),
    ]);
    if g.chance(0.12) {
        let k = g.rng.gen_range(1..=3);
        let imgs: Vec<Vec<u8>> = (0..k).map(|_| g.thumbnail()).collect();
        it.insert("images".into(), bs(&dedup(imgs)));
    }
    let sk = SortKey {
        text: sk_text,
        num: g.next_serial(),
    };
    Some(keyed(g, Kind::Review, pk, sk, it))
}

fn dedup(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v.dedup();
    v
}

/// A date a few days out, for delivery estimates.
pub(crate) fn days_later(now_ms: i64, days: i64) -> String {
    date(now_ms + days * 86_400_000)
}

/// The compact JSON length of an item: the size limit is enforced on it because it is the
/// larger of the two measures (JSON vs DynamoDB's size rule) and what a change log stores.
pub(crate) fn json_len(item: &Item) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    // Serialising a map of strings and numbers into a counter cannot fail.
    serde_json::to_writer(&mut c, item).expect("serialise item");
    c.0
}

/// Reads an integer attribute, 0 if absent.
pub(crate) fn int(item: &Item, name: &str) -> i64 {
    get_int(item, name).unwrap_or(0)
}

/// Reads a string attribute, empty if absent.
pub(crate) fn text(item: &Item, name: &str) -> String {
    attr::get_s(item, name).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_prices_look_like_price_tags() {
        assert_eq!(local_price(5299, "USD"), 5299);
        assert_eq!(local_price(5299, "EUR"), 4899);
        assert_eq!(local_price(5299, "JPY"), 794_000);
        assert_eq!(money(local_price(5299, "JPY")), "7940");
    }

    #[test]
    fn cents_parse() {
        assert_eq!(cents("19.9"), 1990);
        assert_eq!(cents("20"), 2000);
        assert_eq!(cents("-3.05"), -305);
        assert_eq!(fixed("0.0825", 4), 825);
        assert_eq!(fixed("0.2", 4), 2000);
    }
}
