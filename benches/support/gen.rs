//! A reproducible generator of realistic customer users for the benchmarks, and a bulk loader
//! that writes them straight into a migrated Clientele (OTOBO-shaped) `customer_user` table.
//!
//! Same seed, same `n` → the same users, byte for byte. Names come from small built-in lists
//! with accents (`José Núñez`, `Zoë Müller`, `Søren O'Brien`, …); logins and emails carry the
//! user's number, so they are unique; about one user in twenty is invalid (`valid_id` 2).
//! Users get no password (`pw` NULL): hashing is not what these benchmarks measure.
#![allow(dead_code)]

use clientele::db::sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};

/// First names, with the accents real directories hold.
pub const FIRST_NAMES: &[&str] = &[
    "Anna",
    "José",
    "Zoë",
    "Jürgen",
    "Renée",
    "Łukasz",
    "Søren",
    "Chloé",
    "Mikael",
    "Ines",
    "François",
    "Björn",
    "Ana",
    "Mateo",
    "Élodie",
    "Hannah",
    "Dmitri",
    "Agnès",
    "Oliver",
    "Lena",
    "Tomáš",
    "Małgorzata",
    "Noémie",
    "Giuseppe",
    "Sofía",
    "Kai",
    "Émile",
    "Greta",
    "Jonas",
    "Annika",
    "Raúl",
    "Marta",
    "Yusuf",
    "Aoife",
    "Henrik",
    "Camille",
    "Paolo",
    "Ingrid",
    "Matthias",
    "Leïla",
];

/// Last names, with accents and apostrophes.
pub const LAST_NAMES: &[&str] = &[
    "Müller",
    "García",
    "Núñez",
    "O'Brien",
    "Smith",
    "Dupont",
    "Schröder",
    "Kowalski",
    "Johansson",
    "Rossi",
    "Fernández",
    "Novák",
    "Østergaard",
    "Lefèvre",
    "Papadopoulos",
    "Nowak",
    "Meyer",
    "Jensen",
    "Martínez",
    "Bianchi",
    "Dubois",
    "Weiß",
    "Kovačević",
    "Ní Bhriain",
    "Hernández",
    "Schmidt",
    "Lindqvist",
    "Moreau",
    "Horváth",
    "Yılmaz",
    "Brown",
    "Wagner",
    "Costa",
    "Gonçalves",
    "Fischer",
    "Andersson",
    "Ferrari",
    "Laurent",
    "Sánchez",
    "Becker",
    "Virtanen",
    "Zieliński",
    "Hoffmann",
    "De Vries",
    "Kuznetsova",
    "Ó Súilleabháin",
    "Popescu",
    "Berg",
    "Çelik",
    "Janssen",
];

/// Company name stems; a company is a stem and a number (`acme-0042`).
pub const COMPANY_STEMS: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "soylent",
    "wonka",
    "gringotts",
    "aperture",
    "vandelay",
    "oscorp",
    "monarch",
];

/// Cities, one per user.
pub const CITIES: &[&str] = &[
    "Zürich",
    "München",
    "Kraków",
    "São Paulo",
    "Malmö",
    "Besançon",
    "Köln",
    "Århus",
    "Reykjavík",
    "Sevilla",
    "Lyon",
    "Brno",
    "Porto",
    "Graz",
    "Łódź",
    "Bergen",
];

/// One customer user as the loader writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenUser {
    pub login: String,
    pub email: String,
    pub customer_id: String,
    pub title: Option<&'static str>,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub phone: String,
    pub city: &'static str,
    pub valid_id: i16,
}

/// SplitMix64: tiny, fast and stable across platforms and releases (no dependency whose
/// stream could change under us).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<T: Copy>(&mut self, list: &[T]) -> T {
        list[self.below(list.len())]
    }
}

/// ASCII for a login or an email: accents dropped, spaces and apostrophes removed.
pub fn ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let m = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'í' | 'ì' | 'î' | 'ï' | 'ı' => "i",
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
            'ú' | 'ù' | 'û' | 'ü' => "u",
            'ñ' | 'ń' => "n",
            'ç' | 'č' => "c",
            'ł' => "l",
            'ś' | 'š' => "s",
            'ż' | 'ź' | 'ž' => "z",
            'ß' => "ss",
            'æ' => "ae",
            ' ' | '\'' => "",
            c => {
                out.push(c);
                continue;
            }
        };
        out.push_str(m);
    }
    out
}

