//! Word lists the generator draws from.
//!
//! Why lists of real-looking words rather than random strings: compression ratios (zstd over
//! Parquet pages, gzip over JSON lines) depend on how repetitive the data is. Random strings
//! would make every format look equally bad; a handful of repeated tokens would make them all
//! look too good. Real tables sit in between: many distinct names and addresses drawn from a
//! limited vocabulary, a skewed product catalogue, repeated enum values.

/// A place an address can be in: everything that varies by country travels together so an
/// address, its phone number, currency and language stay consistent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct City {
    pub name: &'static str,
    pub region: &'static str,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    /// `#` is a digit, `@` an upper-case letter, anything else literal.
    pub postcode: &'static str,
    /// `#` is a digit, anything else literal.
    pub phone: &'static str,
    pub currency: &'static str,
    pub language: &'static str,
    /// How addresses are written there.
    pub street_style: StreetStyle,
}

/// How a street address is written in a country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreetStyle {
    /// `1234 Maple Street`
    English,
    /// `Lindenstraße 12`
    German,
    /// `12 rue des Lilas`
    French,
    /// `Calle Mayor, 12`
    Spanish,
    /// `Via Roma 12`
    Italian,
    /// `Keizersgracht 12`
    Dutch,
    /// `Storgatan 12`
    Swedish,
    /// `1-2-3 Jingumae`
    Japanese,
    /// `Rua Augusta, 1234`
    Portuguese,
}

// One argument per column of the table below.
#[allow(clippy::too_many_arguments)]
const fn city(
    name: &'static str,
    region: &'static str,
    country: &'static str,
    postcode: &'static str,
    phone: &'static str,
    currency: &'static str,
    language: &'static str,
    street_style: StreetStyle,
) -> City {
    City {
        name,
        region,
        country,
        postcode,
        phone,
        currency,
        language,
        street_style,
    }
}

use StreetStyle::*;

