//! The `claims` form field a client may send with any token request: MSAL adds its client capabilities
//! (`{"access_token":{"xms_cc":{"values":["cp1"]}}}`) and any claims challenge it was given, merged into one JSON
//! object.

use axum::http::StatusCode;
use serde_json::Value;

use crate::aadsts::AadError;
use crate::recording::RecordedRequest;

/// The capability that marks a client as able to handle continuous access evaluation's claims challenges.
const CAE: &str = "cp1";

/// The capabilities Entra marks in the issued token (`xms_cc`): `["cp1"]` when the request's claims declare it,
/// else none. Claims that are not a JSON object are refused with AADSTS9002313, Entra's generic "malformed request".
pub(crate) fn capabilities(request: &RecordedRequest) -> Result<Vec<String>, AadError> {
    let Some(claims) = request.non_empty_form_param("claims") else {
        return Ok(Vec::new());
    };
    let Ok(Value::Object(claims)) = serde_json::from_str::<Value>(&claims) else {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        ));
    };
    let declared = claims
        .get("access_token")
        .and_then(|token| token.get("xms_cc"))
        .and_then(|cc| cc.get("values"))
        .and_then(Value::as_array)
        .is_some_and(|values| {
            values
                .iter()
                .filter_map(Value::as_str)
                .any(|v| v.eq_ignore_ascii_case(CAE))
        });
    Ok(if declared {
        vec![CAE.to_owned()]
    } else {
        Vec::new()
    })
}