/// How many users share one company (so `n` users have `n / USERS_PER_COMPANY` companies).
pub const USERS_PER_COMPANY: usize = 40;

/// The company id of company number `k`.
pub fn company_id(k: usize) -> String {
    format!(
        "{}-{:04}",
        COMPANY_STEMS[k % COMPANY_STEMS.len()],
        k / COMPANY_STEMS.len()
    )
}

/// User number `i` of the data set `seed`. Independent of `n`, so a larger set starts with
/// the users of a smaller one.
pub fn user(seed: u64, i: usize) -> GenUser {
    let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let first_name = rng.pick(FIRST_NAMES);
    let last_name = rng.pick(LAST_NAMES);
    let company = rng.below(1 + i / USERS_PER_COMPANY);
    let customer_id = company_id(company);
    let domain = format!("{}.example", customer_id.replace('-', ""));
    let login = format!("{}.{}{}", ascii(first_name), ascii(last_name), i);
    let email = format!("{login}@{domain}");
    let title = match rng.below(4) {
        0 => Some("Dr."),
        1 => Some("Mx."),
        _ => None,
    };
    let phone = format!(
        "+{} {} {:07}",
        30 + rng.below(20),
        100 + rng.below(900),
        rng.below(10_000_000)
    );
    let city = rng.pick(CITIES);
    let valid_id = if rng.below(20) == 0 { 2 } else { 1 };
    GenUser {
        login,
        email,
        customer_id,
        title,
        first_name,
        last_name,
        phone,
        city,
        valid_id,
    }
}

/// A SQL string literal (`'` doubled; PostgreSQL with `standard_conforming_strings`, SQLite and
/// MariaDB all read it the same way as long as the text has no backslash, which ours never has).
fn lit(s: &str) -> String {
    debug_assert!(!s.contains('\\'));
    format!("'{}'", s.replace('\'', "''"))
}

/// Rows per INSERT statement.
pub const ROWS_PER_STATEMENT: usize = 1000;
/// Statements per transaction.
pub const STATEMENTS_PER_TRANSACTION: usize = 20;

const COLUMNS: &str = "login, email, customer_id, pw, title, first_name, last_name, phone, city, \
                       valid_id, create_time, create_by, change_time, change_by";

/// One multi-row INSERT of users `range` into `customer_user`.
pub fn insert_statement(seed: u64, range: std::ops::Range<usize>) -> String {
    let mut sql = String::with_capacity(range.len() * 200);
    sql.push_str("INSERT INTO customer_user (");
    sql.push_str(COLUMNS);
    sql.push_str(") VALUES ");
    for (k, i) in range.enumerate() {
        let u = user(seed, i);
        if k > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "({},{},{},NULL,{},{},{},{},{},{},'2025-01-01 00:00:00',1,'2025-01-01 00:00:00',1)",
            lit(&u.login),
            lit(&u.email),
            lit(&u.customer_id),
            u.title.map(lit).unwrap_or_else(|| "NULL".into()),
            lit(u.first_name),
            lit(u.last_name),
            lit(&u.phone),
            lit(u.city),
            u.valid_id,
        ));
    }
    sql
}

/// Writes users `0..n` of `seed` into `customer_user` (migrated, empty) with multi-row INSERTs
/// of [`ROWS_PER_STATEMENT`] rows, [`STATEMENTS_PER_TRANSACTION`] statements per transaction.
/// Works on all three databases.
pub async fn load(conn: &DatabaseConnection, seed: u64, n: usize) -> Result<(), DbErr> {
    let mut start = 0;
    while start < n {
        let tx = conn.begin().await?;
        for _ in 0..STATEMENTS_PER_TRANSACTION {
            if start >= n {
                break;
            }
            let end = (start + ROWS_PER_STATEMENT).min(n);
            tx.execute_unprepared(&insert_statement(seed, start..end))
                .await?;
            start = end;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// One user as a CSV line without its line end: `login,email,customer_id,title,first_name,
/// last_name,phone,city,valid_id`, fields quoted where CSV needs it.
pub fn csv_fields(u: &GenUser) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    format!(
        "{},{},{},{},{},{},{},{},{}",
        field(&u.login),
        field(&u.email),
        field(&u.customer_id),
        u.title.unwrap_or(""),
        field(u.first_name),
        field(u.last_name),
        field(&u.phone),
        field(u.city),
        u.valid_id
    )
}
