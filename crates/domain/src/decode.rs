//! Reading events back, and how an event family names its event types.
//!
//! This sits below the event families (`order`, `payment`), which declare themselves with
//! `event_family!`, and below `events`, which unites them: it imports from neither.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::envelope::EventEnvelope;

/// A received or stored event that is not one this code understands.
#[derive(Debug, thiserror::Error)]
pub enum EventDecodeError {
    #[error("unknown event {event_type} version {event_version}")]
    Unknown {
        event_type: String,
        event_version: u32,
    },
    #[error("malformed {event_type} event: {source}")]
    Malformed {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("malformed event envelope: {0}")]
    Envelope(#[source] serde_json::Error),
}

impl EventDecodeError {
    pub fn unknown(event_type: &str, event_version: u32) -> Self {
        EventDecodeError::Unknown {
            event_type: event_type.to_owned(),
            event_version,
        }
    }
}

/// Reads an EventBridge `detail` (an envelope) into a typed event, using `decode` for its data.
pub fn decode_detail<T>(
    detail: &str,
    decode: impl FnOnce(&str, u32, &RawValue) -> Result<T, EventDecodeError>,
) -> Result<EventEnvelope<T>, EventDecodeError> {
    let envelope: EventEnvelope<Box<RawValue>> =
        serde_json::from_str(detail).map_err(EventDecodeError::Envelope)?;
    let data = decode(
        &envelope.metadata.event_type,
        envelope.metadata.event_version,
        &envelope.data,
    )?;
    Ok(EventEnvelope {
        metadata: envelope.metadata,
        data,
    })
}

/// Reads the `data` of an `event_type` event as `T`.
pub(crate) fn read_data<T: DeserializeOwned>(
    event_type: &str,
    data: &RawValue,
) -> Result<T, EventDecodeError> {
    serde_json::from_str(data.get()).map_err(|source| EventDecodeError::Malformed {
        event_type: event_type.to_owned(),
        source,
    })
}

/// Declares an event family: an enum with one variant per event type, each variant written as
///
/// ```text
/// Variant(Data) = "TypeName" version CURRENT,
/// Variant(Data) = "TypeName" version CURRENT upcast { 1 => DataV1, 2 => Data },
/// ```
///
/// The type name and the version written are what the envelope's metadata (and EventBridge's
/// `detail-type`) say. Each older version that can still be read is listed with the type its
/// data is read as, then converted with `From`: the rest of the code knows only the current one.
///
/// From that one list come the family's `TYPES`, its `decode`, its `DomainEvent` impl, and its
/// serialization: only the variant's own data, since type and version live in the metadata.
macro_rules! event_family {
    (
        $(#[$attr:meta])*
        pub enum $family:ident {
            $(
                $variant:ident($data:ty) = $name:literal version $version:tt
                $(upcast { $($old:literal => $old_data:ty),+ $(,)? })?
            ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(::serde::Serialize)]
        #[serde(untagged)]
        pub enum $family {
            $($variant($data),)+
        }

        impl $family {
            /// The type names of this family's events.
            pub const TYPES: &'static [&'static str] = &[$($name),+];

            /// Reads the `data` of an envelope whose metadata names `event_type` and
            /// `event_version`.
            pub fn decode(
                event_type: &str,
                event_version: u32,
                data: &::serde_json::value::RawValue,
            ) -> Result<Self, $crate::decode::EventDecodeError> {
                use $crate::decode::{EventDecodeError, read_data};
                match event_type {
                    $($name => match event_version {
                        v if v == $version => read_data(event_type, data).map($family::$variant),
                        $($($old => read_data::<$old_data>(event_type, data)
                            .map(|old| $family::$variant(<$data>::from(old))),)+)?
                        _ => Err(EventDecodeError::unknown(event_type, event_version)),
                    },)+
                    _ => Err(EventDecodeError::unknown(event_type, event_version)),
                }
            }
        }

        impl $crate::envelope::DomainEvent for $family {
            fn event_type(&self) -> &'static str {
                match self {
                    $($family::$variant(_) => $name,)+
                }
            }

            fn event_version(&self) -> u32 {
                match self {
                    $($family::$variant(_) => $version,)+
                }
            }
        }
    };
}

pub(crate) use event_family;
