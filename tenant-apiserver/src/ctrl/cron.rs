//! CronJob schedules as kube-controller-manager reads them: robfig/cron v3's standard parser
//! (five fields or an `@hourly`-style descriptor, `@every <duration>` included, an optional
//! `TZ=`/`CRON_TZ=` prefix) and its `Next` search, step for step, over IANA time zones with Go's
//! rules for wall-clock times that a daylight-saving change skips or repeats.
//!
//! Times are Unix seconds (the API's timestamps have second precision).

use jiff::tz::TimeZone;

/// A parsed schedule.
#[derive(Clone, Debug)]
pub enum Schedule {
    /// Five cron fields (robfig's `SpecSchedule`; the seconds field is always 0).
    Spec(Spec),
    /// `@every <duration>`: a fixed delay, whole seconds, at least one.
    Every(i64),
}

/// The bit sets of a five-field schedule.
#[derive(Clone, Debug)]
pub struct Spec {
    second: u64,
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    zone: Zone,
}

/// The time zone a schedule runs in.
#[derive(Clone, Debug)]
pub enum Zone {
    /// UTC (kube-controller-manager's local time zone in a cluster).
    Utc,
    /// An IANA zone.
    Named(TimeZone),
}

impl Zone {
    /// The zone `name` as Go's `time.LoadLocation` finds it (`""` and `UTC` are UTC).
    pub fn load(name: &str) -> Result<Zone, String> {
        if name.is_empty() || name == "UTC" {
            return Ok(Zone::Utc);
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return Err("time: invalid location name".into());
        }
        if name == "Local" {
            return Ok(Zone::Utc);
        }
        TimeZone::get(name)
            .map(Zone::Named)
            .map_err(|_| format!("unknown time zone {name}"))
    }

    /// The zone's offset from UTC, in seconds, at instant `t`.
    pub fn offset_at(&self, t: i64) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Named(tz) => match jiff::Timestamp::from_second(t) {
                Ok(ts) => i64::from(tz.to_offset(ts).seconds()),
                Err(_) => 0,
            },
        }
    }

    /// Go's `time.Date(y, mo, d, h, mi, s, 0, zone)`: out-of-range fields normalize, a wall time
    /// that does not exist or exists twice resolves as Go resolves it.
    pub fn date(&self, y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
        let y = y + (mo - 1).div_euclid(12);
        let mo = (mo - 1).rem_euclid(12) + 1;
        let unix = (days_from_civil(y, mo, 1) + d - 1) * 86_400 + h * 3_600 + mi * 60 + s;
        let mut offset = self.offset_at(unix);
        if offset != 0 {
            let utc = unix - offset;
            let other = self.offset_at(utc);
            if other != offset {
                offset = other;
            }
        }
        unix - offset
    }

    /// The wall-clock fields of instant `t` in this zone.
    pub fn fields(&self, t: i64) -> Civil {
        let local = t + self.offset_at(t);
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3_600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: (days + 4).rem_euclid(7),
        }
    }

    /// RFC 3339 with this zone's offset (Go's `time.RFC3339` of `t.In(zone)`).
    pub fn rfc3339(&self, t: i64) -> String {
        let offset = self.offset_at(t);
        let c = self.fields(t);
        let zone = if offset == 0 {
            "Z".to_string()
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let a = offset.abs();
            format!("{sign}{:02}:{:02}", a / 3_600, a / 60 % 60)
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

/// Wall-clock fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1–12.
    pub month: i64,
    /// Day of month, 1–31.
    pub day: i64,
    /// Hour, 0–23.
    pub hour: i64,
    /// Minute.
    pub minute: i64,
    /// Second.
    pub second: i64,
    /// Day of week, 0 = Sunday.
    pub weekday: i64,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses a Unix time from RFC 3339 (`2006-01-02T15:04:05Z` or with an offset).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp())
}

/// Formats a Unix time as the API writes timestamps (`2006-01-02T15:04:05Z`).
pub fn format_rfc3339(t: i64) -> String {
    Zone::Utc.rfc3339(t)
}

