//! Managed identities and how a request names one of them.

/// A managed identity the emulator can issue tokens for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedIdentity {
    /// The application (client) id; it becomes the token's `appid` and the response's `client_id`.
    pub client_id: String,
    /// The service principal's object id; it becomes the token's `oid` and `sub`.
    pub object_id: String,
    /// The Azure resource id; it becomes the token's `xms_mirid`.
    pub resource_id: String,
}

/// How a request named a user-assigned identity: the three selectors every managed identity protocol has,
/// whatever each one calls its query parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Selector<'a> {
    /// By client (application) id.
    Client(&'a str),
    /// By service principal object id.
    Object(&'a str),
    /// By Azure resource id.
    Resource(&'a str),
}

impl Selector<'_> {
    /// GUIDs and Azure resource ids are both case-insensitive, so matching is too.
    pub(crate) fn matches(&self, identity: &ManagedIdentity) -> bool {
        let (wanted, actual) = match *self {
            Selector::Client(id) => (id, &identity.client_id),
            Selector::Object(id) => (id, &identity.object_id),
            Selector::Resource(id) => (id, &identity.resource_id),
        };
        wanted.eq_ignore_ascii_case(actual)
    }
}

/// The three selectors of a managed-identity request: `client_id`, `object_id`, and
/// the resource-id parameter, whose name differs by source (`msi_res_id`, `mi_res_id`).
pub(crate) fn selectors<'a>(
    request: &'a crate::recording::RecordedRequest,
    resource_param: &str,
) -> [Option<Selector<'a>>; 3] {
    [
        request
            .non_empty_query_param("client_id")
            .map(Selector::Client),
        request
            .non_empty_query_param("object_id")
            .map(Selector::Object),
        request
            .non_empty_query_param(resource_param)
            .map(Selector::Resource),
    ]
}

/// Why a request's identity selection could not be honoured.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SelectionError {
    /// More than one selector parameter was given.
    Ambiguous,
    /// The selector matched no assigned identity.
    NotFound,
}

/// Picks the identity a request asked for: the system-assigned one when it named none, else the single
/// user-assigned identity its selector matches.
///
/// `params` are the selector parameters the protocol knows, already paired with their kinds; absent ones are
/// `None`. A parameter the protocol does not know never reaches here and so is ignored, as the services do.
pub(crate) fn select<'i>(
    params: [Option<Selector<'_>>; 3],
    system_assigned: &'i ManagedIdentity,
    user_assigned: &'i [ManagedIdentity],
) -> Result<&'i ManagedIdentity, SelectionError> {
    let mut given = params.into_iter().flatten();
    let Some(selector) = given.next() else {
        return Ok(system_assigned);
    };
    if given.next().is_some() {
        return Err(SelectionError::Ambiguous);
    }
    user_assigned
        .iter()
        .find(|identity| selector.matches(identity))
        .ok_or(SelectionError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(n: u8) -> ManagedIdentity {
        ManagedIdentity {
            client_id: format!("client-{n}"),
            object_id: format!("object-{n}"),
            resource_id: format!("/subscriptions/s/identities/Id-{n}"),
        }
    }

    #[test]
    fn no_selector_means_system_assigned() {
        let (sami, uamis) = (identity(0), [identity(1)]);
        assert_eq!(select([None, None, None], &sami, &uamis), Ok(&sami));
    }

    #[test]
    fn selectors_match_case_insensitively() {
        let (sami, uamis) = (identity(0), [identity(1), identity(2)]);
        let by_resource = Some(Selector::Resource("/SUBSCRIPTIONS/s/identities/id-2"));
        assert_eq!(
            select([None, None, by_resource], &sami, &uamis),
            Ok(&uamis[1])
        );
        let by_object = Some(Selector::Object("OBJECT-1"));
        assert_eq!(
            select([None, by_object, None], &sami, &uamis),
            Ok(&uamis[0])
        );
    }

    #[test]
    fn two_selectors_are_ambiguous_and_unknown_ones_not_found() {
        let (sami, uamis) = (identity(0), [identity(1)]);
        let both = [
            Some(Selector::Client("client-1")),
            Some(Selector::Object("object-1")),
            None,
        ];
        assert_eq!(select(both, &sami, &uamis), Err(SelectionError::Ambiguous));
        let unknown = [Some(Selector::Client("client-0")), None, None];
        assert_eq!(
            select(unknown, &sami, &uamis),
            Err(SelectionError::NotFound)
        );
    }
}
