//! Parsing what token endpoints answer, in all the shapes they are known to use.

use crate::error::{Error, ServiceError};
use crate::scrub::scrub;
use serde_json::Value;
use std::fmt;

/// A successful token response, normalised.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The token. A secret.
    pub access_token: String,
    /// `Bearer` unless the service said otherwise.
    pub token_type: String,
    /// Unix seconds.
    pub expires_on: u64,
    /// Seconds from now after which to refresh, when the service says.
    pub refresh_in: Option<u64>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_on", &self.expires_on)
            .field("refresh_in", &self.refresh_in)
            .finish()
    }
}

/// Numbers at or above this are absolute Unix times (2001-01-01); smaller ones are
/// seconds from now. Some managed-identity endpoints send a duration in `expires_on`.
const EPOCH_THRESHOLD: u64 = 978_307_200;
/// A token that claims to live longer than this is a misparse (milliseconds?), not a token.
const MAX_LIFETIME: u64 = 366 * 24 * 3600;
/// Longest service description kept in an error.
const MAX_DESCRIPTION: usize = 400;

/// Parses a 2xx token response received at `now` (Unix seconds).
///
/// Accepts `expires_on` as a number, a numeric string or a date string, and
/// `expires_in`/`refresh_in` as numbers or numeric strings, as IMDS, App Service,
/// Arc, Service Fabric and Entra variously send them.
pub fn parse_token(body: &[u8], now: u64) -> Result<TokenResponse, Error> {
    let invalid = |why: String| Error::InvalidResponse(why);
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "token response is not JSON ({} bytes): {e}",
            body.len()
        ))
    })?;
    let Value::Object(map) = value else {
        return Err(invalid("token response is not a JSON object".into()));
    };
    let access_token = match map.get("access_token") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(Value::String(_)) => return Err(invalid("access_token is empty".into())),
        Some(other) => {
            return Err(invalid(format!(
                "access_token is a {}, expected a string",
                kind(other)
            )));
        }
        None => return Err(invalid("token response has no access_token".into())),
    };
    let token_type = match map.get("token_type") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        None | Some(Value::Null) => "Bearer".to_string(),
        Some(other) => {
            return Err(invalid(format!(
                "token_type is a {}, expected a string",
                kind(other)
            )));
        }
    };
    let expires_on = match (map.get("expires_on"), map.get("expires_in")) {
        (Some(v), _) if !v.is_null() => instant("expires_on", v, now)?,
        (_, Some(v)) if !v.is_null() => now.saturating_add(seconds("expires_in", v)?),
        _ => {
            return Err(invalid(
                "token response has neither expires_on nor expires_in".into(),
            ));
        }
    };
    if expires_on <= now {
        return Err(invalid(format!(
            "token already expired (expires_on {expires_on}, now {now}); check the clocks of this machine and of the endpoint"
        )));
    }
    if expires_on.saturating_sub(now) > MAX_LIFETIME {
        return Err(invalid(format!(
            "expires_on {expires_on} is more than a year ahead of now ({now}); refusing a token whose expiry cannot be right"
        )));
    }
    let refresh_in = match map.get("refresh_in") {
        None | Some(Value::Null) => None,
        Some(v) => Some(seconds("refresh_in", v)?),
    };
    Ok(TokenResponse {
        access_token,
        token_type,
        expires_on,
        refresh_in,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A non-negative whole number of seconds, as a JSON number or numeric string.
fn seconds(field: &str, v: &Value) -> Result<u64, Error> {
    let n = match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        Error::InvalidResponse(format!(
            "{field} is not a number of seconds (got a {})",
            kind(v)
        ))
    })
}

/// An absolute time: epoch seconds (number or string), seconds from now, or a date.
fn instant(field: &str, v: &Value, now: u64) -> Result<u64, Error> {
    let absolute = |n: u64| {
        if n >= EPOCH_THRESHOLD {
            n
        } else {
            now.saturating_add(n)
        }
    };
    if let Ok(n) = seconds(field, v) {
        return Ok(absolute(n));
    }
    if let Value::String(s) = v
        && let Some(t) = parse_date(s.trim())
    {
        return Ok(t);
    }
    Err(Error::InvalidResponse(format!(
        "{field} is neither epoch seconds nor a date (got a {})",
        kind(v)
    )))
}

/// RFC 3339 (`2026-11-26T08:00:00Z`) or App Service's `11/26/2026 8:00:00 AM +00:00`.
fn parse_date(s: &str) -> Option<u64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return u64::try_from(t.unix_timestamp()).ok();
    }
    parse_us_date(s)
}