/// Weighted towards the US, as a typical shop's customer base is.
pub(crate) const CITIES: &[City] = &[
    city("San Francisco", "CA", "US", "941##", "+1 415-###-####", "USD", "en-US", English),
    city("Los Angeles", "CA", "US", "900##", "+1 213-###-####", "USD", "en-US", English),
    city("Seattle", "WA", "US", "981##", "+1 206-###-####", "USD", "en-US", English),
    city("Portland", "OR", "US", "972##", "+1 503-###-####", "USD", "en-US", English),
    city("Austin", "TX", "US", "787##", "+1 512-###-####", "USD", "en-US", English),
    city("Houston", "TX", "US", "770##", "+1 713-###-####", "USD", "en-US", English),
    city("Denver", "CO", "US", "802##", "+1 303-###-####", "USD", "en-US", English),
    city("Chicago", "IL", "US", "606##", "+1 312-###-####", "USD", "en-US", English),
    city("New York", "NY", "US", "100##", "+1 212-###-####", "USD", "en-US", English),
    city("Brooklyn", "NY", "US", "112##", "+1 718-###-####", "USD", "en-US", English),
    city("Boston", "MA", "US", "021##", "+1 617-###-####", "USD", "en-US", English),
    city("Atlanta", "GA", "US", "303##", "+1 404-###-####", "USD", "en-US", English),
    city("Miami", "FL", "US", "331##", "+1 305-###-####", "USD", "en-US", English),
    city("Minneapolis", "MN", "US", "554##", "+1 612-###-####", "USD", "en-US", English),
    city("Phoenix", "AZ", "US", "850##", "+1 602-###-####", "USD", "en-US", English),
    city("Raleigh", "NC", "US", "276##", "+1 919-###-####", "USD", "en-US", English),
    city("Toronto", "ON", "CA", "M#@ #@#", "+1 416-###-####", "CAD", "en-CA", English),
    city("Vancouver", "BC", "CA", "V#@ #@#", "+1 604-###-####", "CAD", "en-CA", English),
    city("Montréal", "QC", "CA", "H#@ #@#", "+1 514-###-####", "CAD", "fr-CA", French),
    city("London", "England", "GB", "@@# #@@", "+44 20 #### ####", "GBP", "en-GB", English),
    city("Manchester", "England", "GB", "M## #@@", "+44 161 ### ####", "GBP", "en-GB", English),
    city("Edinburgh", "Scotland", "GB", "EH# #@@", "+44 131 ### ####", "GBP", "en-GB", English),
    city("Dublin", "Leinster", "IE", "D## @#@#", "+353 1 ### ####", "EUR", "en-IE", English),
    city("Berlin", "Berlin", "DE", "10###", "+49 30 ########", "EUR", "de-DE", German),
    city("München", "Bayern", "DE", "80###", "+49 89 ########", "EUR", "de-DE", German),
    city("Hamburg", "Hamburg", "DE", "20###", "+49 40 ########", "EUR", "de-DE", German),
    city("Köln", "Nordrhein-Westfalen", "DE", "50###", "+49 221 #######", "EUR", "de-DE", German),
    city("Wien", "Wien", "AT", "1###", "+43 1 #######", "EUR", "de-AT", German),
    city("Zürich", "ZH", "CH", "8###", "+41 44 ### ## ##", "CHF", "de-CH", German),
    city("Paris", "Île-de-France", "FR", "750##", "+33 1 ## ## ## ##", "EUR", "fr-FR", French),
    city("Lyon", "Auvergne-Rhône-Alpes", "FR", "690##", "+33 4 ## ## ## ##", "EUR", "fr-FR", French),
    city("Madrid", "Madrid", "ES", "280##", "+34 91 ### ## ##", "EUR", "es-ES", Spanish),
    city("Barcelona", "Cataluña", "ES", "080##", "+34 93 ### ## ##", "EUR", "es-ES", Spanish),
    city("Milano", "Lombardia", "IT", "201##", "+39 02 #### ####", "EUR", "it-IT", Italian),
    city("Roma", "Lazio", "IT", "001##", "+39 06 #### ####", "EUR", "it-IT", Italian),
    city("Amsterdam", "Noord-Holland", "NL", "10## @@", "+31 20 ### ####", "EUR", "nl-NL", Dutch),
    city("Utrecht", "Utrecht", "NL", "35## @@", "+31 30 ### ####", "EUR", "nl-NL", Dutch),
    city("Stockholm", "Stockholm", "SE", "11# ##", "+46 8 ### ### ##", "SEK", "sv-SE", Swedish),
    city("Göteborg", "Västra Götaland", "SE", "41# ##", "+46 31 ### ## ##", "SEK", "sv-SE", Swedish),
    city("Tokyo", "Tokyo", "JP", "1##-####", "+81 3-####-####", "JPY", "ja-JP", Japanese),
    city("Osaka", "Osaka", "JP", "5##-####", "+81 6-####-####", "JPY", "ja-JP", Japanese),
    city("Sydney", "NSW", "AU", "20##", "+61 2 #### ####", "AUD", "en-AU", English),
    city("Melbourne", "VIC", "AU", "30##", "+61 3 #### ####", "AUD", "en-AU", English),
    city("Auckland", "Auckland", "NZ", "10##", "+64 9 ### ####", "NZD", "en-NZ", English),
    city("São Paulo", "SP", "BR", "01###-###", "+55 11 9####-####", "BRL", "pt-BR", Portuguese),
    city("Lisboa", "Lisboa", "PT", "1###-###", "+351 21 ### ####", "EUR", "pt-PT", Portuguese),
];

