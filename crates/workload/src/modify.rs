//! MODIFY operations: what an application changes on an existing item.
//!
//! Each operation touches a few attributes (a status transition, a counter, `updated_at`, an
//! added order line) and leaves the rest byte for byte as it was, as real updates do. That
//! matters for the change log: consecutive versions of one item are nearly identical, which
//! is exactly the redundancy that sorting by key lets a columnar format compress away.

use crate::attr::{b, bool_, get_s, l, m, map, n, n_int, null, s, ss, Item};
use crate::blob;
use crate::item::{
    cart_line, days_later, int, json_len, order_line, order_line_budget, recompute_cart,
    recompute_order, session_expiry, text, Customer,
};
use crate::names;
use crate::values::{iso, Gen};
use rand::Rng;
use serde_json::Value;

fn num(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.get("N"))
        .and_then(Value::as_str)
        .unwrap_or("0")
        .to_owned()
}

fn touch(item: &mut Item, now_ms: i64) {
    item.insert("updated_at".into(), s(iso(now_ms)));
}

fn list_mut<'a>(item: &'a mut Item, name: &str) -> Option<&'a mut Vec<Value>> {
    match item.get_mut(name)?.get_mut("L")? {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

/// A profile change: a login, loyalty points, a move, tags, consent, phone, avatar.
pub(crate) fn profile(g: &mut Gen, it: &mut Item, now_ms: i64) {
    let r: f64 = g.rng.gen();
    if r < 0.40 {
        it.insert("last_login_at".into(), s(iso(now_ms)));
        it.insert("login_count".into(), n_int(int(it, "login_count") + 1));
    } else if r < 0.60 {
        // After an order: denormalised counters and loyalty points.
        it.insert("order_count".into(), n_int(int(it, "order_count") + 1));
        let spent = g.rng.gen_range(900..=40_000);
        let ltv = crate::item::cents(&num(it, "lifetime_value")) + spent;
        it.insert("lifetime_value".into(), n(crate::attr::money(ltv)));
        let pts = int(it, "loyalty_points") + spent / 100;
        it.insert("loyalty_points".into(), n_int(pts));
        let tier = match pts {
            0..=999 => "BRONZE",
            1_000..=4_999 => "SILVER",
            5_000..=19_999 => "GOLD",
            _ => "PLATINUM",
        };
        if text(it, "tier") != "PLATINUM" {
            it.insert("tier".into(), s(tier));
        }
    } else if r < 0.68 {
        let c = Customer::from_profile(it);
        let city = g.city();
        let addr = g.address_attr(city, &c.first, &c.last);
        it.insert("address".into(), addr);
        it.insert("phone".into(), s(g.pattern(city.phone)));
    } else if r < 0.80 {
        let mut tags: Vec<String> = match it.get("tags").and_then(|t| t.get("SS")) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        if !tags.is_empty() && g.chance(0.35) {
            let i = g.rng.gen_range(0..tags.len());
            tags.remove(i);
        } else {
            let t = g.pick(names::CUSTOMER_TAGS).to_owned();
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        if tags.is_empty() {
            // An empty set is not a DynamoDB value: the attribute goes away.
            it.remove("tags");
        } else {
            it.insert("tags".into(), ss(tags));
        }
    } else if r < 0.88 {
        let v = it
            .get("marketing_opt_in")
            .and_then(|v| v.get("BOOL"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        it.insert("marketing_opt_in".into(), bool_(!v));
        it.insert("consent_updated_at".into(), s(iso(now_ms)));
    } else if r < 0.93 {
        it.insert("email_verified".into(), bool_(true));
    } else {
        let png = g.thumbnail();
        it.insert("avatar".into(), b(&png));
    }
    touch(it, now_ms);
}

fn status_change(it: &mut Item, status: &str, now_ms: i64) {
    it.insert("status".into(), s(status));
    if let Some(h) = list_mut(it, "status_history") {
        h.push(m(map([("status", s(status)), ("at", s(iso(now_ms)))])));
    }
}

fn set_payment(it: &mut Item, status: &str) {
    if let Some(Value::Object(p)) = it.get_mut("payment").and_then(|v| v.get_mut("M")) {
        p.insert("status".into(), s(status));
    }
}

/// Cancels an order; a paid one is refunded (a negative amount), a pending one voided.
fn cancel(g: &mut Gen, it: &mut Item, paid: bool, now_ms: i64) {
    status_change(it, "CANCELLED", now_ms);
    it.insert("cancel_reason".into(), s(g.pick(names::CANCEL_REASONS)));
    it.insert("cancelled_at".into(), s(iso(now_ms)));
    if paid {
        let refund = match it
            .get("total")
            .and_then(|t| t.get("N"))
            .and_then(Value::as_str)
        {
            Some(t) if t != "0" => format!("-{t}"),
            _ => "0".to_owned(),
        };
        it.insert("refund_amount".into(), n(refund));
        set_payment(it, "refunded");
    } else {
        set_payment(it, "voided");
    }
}

/// An order change, driven by its status: PENDING -> PAID -> SHIPPED -> DELIVERED, or
/// CANCELLED from PENDING/PAID; a pending basket may grow by a line.
pub(crate) fn order(g: &mut Gen, it: &mut Item, now_ms: i64) {
    let status = get_s(it, "status").unwrap_or("PENDING").to_owned();
    let r: f64 = g.rng.gen();
    match status.as_str() {
        "PENDING" if r < 0.30 && json_len(it) + 400 < order_line_budget(g) => {
            let lines = list_mut(it, "lines").map_or(0, |x| x.len());
            let currency = text(it, "currency");
            let line = order_line(g, lines + 1, &currency);
            if let Some(x) = list_mut(it, "lines") {
                x.push(line);
            }
            recompute_order(g, it);
        }
        "PENDING" if r < 0.88 => {
            status_change(it, "PAID", now_ms);
            set_payment(it, "captured");
            it.insert("paid_at".into(), s(iso(now_ms)));
            if let Some(Value::Object(p)) = it.get_mut("payment").and_then(|v| v.get_mut("M")) {
                p.insert("auth_code".into(), s(g.pattern("@@####")));
            }
        }
        "PENDING" if r < 0.95 => cancel(g, it, false, now_ms),
        "PAID" if r < 0.08 => cancel(g, it, true, now_ms),
        "PENDING" => {
            it.insert("notes".into(), s(g.pick(names::DELIVERY_NOTES)));
        }
        "PAID" if r < 0.85 => {
            status_change(it, "SHIPPED", now_ms);
            let (carrier, prefix) = g.pick(names::CARRIERS);
            let number = format!("{prefix}{}", g.pattern("################"));
            it.insert(
                "tracking".into(),
                m(map([
                    ("carrier", s(carrier)),
                    ("number", s(number)),
                    ("events", l(Vec::new())),
                ])),
            );
            it.insert("shipped_at".into(), s(iso(now_ms)));
            let days = g.rng.gen_range(2..=7);
            it.insert("expected_delivery".into(), s(days_later(now_ms, days)));
        }
        "PAID" => {
            it.insert(
                "fraud_score".into(),
                n(format!("0.{:03}", g.rng.gen_range(1..=999))),
            );
        }
        "SHIPPED" if r < 0.6 => {
            status_change(it, "DELIVERED", now_ms);
            it.insert("delivered_at".into(), s(iso(now_ms)));
            if g.chance(0.7) {
                let sig = blob::signature(&mut g.rng);
                it.insert("delivery_signature".into(), b(&sig));
            } else {
                it.insert("delivery_signature".into(), null());
            }
        }
        "SHIPPED" => {
            let location = g.city().name;
            let event = g.pick(&[
                "departed_facility",
                "arrived_at_facility",
                "out_for_delivery",
                "in_transit",
            ]);
            if let Some(Value::Object(t)) = it.get_mut("tracking").and_then(|v| v.get_mut("M")) {
                if let Some(Value::Array(ev)) = t.get_mut("events").and_then(|v| v.get_mut("L")) {
                    if ev.len() < 8 {
                        ev.push(m(map([
                            ("at", s(iso(now_ms))),
                            ("event", s(event)),
                            ("location", s(location)),
                        ])));
                    }
                }
            }
        }
        "DELIVERED" if r < 0.3 && !it.contains_key("return_requested") => {
            it.insert("return_requested".into(), bool_(true));
            it.insert(
                "return_reason".into(),
                s(g.pick(&["wrong_size", "damaged", "not_as_described", "changed_mind"])),
            );
        }
        "DELIVERED" => {
            it.insert("review_requested_at".into(), s(iso(now_ms)));
        }
        _ => {
            it.insert("archived".into(), bool_(true));
        }
    }
    touch(it, now_ms);
}

/// A cart change: add a line, change a quantity, or remove a line; every change slides
/// the TTL.
pub(crate) fn cart(g: &mut Gen, it: &mut Item, now_ms: i64) {
    let r: f64 = g.rng.gen();
    let len = list_mut(it, "lines").map_or(0, |x| x.len());
    if r < 0.6 && len < 20 && json_len(it) + 300 < g.max_item_bytes {
        let currency = text(it, "currency");
        let line = cart_line(g, now_ms, &currency);
        if let Some(x) = list_mut(it, "lines") {
            x.push(line);
        }
    } else if r < 0.85 || len <= 1 {
        let i = g.rng.gen_range(0..len.max(1));
        let q = g.rng.gen_range(1..=4);
        if let Some(Value::Object(line)) = list_mut(it, "lines")
            .and_then(|x| x.get_mut(i))
            .and_then(|v| v.get_mut("M"))
        {
            line.insert("qty".into(), n_int(q));
        }
    } else {
        let i = g.rng.gen_range(0..len);
        if let Some(x) = list_mut(it, "lines") {
            x.remove(i);
        }
    }
    recompute_cart(it);
    it.insert(
        "expires_at".into(),
        n_int(now_ms / 1000 + g.rng.gen_range(3_600..=172_800)),
    );
    touch(it, now_ms);
}

/// A request in a session: last seen, page views, sliding expiry; sometimes a login.
pub(crate) fn session(g: &mut Gen, it: &mut Item, now_ms: i64) {
    it.insert("last_seen_at".into(), s(iso(now_ms)));
    let pv = int(it, "page_views") + g.rng.gen_range(1..=8);
    it.insert("page_views".into(), n_int(pv));
    it.insert("expires_at".into(), n_int(session_expiry(g, now_ms)));
    if g.chance(0.1) {
        it.insert("authenticated".into(), bool_(true));
    }
    if g.chance(0.1) {
        let sku = g.product().sku.clone();
        it.insert("last_viewed_sku".into(), s(sku));
    }
}

/// A review change: helpful votes, a merchant reply, an edit, a report.
pub(crate) fn review(g: &mut Gen, it: &mut Item, now_ms: i64) {
    let r: f64 = g.rng.gen();
    if r < 0.7 {
        let v = int(it, "helpful_votes") + g.rng.gen_range(1..=3);
        it.insert("helpful_votes".into(), n_int(v));
        return;
    }
    if r < 0.8 {
        it.insert(
            "merchant_reply".into(),
            m(map([
                ("text", s(g.pick(names::MERCHANT_REPLIES))),
                ("at", s(iso(now_ms))),
            ])),
        );
    } else if r < 0.9 {
        let mut body = text(it, "body");
        if body.len() < 1_500 {
            body.push_str(" Update: ");
            body.push_str(g.pick(names::REVIEW_SENTENCES));
        }
        it.insert("body".into(), s(body));
        it.insert("edited".into(), bool_(true));
    } else {
        it.insert("reported".into(), bool_(true));
    }
    touch(it, now_ms);
}