const STAR: u64 = 1 << 63;

struct Bounds {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
}

const SECONDS: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

fn bits(min: u64, max: u64, step: u64) -> u64 {
    if step == 1 {
        return !(u64::MAX << (max + 1)) & (u64::MAX << min);
    }
    let mut b = 0;
    let mut i = min;
    while i <= max {
        b |= 1 << i;
        i += step;
    }
    b
}

fn all(r: &Bounds) -> u64 {
    bits(r.min, r.max, 1) | STAR
}

/// Go's `strconv.Atoi` as robfig uses it (`mustParseInt`).
fn parse_uint(expr: &str) -> Result<u64, String> {
    let num: i64 = expr.parse().map_err(|_| {
        format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax")
    })?;
    if num < 0 {
        return Err(format!("negative number ({num}) not allowed: {expr}"));
    }
    Ok(num as u64)
}

fn parse_int_or_name(expr: &str, r: &Bounds) -> Result<u64, String> {
    let lower = expr.to_ascii_lowercase();
    if let Some((_, v)) = r.names.iter().find(|(n, _)| *n == lower) {
        return Ok(*v);
    }
    parse_uint(expr)
}

fn get_range(expr: &str, r: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end, mut extra);
    if low_and_high[0] == "*" || low_and_high[0] == "?" {
        start = r.min;
        end = r.max;
        extra = STAR;
    } else {
        start = parse_int_or_name(low_and_high[0], r)?;
        extra = 0;
        end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], r)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = parse_uint(range_and_step[1])?;
            if single {
                end = r.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < r.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            r.min
        ));
    }
    if end > r.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            r.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(bits(start, end, step) | extra)
}

fn get_field(field: &str, r: &Bounds) -> Result<u64, String> {
    let mut b = 0;
    for expr in field.split(',').filter(|e| !e.is_empty()) {
        b |= get_range(expr, r)?;
    }
    Ok(b)
}

/// Go's `time.ParseDuration`, in whole seconds (robfig's `Every` drops the fraction).
fn parse_go_duration(s: &str) -> Result<f64, String> {
    let orig = s;
    let bad = || format!("time: invalid duration {orig:?}");
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok(0.0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0;
    while !s.is_empty() {
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let num = &s[..num_end];
        if num.is_empty() || num == "." {
            return Err(bad());
        }
        let value: f64 = num.parse().map_err(|_| bad())?;
        s = &s[num_end..];
        let unit_end = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3_600.0,
            "" => return Err(format!("time: missing unit in duration {orig:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {orig:?}")),
        };
        total += value * scale;
    }
    Ok(if neg { -total } else { total })
}

/// Parses `spec` with robfig/cron's `ParseStandard`, in `zone` unless the spec has its own
/// `TZ=`/`CRON_TZ=` prefix. The errors are robfig's messages.
pub fn parse_standard(spec: &str, zone: Zone) -> Result<Schedule, String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let mut zone = zone;
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let eq = spec.find('=').expect("prefix has =");
        let Some(sp) = spec.find(' ') else {
            return Err(format!("provided bad location {}", &spec[eq + 1..]));
        };
        let name = &spec[eq + 1..sp];
        zone = Zone::load(name).map_err(|e| format!("provided bad location {name}: {e}"))?;
        spec = spec[sp..].trim();
    }
    if spec.starts_with('@') {
        return parse_descriptor(spec, zone);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    Ok(Schedule::Spec(Spec {
        second: 1 << SECONDS.min,
        minute: get_field(fields[0], &MINUTES)?,
        hour: get_field(fields[1], &HOURS)?,
        dom: get_field(fields[2], &DOM)?,
        month: get_field(fields[3], &MONTHS)?,
        dow: get_field(fields[4], &DOW)?,
        zone,
    }))
}

