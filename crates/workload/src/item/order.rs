//! Orders: priced lines in the customer's currency, totals recomputed from the lines, and the
//! size budget that keeps an order under DynamoDB's 400 KB after its whole lifecycle.

use super::*;

/// A catalogue price (in US cents) in `currency`'s minor units, rounded the way shops price:
/// to .99 (or to 10 yen, which has no minor unit).
pub(crate) fn local_price(usd_cents: i64, currency: &str) -> i64 {
    let per_usd_milli: i64 = match currency {
        "EUR" => 920,
        "GBP" => 790,
        "CAD" => 1_370,
        "AUD" => 1_530,
        "NZD" => 1_680,
        "CHF" => 880,
        "SEK" => 10_500,
        "BRL" => 5_400,
        "JPY" => 150_000,
        _ => return usd_cents,
    };
    let local = usd_cents * per_usd_milli / 1_000;
    if currency == "JPY" {
        // Yen prices have no decimals: money() of a multiple of 100 prints an integer.
        (local / 1_000).max(1) * 1_000
    } else {
        (local / 100 + 1) * 100 - 1
    }
}

/// An order line as a map, priced in `currency`. `line_no` is 1-based.
pub(crate) fn order_line(g: &mut Gen, line_no: usize, currency: &str) -> Value {
    let p: Product = g.product().clone();
    let price = local_price(p.price_cents, currency);
    let qty: i64 = if g.chance(0.8) {
        1
    } else {
        g.rng.gen_range(2..=6)
    };
    let mut line = map([
        ("line_no", n_int(line_no as i64)),
        ("sku", s(p.sku)),
        ("name", s(p.name)),
        ("category", s(p.category)),
        ("qty", n_int(qty)),
        ("unit_price", n(money(price))),
        ("line_total", n(money(price * qty))),
    ]);
    if let Some(c) = p.color {
        line.insert("color".into(), s(c));
    }
    if let Some(sz) = p.size {
        line.insert("size".into(), s(sz));
    }
    if g.chance(0.05) {
        line.insert("backordered".into(), bool_(true));
    }
    m(line)
}

/// How many lines a new order has: most have one to three, a long tail has dozens
/// (B2B and wholesale baskets), which makes the 10–20 KB items.
fn line_count(g: &mut Gen) -> usize {
    let r: f64 = g.rng.gen();
    if r < 0.70 {
        g.rng.gen_range(1..=3)
    } else if r < 0.90 {
        g.rng.gen_range(4..=10)
    } else if r < 0.98 {
        g.rng.gen_range(11..=40)
    } else {
        g.rng.gen_range(41..=110)
    }
}

fn tax_rate(country: &str) -> &'static str {
    match country {
        "US" => "0.0825",
        "CA" => "0.13",
        "GB" | "AT" | "FR" => "0.2",
        "DE" => "0.19",
        "IE" => "0.23",
        "CH" => "0.081",
        "ES" | "NL" => "0.21",
        "IT" | "PT" => "0.22",
        "SE" => "0.25",
        "JP" => "0.1",
        "AU" | "NZ" => "0.1",
        "BR" => "0.17",
        _ => "0.1",
    }
}

/// A new PENDING order of `customer`.
pub(crate) fn order(g: &mut Gen, c: &Customer, now_ms: i64) -> NewItem {
    let order_no = g.next_order_no;
    g.next_order_no += g.rng.gen_range(1..=3);
    let order_id = format!("{order_no}");
    let lines: Vec<Value> = (1..=line_count(g))
        .map(|i| order_line(g, i, &c.currency))
        .collect();
    let channel = g.pick(&["web", "web", "web", "ios", "android"]);
    let mut it = map([
        ("entity", s("ORDER")),
        ("order_id", s(order_id.clone())),
        ("customer_id", s(format!("USER#{}", c.user_id))),
        ("customer_email", s(c.email.clone())),
        ("status", s("PENDING")),
        (
            "status_history",
            l(vec![m(map([
                ("status", s("PENDING")),
                ("at", s(iso(now_ms))),
            ]))]),
        ),
        ("created_at", s(iso(now_ms))),
        ("updated_at", s(iso(now_ms))),
        ("currency", s(c.currency.clone())),
        ("tax_rate", n(tax_rate(&c.country))),
        ("lines", l(lines)),
        ("billing_same_as_shipping", bool_(g.chance(0.85))),
        ("ledger_id", n(g.ledger_id())),
        ("channel", s(channel)),
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
    ]);
    if let Some(a) = &c.address {
        it.insert("shipping_address".into(), a.clone());
    }
    let method = g.pick(names::PAYMENT_METHODS);
    let mut payment = map([("method", s(method)), ("status", s("pending"))]);
    if method == "card" {
        payment.insert("card_brand".into(), s(g.pick(names::CARD_BRANDS)));
        payment.insert(
            "last4".into(),
            s(format!("{:04}", g.rng.gen_range(0..10_000))),
        );
        payment.insert("exp".into(), s(g.pattern("##/2#")));
    }
    it.insert("payment".into(), m(payment));
    let gift = g.chance(0.08);
    it.insert("gift".into(), bool_(gift));
    it.insert(
        "gift_message".into(),
        if gift {
            s(g.pick(names::GIFT_MESSAGES))
        } else {
            null()
        },
    );
    it.insert(
        "notes".into(),
        if g.chance(0.15) {
            s(g.pick(names::DELIVERY_NOTES))
        } else {
            null()
        },
    );
    if g.chance(0.15) {
        let k = g.rng.gen_range(1..=2);
        it.insert(
            "coupon_codes".into(),
            ss(pick_distinct(g, names::COUPONS, k)),
        );
    }
    let sk = SortKey {
        text: "DETAILS".into(),
        num: 0,
    };
    let mut new = keyed(g, Kind::Order, format!("ORDER#{order_id}"), sk, it);
    recompute_order(g, &mut new.item);
    trim_lines(g, &mut new.item);
    new
}