/// Street names by [`StreetStyle`]; the style decides where the house number goes.
pub(crate) fn streets(style: StreetStyle) -> &'static [&'static str] {
    match style {
        English => &[
            "Maple Street", "Oak Avenue", "Pine Road", "Cedar Lane", "Elm Street",
            "Washington Avenue", "Lake Shore Drive", "Park Place", "Hillcrest Road",
            "Sunset Boulevard", "Mission Street", "Valencia Street", "High Street", "Church Road",
            "Station Road", "Victoria Road", "Kings Road", "Queen Street", "Mill Lane",
            "River Road", "Broadway", "Main Street", "Highland Avenue", "Willow Way",
            "Chestnut Street", "Walnut Street", "Market Street", "Franklin Avenue",
            "Jefferson Street", "Spring Garden Street", "Bay Street", "Harbour Road",
        ],
        German => &[
            "Hauptstraße", "Lindenstraße", "Bahnhofstraße", "Gartenstraße", "Schillerstraße",
            "Goethestraße", "Friedrichstraße", "Kastanienallee", "Schönhauser Allee", "Bergstraße",
            "Am Markt", "Rosenweg", "Kirchgasse", "Mozartstraße", "Wiener Straße",
        ],
        French => &[
            "rue de la Paix", "rue des Lilas", "avenue Victor Hugo", "boulevard Saint-Germain",
            "rue de Rivoli", "rue du Faubourg Saint-Antoine", "rue Oberkampf",
            "quai de la Tournelle", "rue de la République", "avenue Jean Jaurès", "rue Saint-Denis",
            "rue Sainte-Catherine",
        ],
        Spanish => &[
            "Calle Mayor", "Calle de Alcalá", "Gran Vía", "Paseo de Gracia", "Calle de Serrano",
            "Avenida Diagonal", "Carrer de Provença", "Calle de Toledo", "Rambla de Catalunya",
        ],
        Italian => &[
            "Via Roma", "Corso Buenos Aires", "Via Garibaldi", "Via Dante", "Via Torino",
            "Corso Vittorio Emanuele II", "Via del Corso", "Via Nazionale", "Viale Monza",
        ],
        Dutch => &[
            "Keizersgracht", "Prinsengracht", "Herengracht", "Oudegracht", "Damrak", "Overtoom",
            "Ferdinand Bolstraat", "Kinkerstraat", "Biltstraat",
        ],
        Swedish => &[
            "Storgatan", "Drottninggatan", "Götgatan", "Kungsgatan", "Sveavägen", "Hornsgatan",
            "Linnégatan", "Vasagatan",
        ],
        Japanese => &[
            "Jingumae", "Shibuya", "Ebisu", "Ginza", "Umeda", "Namba", "Shinsaibashi", "Roppongi",
            "Aoyama", "Nakameguro",
        ],
        Portuguese => &[
            "Rua Augusta", "Avenida Paulista", "Rua Oscar Freire", "Rua da Prata",
            "Avenida da Liberdade", "Rua Haddock Lobo", "Rua Garrett",
        ],
    }
}

pub(crate) const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Amelia",
    "Harper", "Evelyn", "Abigail", "Liam", "Noah", "Oliver", "Elijah", "Lucas", "Mason", "Logan",
    "Ethan", "Aiden", "Jackson", "Hannah", "Lena", "Lukas", "Jonas", "Leon", "Finn", "Marie",
    "Sophie", "Paul", "Felix", "Camille", "Léa", "Chloé", "Hugo", "Louis", "Jules", "Manon", "Inès",
    "Arthur", "Raphaël", "Lucía", "Martina", "Mateo", "Santiago", "Valentina", "Sofía", "Diego",
    "Alejandro", "Carmen", "Javier", "Giulia", "Francesca", "Alessandro", "Lorenzo", "Matteo",
    "Chiara", "Sven", "Astrid", "Erik", "Ingrid", "Daan", "Sanne", "Bram", "Femke", "Haruto", "Yui",
    "Sota", "Hina", "Ren", "Aoi", "Priya", "Arjun", "Ananya", "Rohan", "Wei", "Mei", "Jun",
    "Min-jun", "Seo-yeon", "Ji-woo", "Gabriel", "Ana", "João", "Beatriz", "Pedro", "Larissa",
    "Fatima", "Omar", "Amara", "Kwame", "Aisha", "Yusuf", "Zara", "Nia", "Malik", "Chen", "Sakura",
    "Ingvild", "Niamh", "Siobhan",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer",
    "Wagner", "Becker", "Schulz", "Hoffmann", "Dubois", "Moreau", "Laurent", "Lefebvre", "Girard",
    "Bonnet", "Fontaine", "Rousseau", "Lambert", "Mercier", "Fernández", "González", "Rodríguez",
    "López", "Martínez", "Sánchez", "Romero", "Navarro", "Ruiz", "Díaz", "Rossi", "Russo",
    "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "de Vries",
    "van den Berg", "Jansen", "Bakker", "Visser", "Andersson", "Johansson", "Karlsson", "Nilsson",
    "Larsson", "Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
    "Kobayashi", "Kato", "Patel", "Sharma", "Singh", "Kumar", "Gupta", "Wang", "Li", "Zhang", "Liu",
    "Chen", "Kim", "Park", "Choi", "Silva", "Santos", "Oliveira", "Souza", "Costa", "O'Brien",
    "Murphy", "Kelly", "O'Connor", "MacDonald", "Okafor", "Mensah", "Haddad", "Khan", "Ahmed",
    "Ali", "Cohen",
];

