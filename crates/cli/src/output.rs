//! Output: aligned tables for people, JSON for scripts, and time stamps.

use std::io::Write;

use clientele::directory::SearchPage;
use serde::Serialize;

use crate::error::CliResult;

/// A table of text cells, printed with aligned columns.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Writes the table to stdout.
    pub fn print(&self) -> CliResult {
        let mut out = std::io::stdout().lock();
        self.write(&mut out)?;
        Ok(())
    }

    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(display_width(cell));
            }
        }
        let line = |out: &mut dyn Write, row: &[String]| -> std::io::Result<()> {
            let mut text = String::new();
            for (i, cell) in row.iter().enumerate() {
                let cell = cell.replace(['\n', '\r', '\t'], " ");
                text.push_str(&cell);
                if i + 1 < row.len() {
                    let pad = widths[i].saturating_sub(display_width(&cell)) + 2;
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        if !self.header.is_empty() {
            line(out, &self.header)?;
        }
        for row in &self.rows {
            line(out, row)?;
        }
        Ok(())
    }
}

fn display_width(s: &str) -> usize {
    s.chars().count()
}

/// Prints a value as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> CliResult {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A line for people on stdout. A reader that went away (`clientele … | head`) is not an
/// error: the line is dropped.
pub fn say(text: impl AsRef<str>) {
    let _ = writeln!(std::io::stdout().lock(), "{}", text.as_ref());
}

/// Tells on standard error what a page of search results does not show: each source that was
/// left out, and that more matched than the limit. Standard output keeps only the rows.
pub fn page_notes<T>(page: &SearchPage<T>) {
    let mut err = std::io::stderr().lock();
    for m in &page.missing_sources {
        let _ = writeln!(
            err,
            "warning: source {:?} was left out, its users are missing from this list: {}",
            m.source, m.reason
        );
    }
    if page.more_matched {
        let _ = writeln!(err, "{} shown, more match — raise --limit", page.hits.len());
    }
}

/// A page of search results as one JSON object (`--envelope`): the rows under `key`, the
/// limit applied, whether more matched, and the sources left out.
pub fn json_page<T>(key: &str, page: &SearchPage<T>, rows: impl Serialize) -> CliResult {
    let mut value = serde_json::Map::new();
    value.insert(key.to_owned(), serde_json::to_value(rows)?);
    value.insert("limit".into(), page.limit.into());
    value.insert("more_matched".into(), page.more_matched.into());
    value.insert(
        "missing_sources".into(),
        serde_json::to_value(&page.missing_sources)?,
    );
    json(&value)
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC), the way OTOBO shows times.
pub fn timestamp(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The inverse of [`timestamp`]: `YYYY-MM-DD HH:MM:SS` (UTC) to seconds since the epoch; also
/// takes the seconds themselves. `None` for anything else.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(epoch) = text.parse::<i64>() {
        return Some(epoch);
    }
    let (date, time) = text.split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time
        .trim_end_matches('Z')
        .splitn(3, ':')
        .map(str::parse::<i64>);
    let (h, min, sec) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    if h < 0 || min < 0 || sec < 0 {
        return None;
    }
    let epoch = days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60 + sec;
    // A day that does not exist (31 April) does not come back as itself.
    (timestamp(epoch) == format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}:{sec:02}"))
        .then_some(epoch)
}

/// Howard Hinnant's `days_from_civil`: (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_back() {
        for epoch in [0, 951_782_400, 1_714_564_800, 1_714_564_859, -86_400] {
            assert_eq!(parse_timestamp(&timestamp(epoch)), Some(epoch));
        }
        assert_eq!(parse_timestamp("1714564800"), Some(1_714_564_800));
        assert_eq!(parse_timestamp("2024-04-31 00:00:00"), None);
        assert_eq!(parse_timestamp("2024-05-01"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(timestamp(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(timestamp(1_714_564_800), "2024-05-01 12:00:00");
    }

    #[test]
    fn columns_align() {
        let mut t = Table::new(["A", "LONGER"]);
        t.row(["xxxx", "y"]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "A     LONGER\nxxxx  y\n");
    }
}