fn parse_descriptor(descriptor: &str, zone: Zone) -> Result<Schedule, String> {
    let first = |r: &Bounds| 1u64 << r.min;
    let spec = |minute, hour, dom, month, dow| {
        Schedule::Spec(Spec {
            second: first(&SECONDS),
            minute,
            hour,
            dom,
            month,
            dow,
            zone: zone.clone(),
        })
    };
    match descriptor {
        "@yearly" | "@annually" => {
            return Ok(spec(
                first(&MINUTES),
                first(&HOURS),
                first(&DOM),
                first(&MONTHS),
                all(&DOW),
            ));
        }
        "@monthly" => {
            return Ok(spec(
                first(&MINUTES),
                first(&HOURS),
                first(&DOM),
                all(&MONTHS),
                all(&DOW),
            ));
        }
        "@weekly" => {
            return Ok(spec(
                first(&MINUTES),
                first(&HOURS),
                all(&DOM),
                all(&MONTHS),
                first(&DOW),
            ));
        }
        "@daily" | "@midnight" => {
            return Ok(spec(
                first(&MINUTES),
                first(&HOURS),
                all(&DOM),
                all(&MONTHS),
                all(&DOW),
            ));
        }
        "@hourly" => {
            return Ok(spec(
                first(&MINUTES),
                all(&HOURS),
                all(&DOM),
                all(&MONTHS),
                all(&DOW),
            ));
        }
        _ => {}
    }
    if let Some(d) = descriptor.strip_prefix("@every ") {
        let secs = parse_go_duration(d)
            .map_err(|e| format!("failed to parse duration {descriptor}: {e}"))?;
        return Ok(Schedule::Every((secs.trunc() as i64).max(1)));
    }
    Err(format!("unrecognized descriptor: {descriptor}"))
}

impl Schedule {
    /// The first activation strictly after `t` (robfig's `Next`); None when there is none
    /// within five years (e.g. `0 0 30 2 *`).
    pub fn next(&self, t: i64) -> Option<i64> {
        match self {
            Schedule::Every(delay) => Some(t + delay),
            Schedule::Spec(s) => s.next(t),
        }
    }
}

impl Spec {
    fn day_matches(&self, c: &Civil) -> bool {
        let dom = (1u64 << c.day) & self.dom > 0;
        let dow = (1u64 << c.weekday) & self.dow > 0;
        if self.dom & STAR > 0 || self.dow & STAR > 0 {
            dom && dow
        } else {
            dom || dow
        }
    }

    fn next(&self, t: i64) -> Option<i64> {
        let z = &self.zone;
        // The upcoming whole second.
        let mut t = t + 1;
        let mut added = false;
        let year_limit = z.fields(t).year + 5;
        'wrap: loop {
            let c = z.fields(t);
            if c.year > year_limit {
                return None;
            }
            while (1u64 << z.fields(t).month) & self.month == 0 {
                if !added {
                    added = true;
                    let c = z.fields(t);
                    t = z.date(c.year, c.month, 1, 0, 0, 0);
                }
                let c = z.fields(t);
                t = z.date(c.year, c.month + 1, c.day, c.hour, c.minute, c.second);
                if z.fields(t).month == 1 {
                    continue 'wrap;
                }
            }
            while !self.day_matches(&z.fields(t)) {
                if !added {
                    added = true;
                    let c = z.fields(t);
                    t = z.date(c.year, c.month, c.day, 0, 0, 0);
                }
                let c = z.fields(t);
                t = z.date(c.year, c.month, c.day + 1, c.hour, c.minute, c.second);
                // Midnight may not exist on a daylight-saving day: land on the day's start.
                let h = z.fields(t).hour;
                if h != 0 {
                    if h > 12 {
                        t += (24 - h) * 3_600;
                    } else {
                        t -= h * 3_600;
                    }
                }
                if z.fields(t).day == 1 {
                    continue 'wrap;
                }
            }
            while (1u64 << z.fields(t).hour) & self.hour == 0 {
                if !added {
                    added = true;
                    let c = z.fields(t);
                    t = z.date(c.year, c.month, c.day, c.hour, 0, 0);
                }
                t += 3_600;
                if z.fields(t).hour == 0 {
                    continue 'wrap;
                }
            }
            while (1u64 << z.fields(t).minute) & self.minute == 0 {
                if !added {
                    added = true;
                    t -= t.rem_euclid(60);
                }
                t += 60;
                if z.fields(t).minute == 0 {
                    continue 'wrap;
                }
            }
            while (1u64 << z.fields(t).second) & self.second == 0 {
                if !added {
                    added = true;
                }
                t += 1;
                if z.fields(t).second == 0 {
                    continue 'wrap;
                }
            }
            return Some(t);
        }
    }
}