fn parse_us_date(s: &str) -> Option<u64> {
    let mut parts = s.split_whitespace();
    let (date, clock, period) = (parts.next()?, parts.next()?, parts.next()?);
    let offset = parse_offset(parts.next().unwrap_or("+00:00"))?;
    let mut d = date.split('/').map(|p| p.parse::<u8>().ok());
    let (month, day) = (d.next()??, d.next()??);
    let year = date.rsplit('/').next()?.parse::<u16>().ok()?;
    let mut c = clock.split(':').map(|p| p.parse::<u8>().ok());
    let (hour, minute, second) = (c.next()??, c.next()??, c.next()??);
    let hour = match (period.to_ascii_uppercase().as_str(), hour) {
        ("AM", 12) => 0,
        ("PM", h) if h < 12 => h.checked_add(12)?,
        ("AM" | "PM", h) => h,
        _ => return None,
    };
    let date =
        time::Date::from_calendar_date(i32::from(year), time::Month::try_from(month).ok()?, day)
            .ok()?;
    let t = date
        .with_hms(hour, minute, second)
        .ok()?
        .assume_offset(offset);
    u64::try_from(t.unix_timestamp()).ok()
}

/// `+HH:MM` or `-HH:MM`. `time` bounds the value, so no arithmetic on what the
/// service sent can overflow.
fn parse_offset(offset: &str) -> Option<time::UtcOffset> {
    let negative = match offset.chars().next()? {
        '+' => false,
        '-' => true,
        _ => return None,
    };
    let (h, m) = offset.get(1..)?.split_once(':')?;
    let (h, m) = (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?);
    let (h, m) = if negative {
        (h.checked_neg()?, m.checked_neg()?)
    } else {
        (h, m)
    };
    time::UtcOffset::from_hms(h, m, 0).ok()
}

/// Extracts what a refusal says, from any of the error shapes token endpoints use:
/// OAuth (`error`, `error_description`), App Service (`statusCode`, `message`),
/// nested (`error: {code, message}`), or plain text.
///
/// `secrets` (what the request carried) are scrubbed in every encoding before the
/// text is shortened: shortening first could cut a secret and leave its prefix.
pub fn parse_error<S: AsRef<str>>(status: u16, body: &[u8], secrets: &[S]) -> ServiceError {
    let mut e = ServiceError::new(status);
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => {
            let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
            match map.get("error") {
                Some(Value::String(code)) => e.code = code.clone(),
                Some(Value::Object(inner)) => {
                    let t = |k: &str| inner.get(k).and_then(Value::as_str).map(str::to_string);
                    e.code = t("code").unwrap_or_default();
                    e.description = t("message").unwrap_or_default();
                    e.correlation_id = t("correlationId");
                }
                _ => {}
            }
            if let Some(d) = text("error_description").or_else(|| text("message")) {
                e.description = d;
            }
            e.correlation_id = e
                .correlation_id
                .or_else(|| text("correlation_id"))
                .or_else(|| text("correlationId"));
            e.suberror = text("suberror").filter(|s| !s.is_empty());
            // Entra sends the claims challenge as a JSON string; kept verbatim (it is
            // what the user's client must ask for), an object re-serialised.
            e.claims = match map.get("claims") {
                Some(Value::String(c)) if !c.trim().is_empty() => Some(c.clone()),
                Some(Value::Object(c)) => Some(Value::Object(c.clone()).to_string()),
                _ => None,
            };
        }
        _ => e.description = String::from_utf8_lossy(body).into_owned(),
    }
    e.description = tidy(&scrub(&e.description, secrets));
    e.code = tidy(&scrub(&e.code, secrets));
    e.correlation_id = e.correlation_id.map(|id| tidy(&scrub(&id, secrets)));
    e.suberror = e.suberror.map(|s| tidy(&scrub(&s, secrets)));
    // Scrubbed but not tidied: reflowing it could change the JSON.
    e.claims = e.claims.map(|c| scrub(&c, secrets));
    e
}

/// One line, printable, bounded: service text ends up in logs and terminals.
fn tidy(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if out.chars().count() > MAX_DESCRIPTION {
        out = out.chars().take(MAX_DESCRIPTION).collect::<String>() + "…";
    }
    out
}

/// The longest `Retry-After` believed: a day. A proxy or a bug asking for more would
/// otherwise stop every instance sharing the cache for as long as it liked.
pub const MAX_RETRY_AFTER: u64 = 24 * 3600;

/// The `Retry-After` header as seconds from `now`: delta-seconds or an HTTP date,
/// at most [`MAX_RETRY_AFTER`].
pub fn retry_after(value: Option<&str>, now: u64) -> Option<u64> {
    parse_retry_after(value?.trim(), now).map(|secs| secs.min(MAX_RETRY_AFTER))
}