pub(crate) const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com", "gmail.com", "gmail.com", "gmail.com", "outlook.com", "hotmail.com", "yahoo.com",
    "icloud.com", "icloud.com", "proton.me", "gmx.de", "web.de", "orange.fr", "libero.it",
    "yahoo.co.jp", "fastmail.com", "live.co.uk", "bigpond.com",
];

/// Catalogue: (category, product nouns, price range in cents).
pub(crate) const CATEGORIES: &[(&str, &[&str], (i64, i64))] = &[
    (
        "Apparel",
        &[
            "Crew Sweater", "Oxford Shirt", "Chino Pants", "Denim Jacket", "Hoodie", "Linen Shirt",
            "Puffer Vest", "Rain Jacket", "Polo Shirt", "Cardigan", "T-Shirt", "Joggers",
        ],
        (1500, 24900),
    ),
    (
        "Footwear",
        &[
            "Running Shoe", "Trail Runner", "Leather Boot", "Canvas Sneaker", "Loafer", "Sandal",
            "Hiking Boot", "Slip-On",
        ],
        (3900, 22900),
    ),
    (
        "Home",
        &[
            "Ceramic Mug", "Linen Duvet Cover", "Throw Blanket", "Scented Candle",
            "Cast Iron Skillet", "Chef's Knife", "Cutting Board", "Table Lamp", "Bath Towel Set",
            "French Press",
        ],
        (900, 18900),
    ),
    (
        "Electronics",
        &[
            "Wireless Earbuds", "USB-C Charger", "Bluetooth Speaker", "Phone Case",
            "Mechanical Keyboard", "Webcam", "Smart Plug", "Power Bank",
            "Noise-Cancelling Headphones",
        ],
        (1200, 34900),
    ),
    (
        "Outdoor",
        &[
            "Daypack", "Water Bottle", "Camping Mug", "Headlamp", "Trekking Poles", "Sleeping Bag",
            "Tent Footprint", "Insulated Flask",
        ],
        (1400, 29900),
    ),
    (
        "Beauty",
        &[
            "Face Serum", "Hand Cream", "Lip Balm", "Shampoo Bar", "Sunscreen SPF 50", "Body Wash",
            "Beard Oil",
        ],
        (500, 6900),
    ),
    (
        "Grocery",
        &[
            "Single-Origin Coffee Beans", "Matcha Powder", "Dark Chocolate Bar", "Olive Oil",
            "Granola", "Loose Leaf Tea", "Maple Syrup", "Hot Sauce",
        ],
        (350, 3900),
    ),
    (
        "Books",
        &[
            "Hardcover Notebook", "Cookbook", "Travel Guide", "Field Journal", "Planner 2027",
        ],
        (800, 4500),
    ),
];

pub(crate) const BRANDS: &[&str] = &[
    "Northwind", "Alder & Oak", "Fjällfolk", "Bluecrest", "Everlane Works", "Kestrel", "Marlow",
    "Summit Supply", "Halcyon", "Tidewater", "Copperleaf", "Ironbark", "Lumen", "Nordhavn",
    "Saltwater Co.", "Wildgrain", "Pinecone Labs", "Stellar Audio", "Urban Roast", "Mesa Verde",
];

pub(crate) const MATERIALS: &[&str] = &[
    "Merino", "Organic Cotton", "Recycled", "Classic", "Heritage", "Lightweight", "Everyday",
    "Premium", "Essential", "Performance", "Waxed", "Bamboo", "Vintage", "Slim", "Relaxed",
];

pub(crate) const COLORS: &[(&str, &str)] = &[
    ("BLK", "Black"), ("WHT", "White"), ("NVY", "Navy"), ("GRY", "Heather Grey"), ("OLV", "Olive"),
    ("RST", "Rust"), ("SND", "Sand"), ("FOR", "Forest Green"), ("BRG", "Burgundy"),
    ("SKY", "Sky Blue"),
];

pub(crate) const SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "XXL"];

pub(crate) const TIERS: &[&str] = &[
    "BRONZE", "BRONZE", "BRONZE", "SILVER", "SILVER", "GOLD", "PLATINUM",
];

