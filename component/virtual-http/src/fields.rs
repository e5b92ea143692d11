//! `fields`: the host's, or, for the request the gate wrapped, the gate's list.
//!
//! The gate's list is never turned into host fields up front: hosts refuse
//! guest-made fields with headers such as `host` or `connection`, which every
//! incoming request may carry.

use crate::bindings::exports::entra::virtual_http::types as v;
use ::wasi::http::types::{self as host, HeaderError};
use std::cell::RefCell;

type Entries = Vec<(String, Vec<u8>)>;

pub(crate) enum Fields {
    Host(host::Fields),
    /// Case-insensitive names, as HTTP's.
    Listed {
        entries: RefCell<Entries>,
        immutable: bool,
    },
}

impl Fields {
    pub(crate) fn host(fields: host::Fields) -> v::Fields {
        v::Fields::new(Fields::Host(fields))
    }

    /// The read-only headers of a wrapped request.
    pub(crate) fn listed(entries: Entries) -> v::Fields {
        v::Fields::new(Fields::Listed {
            entries: RefCell::new(entries),
            immutable: true,
        })
    }

    /// The host's fields for these, as the host must see them when the app sends
    /// them: a listed entry the host refuses is one it would have refused from `set`.
    pub(crate) fn into_host(fields: v::Fields) -> host::Fields {
        match fields.into_inner::<Fields>() {
            Fields::Host(fields) => fields,
            Fields::Listed { entries, .. } => {
                let fields = host::Fields::new();
                for (name, value) in entries.into_inner() {
                    let _ = fields.append(&name, &value);
                }
                fields
            }
        }
    }

    fn edit(&self, change: impl FnOnce(&mut Entries)) -> Result<(), HeaderError> {
        match self {
            Fields::Listed {
                immutable: true, ..
            } => Err(HeaderError::Immutable),
            Fields::Listed { entries, .. } => {
                change(&mut entries.borrow_mut());
                Ok(())
            }
            Fields::Host(_) => unreachable!("host fields are edited by the host"),
        }
    }
}

impl v::GuestFields for Fields {
    fn new() -> Self {
        Fields::Host(host::Fields::new())
    }

    fn from_list(entries: Entries) -> Result<v::Fields, HeaderError> {
        host::Fields::from_list(&entries).map(Fields::host)
    }

    fn get(&self, name: String) -> Vec<Vec<u8>> {
        match self {
            Fields::Host(fields) => fields.get(&name),
            Fields::Listed { entries, .. } => (entries.borrow().iter())
                .filter(|(n, _)| n.eq_ignore_ascii_case(&name))
                .map(|(_, value)| value.clone())
                .collect(),
        }
    }

    fn has(&self, name: String) -> bool {
        match self {
            Fields::Host(fields) => fields.has(&name),
            Fields::Listed { entries, .. } => {
                (entries.borrow().iter()).any(|(n, _)| n.eq_ignore_ascii_case(&name))
            }
        }
    }

    fn set(&self, name: String, value: Vec<Vec<u8>>) -> Result<(), HeaderError> {
        match self {
            Fields::Host(fields) => fields.set(&name, &value),
            _ => self.edit(|entries| {
                entries.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                entries.extend(value.into_iter().map(|value| (name.clone(), value)));
            }),
        }
    }

    fn delete(&self, name: String) -> Result<(), HeaderError> {
        match self {
            Fields::Host(fields) => fields.delete(&name),
            _ => self.edit(|entries| entries.retain(|(n, _)| !n.eq_ignore_ascii_case(&name))),
        }
    }

    fn append(&self, name: String, value: Vec<u8>) -> Result<(), HeaderError> {
        match self {
            Fields::Host(fields) => fields.append(&name, &value),
            _ => self.edit(|entries| entries.push((name, value))),
        }
    }

    fn entries(&self) -> Entries {
        match self {
            Fields::Host(fields) => fields.entries(),
            Fields::Listed { entries, .. } => entries.borrow().clone(),
        }
    }

    /// A mutable copy, as the host's `clone` is.
    fn clone(&self) -> v::Fields {
        v::Fields::new(match self {
            Fields::Host(fields) => Fields::Host(fields.clone()),
            Fields::Listed { entries, .. } => Fields::Listed {
                entries: entries.clone(),
                immutable: false,
            },
        })
    }
}