/// How many start times were missed since the last one (kube's `missedSchedulesType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missed {
    /// None.
    None,
    /// A few (up to 100).
    Few,
    /// More than 100: the controller starts only the latest and says so in an event.
    Many,
}

/// kube's `mostRecentScheduleTime`: from `earliest` (the last schedule time, or the CronJob's
/// creation, moved up to `now - startingDeadlineSeconds` when `deadline` applies) returns the
/// earliest time considered, the most recent start time at or before `now` (if any) and how many
/// were missed.
pub fn most_recent_schedule_time(
    schedule: &Schedule,
    earliest: i64,
    starting_deadline: Option<i64>,
    now: i64,
) -> Result<(i64, Option<i64>, Missed), String> {
    let mut earliest = earliest;
    if let Some(d) = starting_deadline {
        let deadline = now - d;
        if deadline > earliest {
            earliest = deadline;
        }
    }
    let Some(t1) = schedule.next(earliest) else {
        return Ok((earliest, None, Missed::None));
    };
    let Some(t2) = schedule.next(t1) else {
        return Ok((earliest, (t1 <= now).then_some(t1), Missed::None));
    };
    if now < t1 {
        return Ok((earliest, None, Missed::None));
    }
    if now < t2 {
        return Ok((earliest, Some(t1), Missed::None));
    }
    let between = t2 - t1;
    if between < 1 {
        return Err("time difference between two schedules is less than 1 second".into());
    }
    let elapsed = now - t1;
    let missed = elapsed / between + 1;
    let potential_earliest = t1 + (missed - 2) * between;
    let mut most_recent = None;
    let mut t = schedule.next(potential_earliest);
    while let Some(at) = t {
        if at > now {
            break;
        }
        most_recent = Some(at);
        t = schedule.next(at);
    }
    let kind = if missed > 100 {
        Missed::Many
    } else if missed > 0 {
        Missed::Few
    } else {
        Missed::None
    };
    Ok((earliest, most_recent, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        parse_rfc3339(s).unwrap()
    }

    fn next_in(spec: &str, zone: &str, from: &str) -> String {
        let z = Zone::load(zone).unwrap();
        let s = parse_standard(spec, z.clone()).unwrap();
        z.rfc3339(s.next(utc(from)).unwrap())
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(Zone::Utc.fields(utc("2024-02-29T13:14:15Z")).weekday, 4);
    }

    #[test]
    fn parses_like_robfig() {
        assert!(parse_standard("*/5 * * * *", Zone::Utc).is_ok());
        assert!(parse_standard("0 9 * JAN-mar mon-FRI", Zone::Utc).is_ok());
        assert!(parse_standard("@hourly", Zone::Utc).is_ok());
        assert!(matches!(
            parse_standard("@every 1h30m", Zone::Utc),
            Ok(Schedule::Every(5400))
        ));
        assert_eq!(
            parse_standard("* * *", Zone::Utc).unwrap_err(),
            "expected exactly 5 fields, found 3: [* * *]"
        );
        assert_eq!(
            parse_standard("60 * * * *", Zone::Utc).unwrap_err(),
            "end of range (60) above maximum (59): 60"
        );
        assert_eq!(
            parse_standard("* * 0 * *", Zone::Utc).unwrap_err(),
            "beginning of range (0) below minimum (1): 0"
        );
        assert_eq!(
            parse_standard("5-1 * * * *", Zone::Utc).unwrap_err(),
            "beginning of range (5) beyond end of range (1): 5-1"
        );
        assert_eq!(
            parse_standard("*/0 * * * *", Zone::Utc).unwrap_err(),
            "step of range should be a positive number: */0"
        );
        assert_eq!(
            parse_standard("* * * * 7", Zone::Utc).unwrap_err(),
            "end of range (7) above maximum (6): 7"
        );
        assert_eq!(
            parse_standard("@fortnightly", Zone::Utc).unwrap_err(),
            "unrecognized descriptor: @fortnightly"
        );
        assert_eq!(
            parse_standard("x * * * *", Zone::Utc).unwrap_err(),
            "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert!(parse_standard("TZ=Nowhere/Atlantis * * * * *", Zone::Utc).is_err());
        assert_eq!(
            Zone::load("Nowhere/Atlantis").unwrap_err(),
            "unknown time zone Nowhere/Atlantis"
        );
    }

    #[test]
    fn next_times_in_utc() {
        assert_eq!(
            next_in("* * * * *", "UTC", "2024-01-01T10:00:30Z"),
            "2024-01-01T10:01:00Z"
        );
        // Exactly on a schedule time: the next one, not the same.
        assert_eq!(
            next_in("*/15 * * * *", "", "2024-01-01T10:15:00Z"),
            "2024-01-01T10:30:00Z"
        );
        assert_eq!(
            next_in("@hourly", "", "2024-12-31T23:59:59Z"),
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(
            next_in("@weekly", "", "2024-01-01T00:00:00Z"),
            "2024-01-07T00:00:00Z"
        );
        assert_eq!(
            next_in("@monthly", "", "2024-01-31T00:00:00Z"),
            "2024-02-01T00:00:00Z"
        );
        assert_eq!(
            next_in("0 0 29 2 *", "", "2023-03-01T00:00:00Z"),
            "2024-02-29T00:00:00Z"
        );
        // Day-of-month OR day-of-week when neither is `*`.
        assert_eq!(
            next_in("0 12 13 * 5", "", "2024-09-01T00:00:00Z"),
            "2024-09-06T12:00:00Z"
        );
        // ... AND when one is `*`.
        assert_eq!(
            next_in("0 12 * * 5", "", "2024-09-07T00:00:00Z"),
            "2024-09-13T12:00:00Z"
        );
        // No such date within five years.
        let s = parse_standard("0 0 30 2 *", Zone::Utc).unwrap();
        assert_eq!(s.next(utc("2024-01-01T00:00:00Z")), None);
    }

    #[test]
    fn next_times_across_time_zones_and_dst() {
        assert_eq!(
            next_in("0 9 * * *", "Asia/Tokyo", "2024-01-01T00:30:00Z"),
            "2024-01-02T09:00:00+09:00"
        );
        assert_eq!(
            next_in("0 9 * * *", "America/New_York", "2024-01-01T00:30:00Z"),
            "2024-01-01T09:00:00-05:00"
        );
        // Spring forward (2:00 EST -> 3:00 EDT): 02:30 does not exist on 2024-03-10; robfig's
        // hour loop steps from 01:00 EST straight to 03:00 EDT, which is not 2, and moves on.
        assert_eq!(
            next_in("30 2 * * *", "America/New_York", "2024-03-09T12:00:00Z"),
            "2024-03-11T02:30:00-04:00"
        );
        // Fall back (2:00 EDT -> 1:00 EST): 01:30 happens twice; the first is taken...
        assert_eq!(
            next_in("30 1 * * *", "America/New_York", "2024-11-03T04:00:00Z"),
            "2024-11-03T01:30:00-04:00"
        );
        // ... and from there, the repeated 01:30 EST as well (robfig checks only the fields).
        assert_eq!(
            next_in("30 1 * * *", "America/New_York", "2024-11-03T05:30:00Z"),
            "2024-11-03T01:30:00-05:00"
        );
        // Europe: the spring gap at 02:00 CET.
        assert_eq!(
            next_in("30 2 * * *", "Europe/Berlin", "2024-03-30T12:00:00Z"),
            "2024-04-01T02:30:00+02:00"
        );
        // A midnight that does not exist (Sao Paulo's 2018 DST began at 00:00 on 4 November):
        // robfig's hour loop goes from 23:00 -03 to 01:00 -02 and on to the next midnight.
        assert_eq!(
            next_in("0 0 * * *", "America/Sao_Paulo", "2018-11-03T12:00:00Z"),
            "2018-11-05T00:00:00-02:00"
        );
        // Same instant, different zone.
        let z = Zone::load("Australia/Sydney").unwrap();
        let s = parse_standard("0 0 1 1 *", z.clone()).unwrap();
        assert_eq!(
            format_rfc3339(s.next(utc("2024-06-01T00:00:00Z")).unwrap()),
            "2024-12-31T13:00:00Z"
        );
        // A TZ= prefix chooses the zone itself.
        let s = parse_standard("TZ=Asia/Kolkata 0 6 * * *", Zone::Utc).unwrap();
        assert_eq!(
            format_rfc3339(s.next(utc("2024-01-01T00:00:00Z")).unwrap()),
            "2024-01-01T00:30:00Z"
        );
    }

    #[test]
    fn go_date_resolves_gaps_and_overlaps_as_go() {
        let ny = Zone::load("America/New_York").unwrap();
        // Go moves a New York gap time back an hour (offset before the change is used after).
        assert_eq!(
            ny.rfc3339(ny.date(2024, 3, 10, 2, 30, 0)),
            "2024-03-10T01:30:00-05:00"
        );
        let berlin = Zone::load("Europe/Berlin").unwrap();
        assert_eq!(
            berlin.rfc3339(berlin.date(2024, 3, 31, 2, 30, 0)),
            "2024-03-31T03:30:00+02:00"
        );
        assert_eq!(
            Zone::Utc.rfc3339(Zone::Utc.date(2024, 13, 32, 25, 0, 0)),
            "2025-02-02T01:00:00Z"
        );
    }

    #[test]
    fn most_recent_and_missed_schedules() {
        let every_minute = parse_standard("* * * * *", Zone::Utc).unwrap();
        let created = utc("2024-01-01T10:00:00Z");
        // Before the first time.
        let r = most_recent_schedule_time(&every_minute, created, None, created + 30).unwrap();
        assert_eq!(r, (created, None, Missed::None));
        // Exactly one due.
        let r = most_recent_schedule_time(&every_minute, created, None, created + 61).unwrap();
        assert_eq!(r, (created, Some(created + 60), Missed::None));
        // Several missed: the latest is returned.
        let r =
            most_recent_schedule_time(&every_minute, created, None, created + 5 * 60 + 10).unwrap();
        assert_eq!(r, (created, Some(created + 300), Missed::Few));
        // More than 100 missed.
        let r = most_recent_schedule_time(&every_minute, created, None, created + 200 * 60 + 1)
            .unwrap();
        assert_eq!(r.1, Some(created + 200 * 60));
        assert_eq!(r.2, Missed::Many);
        // A starting deadline moves the earliest time up: only the last 2 minutes count.
        let now = created + 200 * 60 + 1;
        let r = most_recent_schedule_time(&every_minute, created, Some(120), now).unwrap();
        assert_eq!(r.0, now - 120);
        assert_eq!(r.1, Some(created + 200 * 60));
        assert_eq!(r.2, Missed::Few);
        // @every counts from the last time.
        let every = parse_standard("@every 90s", Zone::Utc).unwrap();
        let r = most_recent_schedule_time(&every, created, None, created + 200).unwrap();
        assert_eq!(r.1, Some(created + 180));
    }
}