pub(crate) const CUSTOMER_TAGS: &[&str] = &[
    "newsletter", "vip", "early-adopter", "b2b", "student", "wholesale", "returning", "gift-buyer",
    "high-return-rate", "loyalty-member", "app-user", "black-friday-2026", "referral",
    "eco-conscious",
];

pub(crate) const REFERRERS: &[&str] = &[
    "google", "instagram", "newsletter", "tiktok", "friend-referral", "podcast", "pinterest",
    "affiliate",
];

pub(crate) const CARRIERS: &[(&str, &str)] = &[
    ("UPS", "1Z"), ("FedEx", "7"), ("USPS", "94"), ("DHL", "JD"), ("Royal Mail", "RM"),
    ("DPD", "15"), ("PostNL", "3S"), ("Japan Post", "EJ"),
];

pub(crate) const PAYMENT_METHODS: &[&str] = &[
    "card", "card", "card", "card", "paypal", "apple_pay", "google_pay", "klarna",
];

pub(crate) const CARD_BRANDS: &[&str] = &[
    "visa", "visa", "mastercard", "mastercard", "amex", "discover",
];

pub(crate) const COUPONS: &[&str] = &[
    "WELCOME10", "FREESHIP", "SPRING15", "VIP20", "BF2026", "CYBER25", "LOYAL5", "BUNDLE3",
];

pub(crate) const CANCEL_REASONS: &[&str] = &[
    "customer_request", "payment_failed", "out_of_stock", "fraud_suspected", "duplicate_order",
    "address_unverifiable",
];

pub(crate) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "ShopApp/4.12.0 (iPhone15,2; iOS 18.1; Scale/3.00)", "ShopApp/4.11.3 (Android 14; SM-S918B)",
];

/// (device type, os) pairs matching [`USER_AGENTS`] loosely.
pub(crate) const DEVICES: &[(&str, &str)] = &[
    ("desktop", "macOS"), ("desktop", "Windows"), ("mobile", "iOS"), ("mobile", "Android"),
    ("desktop", "Linux"), ("desktop", "Windows"), ("app", "iOS"), ("app", "Android"),
];

pub(crate) const REVIEW_TITLES: &[&str] = &[
    "Exactly what I needed", "Great quality for the price", "Runs a little small", "Love it!",
    "Not as pictured", "Would buy again", "Solid, but shipping was slow", "Five stars",
    "Disappointed", "Better than expected", "Perfect gift", "Decent, nothing special",
];

pub(crate) const REVIEW_SENTENCES: &[&str] = &[
    "The material feels sturdy and well made.", "It arrived two days earlier than promised.",
    "The color is slightly darker than in the photos.",
    "I ordered my usual size and it fits perfectly.",
    "After a month of daily use it still looks new.",
    "Packaging was minimal and fully recyclable, which I appreciate.",
    "Customer service answered my question within an hour.",
    "The stitching came loose after the second wash.",
    "Honestly the best purchase I have made this year.",
    "It does the job, but I expected a bit more for this price.",
    "My partner liked it so much that I ordered a second one.",
    "Instructions were unclear, but setup took only ten minutes.",
    "Battery life is excellent, easily two full days.",
    "The box was damaged in transit but the product was fine.",
    "Smells amazing and a little goes a long way.",
    "Comfortable right out of the box, no break-in needed.",
    "I had to return the first one because of a defect; the replacement is perfect.",
    "Not great, not terrible.", "Would recommend to anyone looking for a reliable everyday option.",
    "The zipper feels cheap compared to the rest of the jacket.",
];

pub(crate) const MERCHANT_REPLIES: &[&str] = &[
    "Thank you for your feedback! We're glad you enjoy it.",
    "We're sorry to hear that. Our support team will reach out to you shortly.",
    "Thanks for taking the time to write a review.",
    "We've passed your comments on to our product team.",
];

pub(crate) const GIFT_MESSAGES: &[&str] = &[
    "Happy birthday! Love, M.", "Congratulations on the new place!",
    "Merry Christmas from all of us", "Thinking of you", "Thank you for everything",
    "Happy anniversary ❤",
];

pub(crate) const DELIVERY_NOTES: &[&str] = &[
    "Leave at the back door", "Ring the bell twice", "Deliver to reception", "Call on arrival",
    "Leave with neighbour at no. 12", "Do not leave unattended",
];
