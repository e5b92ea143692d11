//! Entra's (AADSTS) error responses, as the token endpoint and the discovery endpoints send them.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::recording::RecordedRequest;
use crate::respond;
use crate::state::EmulatorState;

/// An Entra error: OAuth `error` code, numeric AADSTS code and its message.
#[derive(Debug)]
pub(crate) struct AadError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    message: String,
    /// A claims challenge (a JSON string, not base64) the client must satisfy, as Conditional Access sends it.
    claims: Option<String>,
}

impl AadError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            code,
            message: message.into(),
            claims: None,
        }
    }

    /// Adds a `claims` challenge to the body.
    pub(crate) fn with_claims(mut self, claims: String) -> Self {
        self.claims = Some(claims);
        self
    }

    /// AADSTS900144, which Entra sends for any missing form parameter.
    pub(crate) fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// AADSTS90002, for a tenant this emulator does not serve.
    pub(crate) fn tenant_not_found(tenant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into \
                 the correct cloud. Check with your subscription administrator, this may happen if there are no active \
                 subscriptions for the tenant."
            ),
        )
    }

    /// The error Entra is most likely to pair with `status` when a test injects that status.
    pub(crate) fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => Self::new(
                status,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret \
                 value, not the client secret ID.",
            ),
            429 | 500.. => Self::new(
                status,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
            ),
            _ => Self::new(
                status,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            ),
        }
    }

    #[cfg(test)]
    pub(crate) fn code(&self) -> u32 {
        self.code
    }

    /// The JSON body: the description embeds trace id, correlation id and timestamp as Entra's does, and the
    /// correlation id echoes the client's `client-request-id` when it sent one.
    pub(crate) fn into_response(
        self,
        state: &EmulatorState,
        request: &RecordedRequest,
    ) -> Response {
        let timestamp = format_timestamp(state.now());
        let trace_id = uuid::Uuid::new_v4().to_string();
        let correlation_id = request
            .header("client-request-id")
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let code = self.code;
        let mut body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{code}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.message
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        });
        if let Some(claims) = self.claims {
            body["claims"] = claims.into();
        }
        respond::with_headers(respond::json(self.status, &body), NO_CACHE)
    }
}

/// Entra marks token responses, successes and errors alike, as uncacheable.
pub(crate) const NO_CACHE: &[(&str, &str)] = &[
    ("cache-control", "no-store, no-cache"),
    ("pragma", "no-cache"),
];

/// Entra's error timestamp format, `2022-11-10 23:12:37Z`, in UTC.
fn format_timestamp(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The ISO 8601 form Entra's messages quote times in, `2024-08-05T10:07:04.0000000Z`.
pub(crate) fn iso_timestamp(unix: u64) -> String {
    format_timestamp(unix)
        .replacen(' ', "T", 1)
        .replace('Z', ".0000000Z")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps_like_entra() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_timestamp(1_668_121_957), "2022-11-10 23:12:37Z");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(format_timestamp(4_102_444_799), "2099-12-31 23:59:59Z");
        assert_eq!(iso_timestamp(1_668_121_957), "2022-11-10T23:12:37.0000000Z");
    }
}