/// Bytes of JSON an order may still gain after its lines are final: status history,
/// payment, tracking events, a delivery signature, cancellation or return details. Lines
/// stop at `max_item_bytes` minus this, so a finished order still fits the limit.
const ORDER_LIFECYCLE_HEADROOM: usize = 3_500;

/// The JSON length an order's lines may fill, see [`ORDER_LIFECYCLE_HEADROOM`].
pub(crate) fn order_line_budget(g: &Gen) -> usize {
    g.max_item_bytes.saturating_sub(ORDER_LIFECYCLE_HEADROOM)
}

/// Keeps an order within [`order_line_budget`] by dropping lines from the end.
fn trim_lines(g: &mut Gen, item: &mut Item) {
    loop {
        let len = json_len(item);
        let budget = order_line_budget(g);
        if len <= budget {
            return;
        }
        let Some(Value::Array(lines)) = item.get_mut("lines").and_then(|v| v.get_mut("L")) else {
            return;
        };
        if lines.len() <= 1 {
            return;
        }
        let avg = (len / (lines.len() + 4)).max(1);
        let drop = (len - budget).div_ceil(avg).clamp(1, lines.len() - 1);
        lines.truncate(lines.len() - drop);
        recompute_order(g, item);
    }
}

/// Parses a DynamoDB decimal ("19.9", "20", "-3.05") into cents.
pub(crate) fn cents(x: &str) -> i64 {
    fixed(x, 2)
}

/// Parses a plain decimal into an integer of `decimals` fixed places (extra digits dropped).
pub(super) fn fixed(x: &str, decimals: u32) -> i64 {
    let neg = x.starts_with('-');
    let x = x.trim_start_matches('-');
    let (whole, frac) = x.split_once('.').unwrap_or((x, ""));
    let mut v = whole.parse::<i64>().unwrap_or(0);
    let mut digits = frac.bytes();
    for _ in 0..decimals {
        let d = digits
            .next()
            .map_or(0, |d| i64::from(d.wrapping_sub(b'0') % 10));
        v = v * 10 + d;
    }
    if neg {
        -v
    } else {
        v
    }
}

pub(crate) fn num_str<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get("M")
        .and_then(|m| m.get(name))
        .and_then(|x| x.get("N"))
        .and_then(Value::as_str)
        .unwrap_or("0")
}

/// Recomputes item_count, subtotal, shipping, tax, discount, total and weight from the lines,
/// as an order service does on every change to the basket.
pub(crate) fn recompute_order(g: &mut Gen, item: &mut Item) {
    let (mut count, mut subtotal) = (0i64, 0i64);
    if let Some(Value::Array(lines)) = item.get("lines").and_then(|v| v.get("L")) {
        for line in lines {
            count += num_str(line, "qty").parse::<i64>().unwrap_or(0);
            subtotal += cents(num_str(line, "line_total"));
        }
    }
    let rate_e4 = fixed(
        item.get("tax_rate")
            .and_then(|v| v.get("N"))
            .and_then(Value::as_str)
            .unwrap_or("0"),
        4,
    ); // 0.0825 -> 825
    let shipping = if subtotal >= 7_500 { 0 } else { 595 };
    let discount = if item.contains_key("coupon_codes") {
        subtotal / 10
    } else {
        0
    };
    let tax = (subtotal - discount) * rate_e4 / 10_000;
    item.insert("item_count".into(), n_int(count));
    item.insert("subtotal".into(), n(money(subtotal)));
    item.insert("shipping".into(), n(money(shipping)));
    item.insert("discount".into(), n(money(discount)));
    item.insert("tax".into(), n(money(tax)));
    item.insert(
        "total".into(),
        n(money(subtotal - discount + shipping + tax)),
    );
    let grams = 200 + count * 350;
    // Rarely spelled in exponent form, as a client may send it and moto keeps it.
    let w = if g.chance(0.01) {
        exponent_form(grams / 10 * 10)
    } else {
        grams.to_string()
    };
    item.insert("weight_grams".into(), n(w));
}