fn parse_retry_after(v: &str, now: u64) -> Option<u64> {
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let t = time::PrimitiveDateTime::parse(v, format).ok()?.assume_utc();
    Some(u64::try_from(t.unix_timestamp()).ok()?.saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn refused(status: u16, body: &[u8]) -> ServiceError {
        parse_error(status, body, &[] as &[&str])
    }

    fn ok(body: &str) -> TokenResponse {
        parse_token(body.as_bytes(), NOW).unwrap()
    }
    fn err(body: &str) -> String {
        match parse_token(body.as_bytes(), NOW) {
            Err(Error::InvalidResponse(m)) => m,
            other => panic!("expected InvalidResponse, got {other:?}"),
        }
    }

    #[test]
    fn imds_documented_body_with_strings() {
        let r = ok(&format!(
            r#"{{"access_token":"eyJ0eXAi","refresh_token":"","expires_in":"3599","expires_on":"{}","not_before":"{NOW}","resource":"https://management.azure.com/","token_type":"Bearer"}}"#,
            NOW + 3599
        ));
        assert_eq!(
            (r.access_token.as_str(), r.expires_on, r.refresh_in),
            ("eyJ0eXAi", NOW + 3599, None)
        );
    }

    #[test]
    fn retry_after_is_capped_at_a_day() {
        assert_eq!(retry_after(Some("120"), NOW), Some(120));
        assert_eq!(retry_after(Some("111111"), NOW), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after(Some("Fri, 01 Jan 2100 00:00:00 GMT"), NOW),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(retry_after(Some("soon"), NOW), None);
    }

    #[test]
    fn expiry_shapes() {
        let on = |v: &str| ok(&format!(r#"{{"access_token":"t","expires_on":{v}}}"#)).expires_on;
        assert_eq!(on(&format!("{}", NOW + 10)), NOW + 10);
        assert_eq!(on(&format!("\"{}\"", NOW + 10)), NOW + 10);
        assert_eq!(on(&format!("{}.0", NOW + 10)), NOW + 10);
        // Small numbers are durations, as MSAL.NET reads them.
        assert_eq!(on("\"3600\""), NOW + 3600);
        // NOW is 2027-01-15T08:00:00Z.
        assert_eq!(on("\"2027-01-15T09:00:00Z\""), NOW + 3600);
        assert_eq!(on("\"1/15/2027 9:00:00 AM +00:00\""), NOW + 3600);
        assert_eq!(on("\"1/15/2027 10:00:00 AM +01:00\""), NOW + 3600);
        assert_eq!(
            on("\"1/15/2027 12:30:00 PM +00:00\""),
            NOW + 4 * 3600 + 1800
        );
        let r#in = |v: &str| ok(&format!(r#"{{"access_token":"t","expires_in":{v}}}"#)).expires_on;
        assert_eq!(r#in("3600"), NOW + 3600);
        assert_eq!(r#in("\"3600\""), NOW + 3600);
        let refresh = ok(r#"{"access_token":"t","expires_in":"86400","refresh_in":"43200"}"#);
        assert_eq!(refresh.refresh_in, Some(43_200));
    }

    /// App Service dates with offsets that are not ASCII or do not fit: a clean
    /// `InvalidResponse`, never a panic or an overflow.
    #[test]
    fn hostile_us_date_offsets_are_refused_not_panicked_on() {
        for date in [
            "1/15/2027 9:00:00 AM é0:00",
            "1/15/2027 9:00:00 AM 😀",
            "1/15/2027 9:00:00 AM +9223372036854775807:00",
            "1/15/2027 9:00:00 AM -9223372036854775807:00",
            "1/15/2027 9:00:00 AM +00:9223372036854775807",
            "1/15/2027 9:00:00 AM +2562047788015216:00",
            "1/15/2027 9:00:00 AM +",
            "1/15/2027 9:00:00 AM 00:00",
            "1/15/2027 9:00:00 AM +24:00",
        ] {
            let body = format!(r#"{{"access_token":"t","expires_on":"{date}"}}"#);
            let r = std::panic::catch_unwind(|| parse_token(body.as_bytes(), NOW));
            assert!(
                matches!(r, Ok(Err(Error::InvalidResponse(_)))),
                "{date}: {r:?}"
            );
        }
    }

    #[test]
    fn durations_near_the_end_of_time_do_not_overflow() {
        let body = br#"{"access_token":"t","expires_on":"3600"}"#;
        let r = parse_token(body, u64::MAX - 10).map(|t| t.expires_on);
        assert_eq!(r, Ok(u64::MAX));
    }

    #[test]
    fn bad_bodies_say_what_is_wrong_without_echoing_the_token() {
        assert!(err("{\"access_token\":\"secret-tok").contains("not JSON"));
        assert!(err("[]").contains("not a JSON object"));
        assert!(err(r#"{"expires_in":1}"#).contains("no access_token"));
        assert!(err(r#"{"access_token":42,"expires_in":1}"#).contains("access_token is a number"));
        assert!(err(r#"{"access_token":"t","expires_on":true}"#).contains("expires_on"));
        assert!(err(r#"{"access_token":"t"}"#).contains("neither expires_on"));
        let m = err(r#"{"access_token":"secret-tok","expires_on":"yesterday"}"#);
        assert!(!m.contains("secret-tok"), "{m}");
    }

    #[test]
    fn past_and_absurd_expiry_are_refused() {
        assert!(
            err(&format!(
                r#"{{"access_token":"t","expires_on":"{}"}}"#,
                NOW - 1
            ))
            .contains("already expired")
        );
        assert!(
            err(&format!(
                r#"{{"access_token":"t","expires_on":{}}}"#,
                NOW * 1000
            ))
            .contains("more than a year")
        );
    }

    #[test]
    fn error_shapes() {
        let e = refused(
            400,
            br#"{"error":"invalid_request","error_description":"Identity not found"}"#,
        );
        assert_eq!(
            (e.code.as_str(), e.description.as_str()),
            ("invalid_request", "Identity not found")
        );
        let e = refused(
            500,
            br#"{"statusCode":500,"message":"An unexpected error occured while fetching the AAD Token.","correlationId":"4ce2"}"#,
        );
        assert_eq!(e.correlation_id.as_deref(), Some("4ce2"));
        assert!(e.description.starts_with("An unexpected"));
        let e = refused(404, br#"{"error":{"correlationId":"foo","code":"SecretHeaderNotFound","message":"Secret is not found."}}"#);
        assert_eq!(
            (e.code.as_str(), e.correlation_id.as_deref()),
            ("SecretHeaderNotFound", Some("foo"))
        );
        let e = refused(502, b"Bad\r\nGateway");
        assert_eq!(e.description, "Bad Gateway");
        let long = "x".repeat(10_000);
        assert!(refused(500, long.as_bytes()).description.chars().count() <= MAX_DESCRIPTION + 1);
    }

    #[test]
    fn a_refusals_claims_and_suberror_are_kept() {
        // The on-behalf-of documentation's Conditional Access refusal.
        let body = br#"{"error":"interaction_required","error_description":"AADSTS50079: Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication.","error_codes":[50079],"timestamp":"2017-05-01 22:43:20Z","trace_id":"b72a68c3-0926-4b8e-bc35-3150069c2800","correlation_id":"73d656cf-54b1-4eb2-b429-26d8165a52d7","claims":"{\"access_token\":{\"polids\":{\"essential\":true,\"values\":[\"9ab03e19-ed42-4168-b6b7-7001fb3e933a\"]}}}","suberror":"basic_action"}"#;
        let e = refused(400, body);
        assert_eq!(
            e.claims.as_deref(),
            Some(r#"{"access_token":{"polids":{"essential":true,"values":["9ab03e19-ed42-4168-b6b7-7001fb3e933a"]}}}"#)
        );
        assert_eq!(e.suberror.as_deref(), Some("basic_action"));
        assert_eq!(e.code, "interaction_required");
        let e = refused(400, br#"{"error":"x","claims":{"access_token":{}},"suberror":""}"#);
        assert_eq!(e.claims.as_deref(), Some(r#"{"access_token":{}}"#));
        assert_eq!(e.suberror, None);
        let e = refused(400, br#"{"error":"x","claims":"","suberror":7}"#);
        assert_eq!((e.claims, e.suberror), (None, None));
    }

    #[test]
    fn secrets_are_scrubbed_before_the_description_is_cut() {
        let secret = "s3cr3t-0123456789-abcdef";
        // Cut at 400 characters, the secret would lose its tail and survive as a prefix.
        for lead in [380, 390, 395, 399, 400] {
            let body = format!("{}{secret} and more", "x".repeat(lead));
            let e = parse_error(401, body.as_bytes(), &[secret]);
            assert!(
                !e.description.contains("s3cr3t-"),
                "{lead}: {}",
                e.description
            );
            assert!(e.description.chars().count() <= MAX_DESCRIPTION + 1);
        }
        let e = parse_error(
            400,
            br#"{"error":"s3cr3t-0123456789-abcdef","correlation_id":"s3cr3t-0123456789-abcdef"}"#,
            &[secret],
        );
        assert_eq!(e.code, "<redacted>");
        assert_eq!(e.correlation_id.as_deref(), Some("<redacted>"));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(Some("7"), NOW), Some(7));
        assert_eq!(
            retry_after(Some("Fri, 15 Jan 2027 08:00:30 GMT"), NOW),
            Some(30)
        );
        assert_eq!(retry_after(Some("soon"), NOW), None);
        assert_eq!(retry_after(None, NOW), None);
    }
}
